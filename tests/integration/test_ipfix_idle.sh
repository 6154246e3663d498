#!/usr/bin/env bash
# An ipfix sink that has delivered everything and finished, while the daemon
# keeps running (its pipeline's source ended, another pipeline is live), idles:
# its exporter thread takes (almost) no CPU, also once its drain_timeout has
# passed. It used to spin on the passed drain deadline, a core at 100%.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"

cd "$work"
# a UDP collector that reads and discards
python3 - >collector.port <<'PYTHON' &
import socket, sys
listener = socket.socket(type=socket.SOCK_DGRAM)
listener.bind(("127.0.0.1", 0))
print(listener.getsockname()[1], flush=True)
while True:
    listener.recv(65536)
PYTHON
collector_pid=$!
at_exit "kill $collector_pid 2>/dev/null"
until [ -s collector.port ]; do sleep 0.05; done

cat >finite.yaml <<PIPELINE
version: 1
kernels:
  rx:
    type: source
    synthetic: {packets: 1000, sources: 10}
  flows:
    type: flow_tracker
    input: rx
  out:
    type: sink
    input: flows
    format: ipfix
    collector: "127.0.0.1:$(cat collector.port)"
    drain_timeout: 200ms
PIPELINE
cat >live.yaml <<PIPELINE
version: 1
kernels:
  live:
    type: source
    synthetic: {packets: 0, rate_pps: 1000}
  discard:
    type: sink
    input: live
    format: null
PIPELINE

echo "checks: the exporter thread of a finished ipfix sink idles past its drain_timeout"
"$jetstreamd" -p finite.yaml -p live.yaml 2>stderr &
running_pid=$!
# the exporter thread, named after its sink
thread=""
deadline=$((SECONDS + 20))
while [ -z "$thread" ]; do
	kill -0 "$running_pid" 2>/dev/null || { cat stderr; fail "jetstreamd exited"; }
	[ "$SECONDS" -lt "$deadline" ] || { cat stderr; fail "no thread sink-out within 20 s"; }
	for task in /proc/"$running_pid"/task/*; do
		[ "$(cat "$task/comm" 2>/dev/null)" = sink-out ] && thread="$task"
	done
	sleep 0.1
done
sleep 2 # the source ends at once; the flush and then the drain timeout pass
# CPU time of the thread (user + system, in clock ticks) over 2 s
ticks() { awk '{print $14 + $15}' "$thread/stat"; }
before=$(ticks)
sleep 2
after=$(ticks)
used=$((after - before))
hertz=$(getconf CLK_TCK)
kill -TERM "$running_pid"
wait_exit 20
[ "$exit_status" = 0 ] || { cat stderr; fail "jetstreamd exited $exit_status"; }
sent="$(records_tool summary stderr out.records)"
[ "$sent" -gt 0 ] || { cat stderr; fail "the ipfix sink sent no record"; }
# a spinning thread takes ~2 s of CPU here; an idle one wakes each 100 ms for almost nothing
[ "$used" -le $((hertz / 5)) ] ||
	fail "the finished exporter thread used $used ticks (1/$hertz s) of CPU in 2 s"
echo "  ok: $sent records sent; then $used ticks (1/$hertz s) of CPU in 2 s"
