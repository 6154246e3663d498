#!/usr/bin/env bash
# A filter's expression changes on reload (SIGHUP) during a paced replay with
# no packet lost. A generated trace is read over and over (`loop: forever`)
# at `rate_pps`; while it runs, the pipeline is rewritten and reloaded R
# times, each after READY=1 of the previous reload; SIGTERM after the last
# one ends it. The source read T packets (its exit summary): K = T div N
# whole passes of the N-frame trace and its first T mod N frames. So the
# test does not depend on how fast the reloads are (it runs under ASan on a
# shared machine), and the totals are still exact:
# - filter `same` cycles through three spellings of one selection (`ip`,
#   `ether proto 0x0800`, `ether[12:2] == 0x800`) and both engines, so its
#   counter (window: total, kept across reloads) must end with exactly K
#   times tcpdump's per-source totals of `ip` plus those of the first T mod N
#   frames (filter_oracle.py);
# - filter `other` cycles through different selections (`ip6`, `tcp`,
#   `vlan`, `not ip`), so only passed + filtered = T can be known, and
#   its counter's packets must equal its passed_packets.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"

command -v tcpdump >/dev/null || fail "tcpdump is missing: run scripts/deps.sh"
frames=20000
rate_pps=100000
reloads=20
# a bound on a hung reload, not a speed requirement: ASan on 2 shared cores can be slow
reload_timeout=60
pause=0.1

trace="$work/trace.pcap"
python3 "$repo_root/scripts/gen_trace.py" --packets "$frames" --sources 300 --seed 5 \
	--ipv6-share 0.3 --vlan-share 0.1 --output "$trace"
pipeline="$work/pipeline.yaml"
records="$work/records.jsonl"
same_expressions=("ip" "ether proto 0x0800" "ether[12:2] == 0x800")
other_expressions=("ip6" "tcp" "vlan" "not ip")
engines=(jit interpreter)

# pipeline_text STEP: the pipeline of reload STEP (0: the first).
pipeline_text() {
	local step="$1"
	cat <<EOF
version: 1
kernels:
  rx:
    type: source
    pcap: "$trace"
    loop: forever
    rate_pps: $rate_pps
  same:
    type: filter
    input: rx
    expression: "${same_expressions[step % 3]}"
    engine: ${engines[step % 2]}
$(pipeline_counter same_count same total)
  other:
    type: filter
    input: rx
    expression: "${other_expressions[step % 4]}"
$(pipeline_counter other_count other total)
  out:
    type: sink
    input: [same_count, other_count]
    format: jsonl
    path: "$records"
EOF
}

pipeline_text 0 | replace_file "$pipeline"
echo "checks: a $frames-frame trace looped at $rate_pps pps, $reloads reloads changing the filters'"
echo "        expressions, then SIGTERM: nothing lost, the same selection spelled differently is exact"
start_notify_listener
"$jetstreamd" -p "$pipeline" 2>"$work/stderr" &
running_pid=$!
wait_notify READY=1 1 20
for ((reload = 1; reload <= reloads; reload++)); do
	pipeline_text "$reload" | replace_file "$pipeline"
	kill -HUP "$running_pid" 2>/dev/null || fail "jetstreamd exited before reload $reload"
	wait_notify RELOADING=1 "$reload" "$reload_timeout"
	wait_notify READY=1 $((reload + 1)) "$reload_timeout"
	grep -q "^STATUS=generation $((reload + 1)):" "$work/notify.log" ||
		{ cat "$work/stderr"; fail "reload $reload did not run generation $((reload + 1))"; }
	sleep "$pause"
done
kill -0 "$running_pid" 2>/dev/null || fail "jetstreamd exited during the reloads"
echo "  ok: $reloads reloads, each READY=1 with a new generation, jetstreamd still running"
kill -TERM "$running_pid"
wait_exit 60
[ "$exit_status" -ne 255 ] || fail "jetstreamd still runs 60 s after SIGTERM"
[ "$exit_status" -eq 0 ] || { sed 's/^/    /' "$work/stderr"; fail "exit status $exit_status, expected 0"; }

received="$(records_tool summary "$work/stderr" rx.packets)" # T
passes=$((received / frames))                                  # K
rest=$((received % frames))
[ "$received" -gt 0 ] || fail "the source read no packet"
[ "$(records_tool summary "$work/stderr" dropped)" = 0 ] || fail "packets dropped"
mkdir "$work/oracle" "$work/oracle_rest"
python3 "$repo_root/tests/integration/filter_oracle.py" "$trace" "$work/oracle" "ip"
records_tool scale "$work/oracle/0.tsv" "$passes" >"$work/whole_passes.tsv"
: >"$work/oracle_rest/0.tsv"
echo 0 >"$work/oracle_rest/0.frames"
if [ "$rest" -gt 0 ]; then
	tcpdump -r "$trace" -c "$rest" -w "$work/rest.pcap" 2>/dev/null
	python3 "$repo_root/tests/integration/filter_oracle.py" "$work/rest.pcap" "$work/oracle_rest" "ip"
fi
records_tool add "$work/whole_passes.tsv" "$work/oracle_rest/0.tsv" >"$work/expected.tsv"
records_tool totals "$records" same_count >"$work/same.tsv"
diff -u "$work/expected.tsv" "$work/same.tsv" >"$work/diff" ||
	{ head -n 20 "$work/diff"; fail "same_count differs from $passes x tcpdump's per-source totals of 'ip' + those of the first $rest frames"; }
expected_passed=$((passes * $(cat "$work/oracle/0.frames") + $(cat "$work/oracle_rest/0.frames")))
same_passed="$(records_tool summary "$work/stderr" same.passed_packets)"
[ "$same_passed" -eq "$expected_passed" ] ||
	fail "same passed $same_passed packets, expected $passes x $(cat "$work/oracle/0.frames") + $(cat "$work/oracle_rest/0.frames")"
echo "  ok: read $received packets ($passes passes + $rest frames); same passed $same_passed, its counter equals tcpdump's per-source totals of them"

other_passed="$(records_tool summary "$work/stderr" other.passed_packets)"
other_filtered="$(records_tool summary "$work/stderr" other.filtered_packets)"
[ $((other_passed + other_filtered)) -eq "$received" ] ||
	fail "other: passed $other_passed + filtered $other_filtered != received $received"
counted="$(records_tool totals "$records" other_count | awk -F'\t' '{ sum += $2 } END { print sum + 0 }')"
# the counter keys IP sources only: `vlan` and `not ip` pass frames without an IP header (ARP)
if [ "$counted" -gt "$other_passed" ] || [ "$counted" -eq 0 ]; then
	fail "other_count counted $counted packets, other passed $other_passed"
fi
unkeyed="$(records_tool summary "$work/stderr" other_count.unkeyed_packets)"
[ $((counted + unkeyed)) -eq "$other_passed" ] ||
	fail "other_count: $counted keyed + $unkeyed unkeyed != $other_passed passed"
echo "  ok: other: passed $other_passed + filtered $other_filtered = received $received; its counter took them all"
