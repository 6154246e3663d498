#!/usr/bin/env bash
# format: clickhouse, into a real ClickHouse (Debian's 18.16) the test starts
# on localhost, on ports it picks, without systemd.
#
# 1. Every shared capture through per_src_counter (window: total), threshold,
#    flow_tracker and proto_stats into tables the sink creates (create_table):
#    the flows summed per 5-tuple equal X.flows.tsv, the per-source sums equal
#    X.src.tsv, each table's count() is the records its kernel made, and the
#    sink's records and batches figures agree with them.
# 2. A live source into 100 ms windows; the server is stopped (SIGSTOP) for
#    5 s and resumed: every record lands once (count() and sum(pkts) equal
#    what was made), and `jetstreamctl status` answers within 100 ms all along.
# 3. when_full: drop with a 16k buffer and the server stopped for 2 s:
#    dropped_sink_full > 0, and the rows plus the drops are the records made.
# 4. A table of other columns: its records are dropped_refused, with the
#    server's `Code: 27` text in the log, once.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"

[ -d "$traces" ] || skip "$traces not found (the shared captures are not part of a fresh clone)"
server_binary="$(command -v clickhouse-server || true)"
[ -n "$server_binary" ] || skip "clickhouse-server is not installed (scripts/deps.sh installs it)"
require_jetstreamctl
cd "$work"

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
http_port="$(free_port)"
tcp_port="$(free_port)"
server_url="http://127.0.0.1:$http_port"
# query SQL: one statement over the HTTP interface; fails on an error status
query() { curl -sS --fail-with-body "$server_url/?output_format_json_quote_64bit_integers=0" --data-binary "$1"; }
# table_count TABLE: its count(), 0 while it does not exist
table_count() { curl -s --fail "$server_url/" --data-binary "SELECT count() FROM $1" || echo 0; }

mkdir -p server/data server/tmp server/user_files
cat >server/config.xml <<EOF
<?xml version="1.0"?>
<yandex>
  <logger><level>warning</level><log>$work/server/server.log</log><errorlog>$work/server/error.log</errorlog></logger>
  <listen_host>127.0.0.1</listen_host>
  <http_port>$http_port</http_port>
  <tcp_port>$tcp_port</tcp_port>
  <path>$work/server/data/</path>
  <tmp_path>$work/server/tmp/</tmp_path>
  <user_files_path>$work/server/user_files/</user_files_path>
  <users_config>$work/server/users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <mark_cache_size>5368709120</mark_cache_size>
</yandex>
EOF
cat >server/users.xml <<EOF
<?xml version="1.0"?>
<yandex>
  <profiles><default></default></profiles>
  <users><default><password></password><networks><ip>127.0.0.1</ip></networks><profile>default</profile><quota>default</quota></default></users>
  <quotas><default></default></quotas>
</yandex>
EOF
"$server_binary" --config-file="$work/server/config.xml" >server/stdout.log 2>&1 &
server_pid=$!
# shellcheck disable=SC2016 # expanded when the test exits
at_exit 'kill -CONT "$server_pid" 2>/dev/null; kill -KILL "$server_pid" 2>/dev/null; wait "$server_pid" 2>/dev/null'
deadline=$((SECONDS + 60))
until [ "$(curl -s "$server_url/ping" 2>/dev/null)" = Ok. ]; do
	kill -0 "$server_pid" 2>/dev/null || { cat server/stdout.log server/error.log 2>/dev/null; fail "clickhouse-server exited"; }
	[ "$SECONDS" -lt "$deadline" ] || fail "clickhouse-server did not answer /ping within 60 s"
	sleep 0.1
done
echo "  clickhouse-server $(query "SELECT version()") on $server_url"

# write_pipeline FILE SOURCE_KEYS WINDOW SINK_KEYS: the record kernels into sink `out`.
write_pipeline() {
	cat >"$1" <<PIPELINE
version: 1
kernels:
  rx:
    type: source
    ${2//$'\n'/$'\n'    }
  count:
    type: per_src_counter
    input: rx
    window: $3
  alarm:
    type: threshold
    input: count
    metric: pkts
    above: 1
  flows:
    type: flow_tracker
    input: rx
  stats:
    type: proto_stats
    input: rx
    window: 1s
  out:
    type: sink
    input: [count, alarm, flows, stats]
    format: clickhouse
    url: $server_url
    ${4//$'\n'/$'\n'    }
PIPELINE
}

# table_rows DATABASE TABLE TYPE: the table's rows as jsonl records of TYPE, as the tools read them
table_rows() {
	query "SELECT '$3' AS type, * FROM \`$1\`.\`$2\` FORMAT JSONEachRow"
}

# figure STDERR KEY: a figure of the exit summary
figure() { records_tool summary "$1" "$2"; }

echo "checks: every shared capture's flows and per-source counts in ClickHouse equal the oracles"
database_number=0
for capture in "$traces"/*.src.tsv; do
	capture="${capture%.src.tsv}"
	name="$(basename "$capture")"
	database_number=$((database_number + 1))
	database="trace$database_number"
	query "CREATE DATABASE $database"
	write_pipeline trace.yaml "pcap: \"$capture\"" total \
		"database: $database"$'\n'"create_table: true"$'\n'"batch_rows: 5000"$'\n'"drain_timeout: 60s"
	run_ok trace.stderr -p trace.yaml
	table_rows "$database" src_count src_count >src_count.jsonl
	records_tool totals src_count.jsonl >src.tsv
	diff -u "$capture.src.tsv" src.tsv >diff.txt ||
		{ head -n 20 diff.txt; fail "$name: per-source sums differ from the oracle"; }
	table_rows "$database" flow flow >flow.jsonl
	python3 "$integration_directory/flows_oracle.py" flow.jsonl | LC_ALL=C sort >flows.tsv
	LC_ALL=C sort "$capture.flows.tsv" | diff -u - flows.tsv >diff.txt ||
		{ head -n 20 diff.txt; fail "$name: flows differ from the oracle"; }
	total=0
	for pair in src_count:count alert:alarm flow:flows proto_stats:stats; do
		rows="$(query "SELECT count() FROM $database.${pair%%:*}")"
		made="$(figure trace.stderr "${pair#*:}.$( [ "${pair#*:}" = alarm ] && echo alerts || echo records)")"
		[ "$rows" = "$made" ] || fail "$name: ${pair%%:*} has $rows rows, ${pair#*:} made $made records"
		total=$((total + rows))
	done
	sent="$(figure trace.stderr out.records)"
	[ "$sent" = "$total" ] || fail "$name: the sink says records=$sent, the tables hold $total rows"
	[ "$(figure trace.stderr out.dropped_records)" = 0 ] || fail "$name: records were dropped"
	printf '  %-45s match: %s flows, %s sources, %s rows in %s batches\n' "$name" \
		"$(wc -l <flows.tsv)" "$(wc -l <src.tsv)" "$total" "$(figure trace.stderr out.batches)"
done
[ "$database_number" -gt 0 ] || fail "no captures in $traces"
# the time columns: Decimal128(9) seconds, exactly the line's, and their _ns twin in nanoseconds
[ "$(query "SELECT count() FROM trace1.flow WHERE toUInt64(first * 1000000000) != first_ns")" = 0 ] ||
	fail "trace1.flow: first and first_ns disagree"

echo "checks: the server stopped (SIGSTOP) for 5 s mid-run: nothing lost, nothing doubled, ctl answers"
socket="$work/control.sock"
cat >settings.yaml <<EOF
version: 1
control_socket: $socket
metrics: "off"
pipelines: [live.yaml]
EOF
query "CREATE DATABASE live"
write_pipeline live.yaml "synthetic: {packets: 240000, rate_pps: 20000, sources: 500, seed: 3}" \
	100ms "database: live"$'\n'"create_table: true"$'\n'"batch_delay: 100ms"
"$jetstreamd" -c settings.yaml 2>live.stderr &
running_pid=$!
deadline=$((SECONDS + 20))
until [ "$(table_count live.src_count)" -gt 0 ]; do
	kill -0 "$running_pid" 2>/dev/null || { cat live.stderr; fail "jetstreamd exited"; }
	[ "$SECONDS" -lt "$deadline" ] || { cat live.stderr; fail "no rows in live.src_count within 20 s"; }
	sleep 0.1
done
kill -STOP "$server_pid"
# jetstreamctl status, timed, every 50 ms for the 5 s the server is stopped
python3 - "$jetstreamctl" "$socket" >probe.txt <<'PY'
import subprocess, sys, time
slowest, answers, end = 0.0, 0, time.monotonic() + 5
while time.monotonic() < end:
    start = time.monotonic()
    subprocess.run([sys.argv[1], "-s", sys.argv[2], "status"], check=True, stdout=subprocess.DEVNULL)
    slowest = max(slowest, time.monotonic() - start)
    answers += 1
    time.sleep(0.05)
print(answers, int(slowest * 1000))
PY
kill -CONT "$server_pid"
read -r answers slowest_ms <probe.txt
[ "$slowest_ms" -lt 100 ] || fail "jetstreamctl status took $slowest_ms ms with the server stopped"
wait_exit 60
[ "$exit_status" -eq 0 ] || { cat live.stderr; fail "jetstreamd exited $exit_status"; }
made="$(figure live.stderr count.records)"
rows="$(query "SELECT count() FROM live.src_count")"
packets="$(query "SELECT sum(pkts) FROM live.src_count")"
[ "$rows" = "$made" ] || fail "live.src_count has $rows rows, the counter made $made records"
[ "$packets" = 240000 ] || fail "live.src_count counts $packets packets, the source made 240000"
echo "  ok: $rows rows (= records made), 240000 packets; $answers status answers, the slowest in $slowest_ms ms;" \
	"retries=$(figure live.stderr out.retries), buffer_max_bytes=$(figure live.stderr out.buffer_max_bytes)"

echo "checks: when_full: drop with a 16k buffer: records sent + dropped = records made"
query "CREATE DATABASE dropping"
write_pipeline drop.yaml "synthetic: {packets: 100000, rate_pps: 25000, sources: 500, seed: 4}" \
	100ms "database: dropping"$'\n'"create_table: true"$'\n'"batch_delay: 100ms"$'\n'"buffer: 16k"$'\n'"when_full: drop"
"$jetstreamd" -p drop.yaml 2>drop.stderr &
running_pid=$!
sleep 1
kill -STOP "$server_pid"
sleep 2
kill -CONT "$server_pid"
wait_exit 60
# a record dropped for any reason makes the output incomplete: exit 1, as with every format
[ "$exit_status" -eq 1 ] || { cat drop.stderr; fail "jetstreamd exited $exit_status, expected 1"; }
grep -q "records not delivered to ClickHouse (dropped_records: sink_full [1-9]" drop.stderr ||
	{ cat drop.stderr; fail "the exit reason does not name the sink_full drops"; }
made=$(($(figure drop.stderr count.records) + $(figure drop.stderr alarm.alerts) + $(figure drop.stderr flows.records) + $(figure drop.stderr stats.records)))
sent="$(figure drop.stderr out.records)"
dropped="$(figure drop.stderr out.dropped_sink_full)"
rows=0
for table in src_count alert flow proto_stats; do
	rows=$((rows + $(table_count "dropping.$table")))
done
[ "$dropped" -gt 0 ] || fail "no record dropped with a 16k buffer and the server stopped for 2 s"
[ "$rows" = "$sent" ] || fail "the sink says records=$sent, the tables hold $rows rows"
[ $((sent + dropped)) = "$made" ] || fail "records $sent + dropped_sink_full $dropped != $made made"
[ "$(figure drop.stderr out.dropped_records)" = "$dropped" ] || fail "dropped_records is not dropped_sink_full alone"
echo "  ok: $sent sent + $dropped dropped_sink_full = $made records made"

echo "checks: a table whose src is a UInt32: its records are dropped_refused, the server's reason logged once"
query "CREATE TABLE default.src_count (kernel String, src UInt32) ENGINE = MergeTree ORDER BY kernel"
write_pipeline refused.yaml "synthetic: {packets: 20000, sources: 50, seed: 5}" 100ms \
	"table: src_count"$'\n'"batch_rows: 10"
sed -i 's/input: \[count, alarm, flows, stats\]/input: count/' refused.yaml
status=0
run_jetstreamd refused.stderr -p refused.yaml || status=$?
[ "$status" = 1 ] || { cat refused.stderr; fail "exit $status with records refused, expected 1"; }
made="$(figure refused.stderr count.records)"
grep -q "error: kernel 'out' (replica 0): $made records not delivered to ClickHouse (dropped_records: sink_full 0, refused $made, drain_timeout 0" refused.stderr ||
	{ cat refused.stderr; fail "the exit does not say the refused records"; }
[ "$(figure refused.stderr out.dropped_refused)" = "$made" ] ||
	fail "dropped_refused=$(figure refused.stderr out.dropped_refused), $made records made"
[ "$(grep -c 'refused .* records (dropped_refused' refused.stderr)" = 1 ] ||
	{ cat refused.stderr; fail "the refusal is not logged exactly once"; }
grep -q 'Code: 27' refused.stderr || { cat refused.stderr; fail "the log does not give the server's Code: 27"; }
echo "  ok: exit 1, $made records dropped_refused; logged once: $(grep -o 'Code: 27[^,]*' refused.stderr | head -n 1)"

echo "checks: the server stopped at SIGTERM time: drain_timeout 1s ends the run, the rest counted"
query "CREATE DATABASE draining"
write_pipeline drain.yaml "pcap: \"$traces/pcapplusplus_tls2.pcap\"" total \
	"database: draining"$'\n'"create_table: true"$'\n'"drain_timeout: 1s"
kill -STOP "$server_pid"
start=$SECONDS
status=0
run_jetstreamd drain.stderr -p drain.yaml || status=$?
elapsed=$((SECONDS - start))
kill -CONT "$server_pid"
[ "$status" = 1 ] || { cat drain.stderr; fail "exit $status with records left at drain_timeout, expected 1"; }
[ "$elapsed" -le 4 ] || fail "the run took $elapsed s with drain_timeout: 1s"
made=$(($(figure drain.stderr count.records) + $(figure drain.stderr alarm.alerts) + $(figure drain.stderr flows.records) + $(figure drain.stderr stats.records)))
[ "$(figure drain.stderr out.dropped_drain_timeout)" = "$made" ] ||
	fail "dropped_drain_timeout=$(figure drain.stderr out.dropped_drain_timeout), $made records made"
[ "$(figure drain.stderr out.records)" = 0 ] || fail "records were delivered to a stopped server"
echo "  ok: exit 1 within $elapsed s, $made records dropped_drain_timeout"
