#!/usr/bin/env bash
# A port source that never runs dry (net_null delivers packets as fast as they
# are asked for) still stops on SIGTERM: it takes what its queue held, then the
# graph drains, and everything read is counted.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"

cd "$work"
echo "checks: net_null source + SIGTERM -> exit 0 within 10 s, every packet read reaches the counter"
write_counter_pipeline pipeline.yaml 'port: "net_null0"' "window: total" "$work/records.jsonl"
start_notify_listener
"$jetstreamd" -p pipeline.yaml 2>stderr.txt &
running_pid=$!
wait_notify READY=1 1 20
sleep 1
kill -TERM "$running_pid"
wait_exit 10
[ "$exit_status" -ne 255 ] || fail "still running 10 s after SIGTERM"
[ "$exit_status" -eq 0 ] || { cat stderr.txt; fail "exit status $exit_status"; }
packets=$(records_tool summary stderr.txt packets)
count_in=$(records_tool summary stderr.txt count.in)
dropped=$(records_tool summary stderr.txt dropped)
if [ "$packets" -eq 0 ] || [ "$packets" -ne "$count_in" ] || [ "$dropped" -ne 0 ]; then
	cat stderr.txt
	fail "read $packets, counter got $count_in, dropped $dropped"
fi
echo "  ok: stopped; $packets packets read, all of them counted, 0 dropped"
