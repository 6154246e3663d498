#!/usr/bin/env bash
# examples/actions/blackhole.sh under `format: exec` against a real gobgpd
# (started here on 127.0.0.1, its own AS, no neighbour, the gRPC API on a
# free port): each alert of alerts_trace.py's known answer announces its
# destination (/32, /128 for IPv6) with community 65535:666 while it lasts,
# as `gobgp global rib` shows right after the start's action (the end's
# waits for it), and withdraws it at the end; 192.0.2.2, in a
# never-blackholed prefix, is refused and logged. And the exec sink of
# pipelines/ddos-watch.yaml, uncommented, passes --check from the repository root.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source=tests/integration/action_pipeline.sh
source "$integration_directory/action_pipeline.sh"

if ! command -v gobgpd >/dev/null || ! command -v gobgp >/dev/null; then
	skip "gobgpd and gobgp are not installed (scripts/deps.sh)"
fi
script="$repo_root/examples/actions/blackhole.sh"

echo "checks: pipelines/ddos-watch.yaml with its blackhole sink uncommented"
sed -e '/^  # blackhole:/,$s/^  # /  /' "$repo_root/pipelines/ddos-watch.yaml" >"$work/ddos-watch.yaml"
grep -q '^    command: \[examples/actions/blackhole.sh\]' "$work/ddos-watch.yaml" || fail "no blackhole sink in ddos-watch.yaml"
mkdir -p "$work/demo"
python3 "$repo_root/scripts/gen_trace.py" --packets 100 --output "$work/demo/demo.pcap"
(cd "$repo_root" && sed "s|demo/|$work/demo/|" "$work/ddos-watch.yaml" >"$work/ddos-watch-root.yaml" &&
	"$jetstreamd" --check -p "$work/ddos-watch-root.yaml") || fail "--check refused ddos-watch.yaml's blackhole sink"

cd "$work"
port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
cat >gobgpd.toml <<'TOML'
[global.config]
  as = 64512
  router-id = "192.0.2.254"
  port = -1
TOML
gobgpd -f gobgpd.toml --api-hosts "127.0.0.1:$port" -p --pprof-disable >gobgpd.log 2>&1 &
at_exit "kill $! 2>/dev/null"
rib() { gobgp -u 127.0.0.1 -p "$port" global rib "$@"; }
for _ in $(seq 100); do rib -a ipv4 >/dev/null 2>&1 && break; sleep 0.1; done
rib -a ipv4 >/dev/null || { cat gobgpd.log; fail "gobgpd did not start"; }

cat >observe.sh <<SH
#!/bin/sh
# the example script, then what gobgp's RIB holds just after it
"$script" || exit \$?
gobgp -u 127.0.0.1 -p $port global rib -a ipv4 >"$work/rib-\$ALERT_KEY-\$ALERT_STATE.txt"
gobgp -u 127.0.0.1 -p $port global rib -a ipv6 >>"$work/rib-\$ALERT_KEY-\$ALERT_STATE.txt"
SH
chmod +x observe.sh

echo "checks: each alert announced while it lasts, withdrawn at its end; a protected prefix refused"
write_action_pipeline "format: exec" "command: [$work/observe.sh]" >bgp.yaml
BLACKHOLE_API_PORT="$port" BLACKHOLE_NEVER="10.0.0.0/8 192.0.2.0/24" BLACKHOLE_LOCK="$work/lock" \
	run_ok bgp.stderr -p bgp.yaml
expect_stats bgp.stderr records=9 actions_run=9 actions_failed=0 actions_timed_out=0
for prefix in 198.51.100.7/32 2001:db8:100::5/128 203.0.113.10/32; do
	address="${prefix%/*}"
	grep -Eq "^\*> $prefix +(0\.0\.0\.0|::) .*\{Communities: blackhole\}" "rib-$address-start.txt" ||
		{ cat "rib-$address-start.txt"; fail "$prefix was not announced with 65535:666 at its start"; }
	! grep -q "$prefix" "rib-$address-end.txt" || { cat "rib-$address-end.txt"; fail "$prefix is still announced after its end"; }
	grep -q "^blackhole: announced $prefix with community 65535:666 (alert [0-9a-f]\{16\}, " bgp.stderr ||
		fail "no line for the announcement of $prefix"
	grep -q "^blackhole: withdrew $prefix (alert [0-9a-f]\{16\} ended: below)" bgp.stderr ||
		fail "no line for the withdrawal of $prefix"
	echo "  ok: $prefix announced (community blackhole) during its alert, withdrawn at its end"
done
! grep -q '192.0.2.2/32' rib-*.txt || fail "192.0.2.2/32 was announced"
[ "$(grep -c '^blackhole: refusing to blackhole 192.0.2.2/32 (\(start\|end\) of alert [0-9a-f]\{16\}): it is in 192.0.2.0/24, never blackholed$' bgp.stderr)" -eq 2 ] ||
	{ cat bgp.stderr; fail "192.0.2.2's start and end were not refused and logged"; }
echo "  ok: 192.0.2.2 (in 192.0.2.0/24) refused at start and end, logged, never announced"
if [ "$(rib -a ipv4 | grep -c '^\*' || true)" -ne 0 ] || [ "$(rib -a ipv6 | grep -c '^\*' || true)" -ne 0 ]; then
	rib -a ipv4
	rib -a ipv6
	fail "routes left in the RIB"
fi
echo "  ok: the RIB is empty at the end"

echo "checks: past BLACKHOLE_MAX_ROUTES, an announcement is refused and counted as failed"
rib add -a ipv4 192.0.2.200/32 community 65535:666
BLACKHOLE_API_PORT="$port" BLACKHOLE_MAX_ROUTES=1 BLACKHOLE_LOCK="$work/lock" \
	run_ok max.stderr -p bgp.yaml
expect_stats max.stderr actions_run=9 actions_failed=4
[ "$(grep -c '^blackhole: not announcing .* (alert [0-9a-f]\{16\}): 1 routes announced, the most is 1$' max.stderr)" -eq 4 ] ||
	{ cat max.stderr; fail "not 4 refused announcements"; }
[ "$(rib -a ipv4 | grep -c '^\*')" -eq 1 ] || fail "routes other than 192.0.2.200/32 in the RIB"
echo "  ok: with one route announced and at most 1, the 4 starts are refused (actions_failed 4)"
echo "ok: the blackhole example announces and withdraws through gobgpd, within its safety knobs"
