#!/usr/bin/env bash
# Format kafka against librdkafka's own mock cluster (build/kafka_mock, 3
# brokers, 4 partitions a topic: no Kafka broker is packaged for Debian 12),
# the topics read back by kcat from another process.
# 1. Every shared capture through per_src_counter and flow_tracker into a
#    jsonl sink and a kafka sink: each topic holds exactly the jsonl lines of
#    its record type (no newline), each once, keyed by the record's source
#    address, and the messages of one key are all in one partition.
# 2. All brokers down for 3 s mid-run (the mock cluster's broker down/up),
#    then up: nothing lost, nothing doubled (idempotent retries), the
#    failed attempts counted (retries, last_error_seconds) and logged.
# 3. when_full: drop, the smallest buffer and the brokers down: records are
#    counted as dropped_sink_full, what the buffer held at the drain timeout
#    as dropped_drain_timeout, delivered + dropped = made, exit status 1.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"

[ -d "$traces" ] || skip "$traces not found (the shared test captures are not part of a fresh clone)"
command -v kcat >/dev/null || skip "kcat not installed (scripts/deps.sh installs it)"
mock="$repo_root/build/kafka_mock"
[ -x "$mock" ] || fail "$mock is missing: build it with 'make build/kafka_mock'"

captures=("$traces"/*.flows.tsv)
topics=(outage.src_count full.src_count)
for index in "${!captures[@]}"; do
	topics+=("trace$index.src_count" "trace$index.flow")
done

# The mock cluster reads commands from a FIFO held open on fd 3 and answers each on its stdout.
mkfifo "$work/mock.in"
"$mock" 3 4 "${topics[@]}" <"$work/mock.in" >"$work/mock.out" 2>"$work/mock.err" &
mock_pid=$!
exec 3>"$work/mock.in"
at_exit "exec 3>&-; kill $mock_pid 2>/dev/null; wait $mock_pid 2>/dev/null"
# up to 30 s: the mock cluster takes its time with each topic it creates (0 to 1 s in 2.0.2)
for _ in $(seq 600); do
	[ -s "$work/mock.out" ] && break
	sleep 0.05
done
brokers=$(head -1 "$work/mock.out")
[ -n "$brokers" ] || fail "the mock cluster did not start: $(cat "$work/mock.err")"

# mock_command COMMAND: send it, wait for its answer; fail unless "ok".
mock_command() {
	local answers
	answers=$(wc -l <"$work/mock.out")
	echo "$1" >&3
	for _ in $(seq 100); do
		[ "$(wc -l <"$work/mock.out")" -gt "$answers" ] && break
		sleep 0.05
	done
	[ "$(tail -1 "$work/mock.out")" = ok ] || fail "mock cluster: '$1': $(tail -1 "$work/mock.out")"
}

# read_topic TOPIC FORMAT: every message of TOPIC, formatted by kcat's -f.
read_topic() {
	timeout 30 kcat -C -b "$brokers" -t "$1" -o beginning -e -q -f "$2" ||
		fail "kcat cannot read topic $1"
}

# expected_messages JSONL TYPE: "KEY<TAB>VALUE" of each line of record type TYPE, the key
# its source address.
expected_messages() {
	python3 -c '
import json, sys
for line in open(sys.argv[1]):
    line = line.rstrip("\n")
    record = json.loads(line)
    if record["type"] == sys.argv[2]:
        print(record.get("src", "") + "\t" + line)' "$1" "$2"
}

# same_messages EXPECTED GOT: equal as multisets of lines (each message once).
same_messages() {
	LC_ALL=C sort "$1" >"$work/expected.sorted"
	LC_ALL=C sort "$2" >"$work/got.sorted"
	diff -q "$work/expected.sorted" "$work/got.sorted" >/dev/null && return 0
	{ diff "$work/expected.sorted" "$work/got.sorted" || true; } | head -6 | sed 's/^/    /'
	return 1
}

# topic_matches JSONL TOPIC TYPE: the topic holds the jsonl lines of TYPE, keyed; one key, one partition.
topic_matches() {
	expected_messages "$1" "$3" >"$work/expected.tsv"
	read_topic "$2" '%k\t%s\n' >"$work/got.tsv"
	same_messages "$work/expected.tsv" "$work/got.tsv" || return 1
	read_topic "$2" '%k\t%p\n' | sort -u | cut -f1 | uniq -d >"$work/split_keys"
	[ ! -s "$work/split_keys" ] || { echo "    keys in more than one partition: $(head -3 "$work/split_keys")"; return 1; }
}

# sink_figure STDERR NAME: statistic NAME of sink 'out' in the exit summary.
sink_figure() {
	sed -n "s/^ *out  *sink .* $2=\([0-9]*\).*/\1/p" "$1"
}

# kernel_records STDERR KERNEL: the records KERNEL made, from the exit summary.
kernel_records() {
	sed -n "s/^ *$2  *[a-z_]*  *x1 .* records=\([0-9]*\).*/\1/p" "$1"
}

echo "checks: every capture's src_count and flow records reach their topics exactly once, the value"
echo "        the jsonl line, the key the source address, one partition per key"
mismatches=0
for index in "${!captures[@]}"; do
	capture="${captures[$index]%.flows.tsv}"
	rm -f "$work/records.jsonl"
	cat >"$work/pipeline.yaml" <<EOT
version: 1
kernels:
  rx:
    type: source
    pcap: "$capture"
  count:
    type: per_src_counter
    input: rx
    window: total
  flows:
    type: flow_tracker
    input: rx
    idle_timeout: 1d
    active_timeout: 1d
  file:
    type: sink
    input: [count, flows]
    path: "$work/records.jsonl"
  out:
    type: sink
    input: [count, flows]
    format: kafka
    brokers: "$brokers"
    topic: trace$index.{type}
    kafka: {acks: all, compression.type: lz4, linger.ms: 5}
EOT
	run_ok "$work/stderr" -p "$work/pipeline.yaml"
	made=$(($(kernel_records "$work/stderr" count) + $(kernel_records "$work/stderr" flows)))
	[ "$(sink_figure "$work/stderr" records)" -eq "$made" ] &&
		[ "$(sink_figure "$work/stderr" dropped_records)" -eq 0 ] ||
		{ sed 's/^/    /' "$work/stderr"; fail "$(basename "$capture"): the kafka sink did not deliver all $made records"; }
	result="match ($made records)"
	if ! topic_matches "$work/records.jsonl" "trace$index.src_count" src_count ||
		! topic_matches "$work/records.jsonl" "trace$index.flow" flow; then
		result=MISMATCH
		mismatches=$((mismatches + 1))
	fi
	printf '  %-45s %s\n' "$(basename "$capture")" "$result"
done
[ "$mismatches" -eq 0 ] || fail "$mismatches captures' topics differ from their jsonl records"
echo "ok: every capture's records are in Kafka exactly once, keyed"

# synthetic_pipeline TOPIC PACKETS RATE EXTRA_SINK_KEYS: 100 ms windows of 300 sources, half IPv6.
synthetic_pipeline() {
	cat >"$work/pipeline.yaml" <<EOT
version: 1
kernels:
  rx:
    type: source
    synthetic: {packets: $2, rate_pps: $3, sources: 300, ipv6_share: 0.5}
  count:
    type: per_src_counter
    input: rx
    window: 100ms
  file:
    type: sink
    input: count
    path: "$work/records.jsonl"
  out:
    type: sink
    input: count
    format: kafka
    brokers: "$brokers"
    topic: $1
$4
EOT
}

echo "checks: every broker down for 3 s mid-run, then up: every record delivered once, retries counted"
rm -f "$work/records.jsonl"
synthetic_pipeline outage.src_count 300000 50000 ""
timeout --kill-after=5 "$jetstreamd_timeout" "$jetstreamd" -p "$work/pipeline.yaml" 2>"$work/stderr" &
running_pid=$!
sleep 1.5
mock_command "down all"
sleep 3
mock_command "up all"
wait_exit 60
[ "$exit_status" -eq 0 ] || { sed 's/^/    /' "$work/stderr"; fail "jetstreamd exited $exit_status across the outage"; }
made=$(kernel_records "$work/stderr" count)
[ "$(sink_figure "$work/stderr" records)" -eq "$made" ] &&
	[ "$(sink_figure "$work/stderr" dropped_records)" -eq 0 ] ||
	{ sed 's/^/    /' "$work/stderr"; fail "records were lost in the outage"; }
[ "$(sink_figure "$work/stderr" retries)" -gt 0 ] && [ "$(sink_figure "$work/stderr" last_error_seconds)" -gt 0 ] ||
	{ sed 's/^/    /' "$work/stderr"; fail "the outage left no retries or last_error_seconds"; }
grep -q 'warning: out: Kafka: .*Connection refused.* (messages wait in the buffer and are retried)' "$work/stderr" ||
	fail "the outage was not logged"
grep -q 'info: out: Kafka delivers again' "$work/stderr" || fail "the end of the outage was not logged"
topic_matches "$work/records.jsonl" outage.src_count src_count ||
	fail "the topic differs from the jsonl records after the outage"
echo "ok: $made records across the outage, each once ($(sink_figure "$work/stderr" retries) failed attempts)"

echo "checks: when_full drop, buffer 16k, every broker down: delivered + dropped_sink_full + dropped_drain_timeout = made"
mock_command "down all"
synthetic_pipeline full.src_count 100000 0 "    buffer: 16k
    when_full: drop
    drain_timeout: 1s"
status=0
run_jetstreamd "$work/stderr" -p "$work/pipeline.yaml" || status=$?
mock_command "up all"
[ "$status" -eq 1 ] || { sed 's/^/    /' "$work/stderr"; fail "jetstreamd exited $status, expected 1 (records dropped)"; }
made=$(kernel_records "$work/stderr" count)
delivered=$(sink_figure "$work/stderr" records)
full=$(sink_figure "$work/stderr" dropped_sink_full)
drained=$(sink_figure "$work/stderr" dropped_drain_timeout)
[ "$full" -gt 0 ] && [ "$drained" -gt 0 ] && [ "$((delivered + full + drained))" -eq "$made" ] &&
	[ "$(sink_figure "$work/stderr" dropped_records)" -eq "$((full + drained))" ] &&
	[ "$(sink_figure "$work/stderr" buffer_max_bytes)" -le 16384 ] ||
	{ sed 's/^/    /' "$work/stderr"; fail "delivered $delivered + sink_full $full + drain_timeout $drained != made $made"; }
grep -q "error: kernel 'out'.*records not delivered to Kafka (dropped_records: sink_full $full, refused 0, drain_timeout $drained)" "$work/stderr" ||
	{ sed 's/^/    /' "$work/stderr"; fail "the undelivered records were not said at exit"; }
echo "ok: made $made = delivered $delivered + sink_full $full + drain_timeout $drained"
