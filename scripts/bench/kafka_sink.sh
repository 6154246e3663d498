#!/usr/bin/env bash
# Records per second a kafka sink sustains, and the memory a full buffer
# takes (not part of `make bench`; about 1.5 minutes on 2 cores).
#
# The store is librdkafka's mock cluster (build/kafka_mock, 1 broker, 4
# partitions) on localhost: no Kafka broker is packaged for Debian 12. A
# synthetic source makes far more src_count records than the sink can take
# (10 ms windows of 200,000 sources), so the sink runs saturated, with
# backpressure; its `records` figure (acknowledged messages) is read through
# the control socket 2 s after the start and again 5 s later. Five runs:
# median, min, max.
#
# Then the memory: every broker down, `buffer: 64M`; once the buffer is full
# (within a burst of its 64M), the daemon's VmRSS against the same pipeline
# with the brokers up and the buffer empty.
#
# usage: scripts/bench/kafka_sink.sh
set -euo pipefail

repo_root="$(cd "$(dirname "$0")/../.." && pwd)"
jetstreamd="$repo_root/build/jetstreamd"
jetstreamctl="$repo_root/build/jetstreamctl"
mock="$repo_root/build/kafka_mock"
for binary in "$jetstreamd" "$jetstreamctl" "$mock"; do
	[ -x "$binary" ] || { echo "build it first: make (missing $binary)" >&2; exit 1; }
done
work="$(mktemp -d "${TMPDIR:-/tmp}/jetstream-kafka-bench.XXXXXX")"
pids=()
daemon_pid=""
cleanup() {
	[ -z "$daemon_pid" ] || kill -KILL "$daemon_pid" 2>/dev/null || true
	for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
	exec 3>&- || true
	rm -rf "$work"
}
trap cleanup EXIT

mkfifo "$work/mock.in"
"$mock" 1 4 bench.src_count <"$work/mock.in" >"$work/mock.out" 2>/dev/null &
pids+=($!)
exec 3>"$work/mock.in"
until [ -s "$work/mock.out" ]; do sleep 0.05; done
brokers=$(head -1 "$work/mock.out")

# mock_command COMMAND: send it and wait for its answer.
mock_command() {
	local answers
	answers=$(wc -l <"$work/mock.out")
	echo "$1" >&3
	until [ "$(wc -l <"$work/mock.out")" -gt "$answers" ]; do sleep 0.05; done
}

cat >"$work/settings.yaml" <<EOF
version: 1
control_socket: $work/control.sock
metrics: "off"
pipelines: [$work/pipeline.yaml]
EOF
cat >"$work/pipeline.yaml" <<EOF
version: 1
kernels:
  rx:
    type: source
    synthetic: {sources: 200000}
  count:
    type: per_src_counter
    input: rx
    window: 10ms
  out:
    type: sink
    input: count
    format: kafka
    brokers: "$brokers"
    topic: bench.{type}
    drain_timeout: 1s
EOF

# sink_figure NAME: the kafka sink's statistic NAME, from the running daemon.
sink_figure() {
	"$jetstreamctl" -s "$work/control.sock" status --json |
		python3 -c 'import json, sys
status = json.load(sys.stdin)
for instance in status["instances"]:
    if instance["kernel"] == "out":
        print(instance["stats"][sys.argv[1]])' "$1"
}

start_daemon() {
	"$jetstreamd" -c "$work/settings.yaml" 2>"$work/stderr" &
	daemon_pid=$!
	until [ -S "$work/control.sock" ]; do sleep 0.05; done
}

stop_daemon() {
	kill -TERM "$daemon_pid"
	wait "$daemon_pid" || true
	daemon_pid=""
}

rates=()
for run in 1 2 3 4 5; do
	start_daemon
	sleep 2
	first=$(sink_figure records)
	sleep 5
	last=$(sink_figure records)
	stop_daemon
	rates+=($(((last - first) / 5)))
	echo "run $run: $(((last - first) / 5)) records/s"
done
sorted=$(printf '%s\n' "${rates[@]}" | sort -n)
echo "records/s: median $(echo "$sorted" | sed -n 3p), min $(echo "$sorted" | head -1), max $(echo "$sorted" | tail -1)"

rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$daemon_pid/status"; }

start_daemon
sleep 5
empty_rss=$(rss_kb)
empty_buffer=$(sink_figure buffer_bytes)
stop_daemon
mock_command "down all"
start_daemon
# full: within one burst of longest lines (32 x 1584 bytes) of the 64M
for _ in $(seq 120); do
	previous=$(sink_figure buffer_bytes)
	[ "$previous" -lt $((64 * 1024 * 1024 - 32 * 1584)) ] || break
	sleep 1
done
full_rss=$(rss_kb)
stop_daemon
mock_command "up all"
echo "buffer 64M: VmRSS $empty_rss kB with the brokers up (buffer_bytes $empty_buffer), $full_rss kB full (buffer_bytes $previous): $(((full_rss - empty_rss) / 1024)) MB more"
