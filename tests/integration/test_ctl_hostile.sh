#!/usr/bin/env bash
# The control socket under abuse: 1,000 malformed requests (random bytes,
# lines over 4 KiB, deep brackets, bad JSON, unknown commands, wrong types,
# half lines then close), the client bound (16, then "too many clients"),
# idle and non-reading clients dropped after 5 s without holding the others
# up, 100 concurrent clients, and 12 clients pipelining checks of a valid
# 15 MiB file while another client's status is answered in under 2 s (checks
# take turns, one per wake-up; two such files are refused: 16 MiB in all).
# The daemon keeps running, answers every
# well-formed request, and its counts are exact at the end: the pcap branch's
# totals equal the trace's oracle and every source's accounting holds.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"

checks() { python3 "$integration_directory/ctl_checks.py" "$@"; }
cd "$work"
socket="$work/control.sock"
python3 "$repo_root/scripts/gen_trace.py" --packets 30000 --sources 500 --seed 8 \
	--output trace.pcap --oracle
cat >settings.yaml <<EOF
version: 1
control_socket: $socket
metrics: "off"
pipelines: [pipeline.yaml]
EOF
cat >pipeline.yaml <<EOF
version: 1
kernels:
  rx:
    type: source
    pcap: "$work/trace.pcap"
    loop: 20
    rate_pps: 50000
$(pipeline_counter count rx total)
  out:
    type: sink
    input: count
    path: "$work/out.jsonl"
  live:
    type: source
    synthetic: {packets: 0, sources: 40, rate_pps: 2000}
$(pipeline_counter live_count live 1s)
  live_out:
    type: sink
    input: live_count
    path: "$work/live.jsonl"
EOF
# the running pipeline again, made large with comments: a valid check that costs a parse
{
	cat pipeline.yaml
	python3 -c 'import sys; sys.stdout.write(("# " + "x" * 97 + "\n") * ((15 << 20) // 100))'
} >heavy.yaml
start_notify_listener
"$jetstreamd" -c settings.yaml 2>stderr.txt &
running_pid=$!
wait_ready 20

echo "checks: malformed requests"
checks hostile "$socket" 1000 || fail "malformed requests"
kill -0 "$running_pid" || fail "the daemon died"
echo "checks: bounds"
checks bounds "$socket" || fail "bounds"
echo "checks: concurrent clients"
checks concurrent "$socket" 100 || fail "concurrent clients"
kill -0 "$running_pid" || fail "the daemon died"
echo "checks: pipelined checks of large files"
checks heavy-checks "$socket" "$work/heavy.yaml" 12 6 || fail "pipelined checks of large files"
kill -0 "$running_pid" || fail "the daemon died"

kill -TERM "$running_pid"
wait_exit 20
[ "$exit_status" -eq 0 ] || { cat stderr.txt; fail "exit status $exit_status"; }
records_tool totals out.jsonl count >totals.tsv
records_tool scale trace.pcap.src.tsv 20 >expected.tsv
# a stop may cut the looped pcap short: then compare with what the summary says was read
received="$(records_tool summary stderr.txt rx.out)"
if [ "$received" -eq $((20 * 30000)) ]; then
	diff expected.tsv totals.tsv >/dev/null || fail "the totals differ from 20 times the oracle"
	echo "  ok: all 20 passes read; the totals equal 20 times the oracle exactly"
else
	counted=$(awk -F'\t' '{ sum += $2 } END { print sum + 0 }' totals.tsv)
	non_ip="$(records_tool summary stderr.txt rx.non_ip_packets)"
	[ "$counted" -eq $((received - non_ip)) ] ||
		fail "the totals count $counted packets; rx read $received, $non_ip of them without IP"
	echo "  ok: rx read $received packets (stopped mid-loop); the totals count every IP one ($counted)"
fi
