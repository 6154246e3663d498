#!/usr/bin/env bash
# Failures at start that come from the configuration exit 78 (EX_CONFIG) with
# the key's file:line:col, as --check reports its errors: a port device that
# EAL cannot probe. (A pcap file deleted after --check is caught again by the
# start's own check: same exit, same position.)
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"

cd "$work"
failures=0

# expect_start_refused NAME EXPECTED_LINE: the start of NAME.yaml exits 78 and stderr holds EXPECTED_LINE.
expect_start_refused() {
	local name="$1" expected="$2" status=0
	run_jetstreamd "$work/stderr" -p "$name.yaml" || status=$?
	if [ "$status" -eq 78 ] && grep -qxF -- "$expected" "$work/stderr"; then
		echo "  ok: $name.yaml: exit 78: $expected"
	else
		echo "  FAIL: $name.yaml: exit $status (expected 78), no line: $expected"
		sed 's/^/    /' "$work/stderr"
		failures=$((failures + 1))
	fi
}

echo "checks: a start refused by a configured value exits 78 at the key"
write_counter_pipeline no_interface.yaml 'port: "net_af_packet0,iface=doesnotexist"' \
	"window: total" "$work/records.jsonl"
"$jetstreamd" --check -p no_interface.yaml >/dev/null || fail "--check refused a well-formed device string"
if [ "$(id -u)" -eq 0 ]; then
	# af_packet's probe fails on the interface only with the right to open a packet socket
	expect_start_refused no_interface \
		"no_interface.yaml:5:11: error: kernel 'rx': no DPDK port for 'net_af_packet0,iface=doesnotexist' (Operation not permitted)"
else
	echo "  skip: the af_packet case needs root (CAP_NET_RAW)"
fi

python3 "$repo_root/scripts/gen_trace.py" --packets 10 --output gone.pcap
write_counter_pipeline gone.yaml "pcap: gone.pcap" "window: total" "$work/records.jsonl"
"$jetstreamd" --check -p gone.yaml >/dev/null || fail "--check refused gone.pcap while it exists"
rm gone.pcap
expect_start_refused gone "gone.yaml:5:11: error: cannot read 'gone.pcap': No such file or directory"

[ "$failures" -eq 0 ] || fail "$failures start cases gave an unexpected result"
echo "ok: start failures from the configuration exit 78 with the key's position"
