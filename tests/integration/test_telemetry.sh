#!/usr/bin/env bash
# DPDK telemetry: `eal_args: [--telemetry]` (or `-- --telemetry`) opens DPDK's
# telemetry socket, and dpdk-telemetry.py reads the daemon's commands from
# it: /jetstream/status gives the generation, /jetstream/kernels the kernel
# names, /jetstream/kernels,NAME a kernel's items. Without --telemetry there
# is no socket. The runtime directory is the test's own (RUNTIME_DIRECTORY,
# which EAL and dpdk-telemetry.py both honour), so no other DPDK process
# shares the socket and no root is needed.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"

command -v dpdk-telemetry.py >/dev/null || skip "dpdk-telemetry.py is not installed (Debian: dpdk)"

cd "$work"
export RUNTIME_DIRECTORY="$work/run"
mkdir -p "$RUNTIME_DIRECTORY"
socket="$RUNTIME_DIRECTORY/dpdk/rte/dpdk_telemetry.v2"
cat >pipeline.yaml <<YAML
version: 1
kernels:
  rx:
    type: source
    synthetic: {packets: 0, sources: 20, rate_pps: 20000}
$(pipeline_counter count rx total "replicas: 2")
  out:
    type: sink
    input: count
    path: "$work/records.jsonl"
YAML
cat >settings.yaml <<YAML
metrics: off
control_socket: off
pipelines: [pipeline.yaml]
eal_args: [--telemetry]
YAML

# telemetry COMMAND: the JSON value dpdk-telemetry.py prints for COMMAND
telemetry() {
	echo "$1" | timeout 10 dpdk-telemetry.py >reply.json || fail "dpdk-telemetry.py failed on $1"
	python3 -c 'import json, sys; print(json.dumps(json.load(open("reply.json"))[sys.argv[1].split(",")[0]]))' "$1"
}

# json_field JSON KEY: one field of a JSON object
json_field() {
	python3 -c 'import json, sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$1" "$2"
}

# start_daemon ARGS...: start the daemon and wait for its READY=1 (the runs' Nth)
runs=0
start_daemon() {
	runs=$((runs + 1))
	"$jetstreamd" "$@" 2>stderr.txt &
	running_pid=$!
	wait_notify READY=1 "$runs" 20
}

stop_daemon() {
	kill -TERM "$running_pid"
	wait_exit 20
	[ "$exit_status" -eq 0 ] || { cat stderr.txt; fail "exit status $exit_status"; }
}

start_notify_listener
echo "checks: eal_args: [--telemetry] opens the socket; the daemon's commands answer"
start_daemon -c settings.yaml
deadline=$((SECONDS + 10))
until [ -S "$socket" ]; do
	[ "$SECONDS" -lt "$deadline" ] || fail "no telemetry socket at $socket"
	sleep 0.1
done
sleep 1.2 # the first published sample
status="$(telemetry /jetstream/status)"
[ "$(json_field "$status" generation)" = 1 ] || fail "/jetstream/status: $status"
[ "$(json_field "$status" version)" = "$(cat "$repo_root/VERSION")" ] || fail "/jetstream/status version: $status"
[ "$(json_field "$status" packets)" -gt 0 ] || fail "/jetstream/status counts no packet: $status"
kernels="$(telemetry /jetstream/kernels)"
[ "$kernels" = '["rx", "count", "out"]' ] || fail "/jetstream/kernels: $kernels"
count="$(telemetry /jetstream/kernels,count)"
[ "$(json_field "$count" type)" = per_src_counter ] && [ "$(json_field "$count" replicas)" = 2 ] ||
	fail "/jetstream/kernels,count: $count"
items_in="$(json_field "$count" items_in)"
[ "$items_in" -gt 0 ] || fail "/jetstream/kernels,count has no items in: $count"
[ "$(telemetry /jetstream/kernels,nosuch)" = null ] || fail "an unknown kernel is not null"
stop_daemon
summary_in="$(records_tool summary stderr.txt count.in)"
[ "$summary_in" -ge "$items_in" ] || fail "telemetry said $items_in items in, the exit summary $summary_in"
[ ! -e "$socket" ] || fail "the socket stays after the exit"
echo "  ok: generation 1, kernels rx count out, count: $items_in items in (summary: $summary_in)"

echo "checks: -- --telemetry on the command line does the same"
start_daemon -p pipeline.yaml -- --telemetry
deadline=$((SECONDS + 10))
until [ -S "$socket" ]; do
	[ "$SECONDS" -lt "$deadline" ] || fail "no telemetry socket with -- --telemetry"
	sleep 0.1
done
sleep 1.2
[ "$(json_field "$(telemetry /jetstream/status)" generation)" = 1 ] || fail "/jetstream/status with -- --telemetry"
stop_daemon
echo "  ok"

echo "checks: without --telemetry there is no socket"
start_daemon -p pipeline.yaml
sleep 1
[ ! -e "$socket" ] || fail "a telemetry socket without --telemetry"
stop_daemon
echo "  ok: no socket"
