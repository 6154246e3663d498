#!/usr/bin/env bash
# Soak: jetstreamd under synthetic traffic for MINUTES (a decimal, e.g. 0.5),
# with a reload every second that changes the graph (the window length: the
# counter takes its state; max_sources and replicas: the counter is replaced;
# a threshold added and removed), a second sink into a FIFO whose reader
# stalls 2 s out of every 5, and the daemon's RSS sampled every second.
# At the end (SIGTERM) every generated packet must be in the records of both
# sinks exactly once, and the RSS must not keep growing.
#
#   scripts/soak.sh 10                 ten minutes (what a release is held to)
#   JETSTREAMD=build-asan/jetstreamd scripts/soak.sh 0.5
#
# Prints the RSS series and one line `soak: ok ...`; exits non-zero on any
# inexact count, failed reload, unparsable line or growing memory.
set -euo pipefail

minutes="${1:?usage: scripts/soak.sh MINUTES}"
repo_root="$(cd "$(dirname "$0")/.." && pwd)"
jetstreamd="${JETSTREAMD:-$repo_root/build/jetstreamd}"
records_tool="$repo_root/tests/integration/records.py"
seconds=$(awk -v m="$minutes" 'BEGIN { s = int(m * 60 + 0.5); print (s < 10 ? 10 : s) }')
work="$(mktemp -d)"
daemon_pid="" reader_pid=""
cleanup() {
	[ -z "$daemon_pid" ] || kill -KILL "$daemon_pid" 2>/dev/null || true
	[ -z "$reader_pid" ] || kill -KILL "$reader_pid" 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT
fail() {
	echo "soak: FAIL: $*" >&2
	tail -20 "$work/daemon.stderr" >&2 || true
	exit 1
}

# write_pipeline ITERATION: the graph of reload number ITERATION.
write_pipeline() {
	local i="$1" window=1s max_sources=65536 replicas=1 counted=count
	[ $((i % 2)) -eq 0 ] || window=500ms
	[ $((i / 3 % 2)) -eq 0 ] || max_sources=131072
	[ $((i / 4 % 2)) -eq 0 ] || replicas=2
	{
		cat <<YAML
version: 1
kernels:
  rx:
    type: source
    synthetic: {packets: 0, sources: 5000, flows: 20000, zipf: 1.0, size: [64, 600, 1514], ipv6_share: 0.1, rate_pps: 200000, seed: 7}
  count:
    type: per_src_counter
    input: rx
    window: $window
    max_sources: $max_sources
    replicas: $replicas
  stats:
    type: proto_stats
    input: rx
    window: 1s
  stalled:
    type: sink
    input: [count, stats]
    path: "$work/stats.fifo"
YAML
		if [ $((i / 2 % 2)) -eq 1 ]; then
			printf '  alarm:\n    type: threshold\n    input: count\n    metric: pkts\n    above: 1000\n'
			counted="[count, alarm]"
		fi
		printf '  out:\n    type: sink\n    input: %s\n    path: "%s"\n' "$counted" "$work/records.jsonl"
	} >"$work/pipeline.yaml.new"
	mv "$work/pipeline.yaml.new" "$work/pipeline.yaml"
}

rss_kib() {
	awk '/^VmRSS:/ { print $2 }' "/proc/$daemon_pid/status"
}

# The stalled sink's reader: copies the FIFO to a file, pausing 2 s every 5 s
# (the pipe fills within 0.1 s, the sink's writes block, records back up
# behind it).
mkfifo "$work/stats.fifo"
python3 - "$work/stats.fifo" "$work/stats.jsonl" <<'PY' &
import sys, time
start = time.monotonic()
with open(sys.argv[1], "rb") as fifo, open(sys.argv[2], "wb") as out:
    while True:
        if (time.monotonic() - start) % 5 < 2:
            time.sleep(0.1)
            continue
        chunk = fifo.read1(65536)
        if not chunk:
            break
        out.write(chunk)
PY
reader_pid=$!

write_pipeline 0
"$jetstreamd" -p "$work/pipeline.yaml" 2>"$work/daemon.stderr" &
daemon_pid=$!
for _ in $(seq 100); do
	grep -q "generation 1:" "$work/daemon.stderr" 2>/dev/null && break
	kill -0 "$daemon_pid" 2>/dev/null || fail "jetstreamd exited at start"
	sleep 0.1
done

echo "soak: ${seconds} s, a reload every second; RSS (KiB) every second:"
rss_series=()
for ((second = 1; second <= seconds; second++)); do
	sleep 1
	kill -0 "$daemon_pid" 2>/dev/null || fail "jetstreamd died after $second s"
	rss_series+=("$(rss_kib)")
	write_pipeline "$second"
	kill -HUP "$daemon_pid"
done
echo "  ${rss_series[*]}"
kill -TERM "$daemon_pid"
status=0
wait "$daemon_pid" || status=$?
daemon_pid=""
wait "$reader_pid" || fail "the FIFO reader failed"
reader_pid=""
[ "$status" -eq 0 ] || fail "exit status $status after SIGTERM"

generated="$(python3 "$records_tool" summary "$work/daemon.stderr" rx.packets)"
counted=$(python3 "$records_tool" totals "$work/records.jsonl" count |
	awk -F'\t' '{ p += $2 } END { print p + 0 }')
read -r in_stats in_stalled_counts < <(python3 - "$work/stats.jsonl" <<'PY'
import json, sys
in_stats = in_counts = 0
with open(sys.argv[1], encoding="utf-8") as f:
    for line in f:
        record = json.loads(line)  # a cut or glued line fails here
        if record["type"] == "proto_stats":
            in_stats += sum(layer["pkts"] for layer in record["l3"].values())
        elif record["type"] == "src_count":
            in_counts += record["pkts"]
print(in_stats, in_counts)
PY
)
generations=$(grep -c "reload: generation" "$work/daemon.stderr" || true)
refused=$(grep -c "reload failed" "$work/daemon.stderr" || true)
[ "$refused" -eq 0 ] || fail "$refused reloads failed"
[ "$generations" -ge $((seconds / 2)) ] || fail "only $generations of $seconds reloads took effect"
[ "$generated" -gt 0 ] || fail "no packet generated"
[ "$counted" -eq "$generated" ] ||
	fail "$generated packets generated, $counted in src_count records ($((counted - generated)) over)"
[ "$in_stats" -eq "$generated" ] ||
	fail "$generated packets generated, $in_stats in the stalled sink's proto_stats records"
[ "$in_stalled_counts" -eq "$generated" ] ||
	fail "$generated packets generated, $in_stalled_counts in the stalled sink's src_count records"

# Memory. The graph's own allocations come and go with the reloads (a
# counter of 131072 sources in two replicas holds 40 MB of tables, and for a
# moment the one it replaces too), so single samples say little. A leak
# raises the floor: the lowest RSS of the last third may not exceed the
# lowest of the middle third by more than 8 MiB, nor may its peak exceed the
# earlier peak by more than 48 MiB.
samples=${#rss_series[@]}
third=$((samples / 3))
lowest() { printf '%s\n' "$@" | sort -n | head -1; }
highest() { printf '%s\n' "$@" | sort -n | tail -1; }
middle_floor=$(lowest "${rss_series[@]:third:third}")
last_floor=$(lowest "${rss_series[@]:$((samples - third))}")
earlier_peak=$(highest "${rss_series[@]:0:$((samples - third))}")
last_peak=$(highest "${rss_series[@]:$((samples - third))}")
[ "$last_floor" -le $((middle_floor + 8192)) ] ||
	fail "RSS grew: lowest ${middle_floor} KiB in the middle third, ${last_floor} KiB in the last"
[ "$last_peak" -le $((earlier_peak + 49152)) ] ||
	fail "RSS grew: peak ${earlier_peak} KiB in the first two thirds, ${last_peak} KiB in the last"
held="$(python3 "$records_tool" summary "$work/daemon.stderr" rx.backpressure)"
buffered="$(python3 "$records_tool" summary "$work/daemon.stderr" stalled.buffer_max_bytes)"
echo "soak: ok: $generated packets, all in the records of both sinks; $generations reloads; the stalled sink buffered up to $buffered bytes, the source was held back $held times; RSS floor ${middle_floor} -> ${last_floor} KiB, peak ${earlier_peak} -> ${last_peak} KiB"
