#!/usr/bin/env bash
# format: sqlite. Every shared capture through per_src_counter, threshold,
# flow_tracker and proto_stats into a jsonl sink and a sqlite sink: each
# table holds exactly the jsonl records (every field, as sorted rows). Live
# (synthetic source, 100ms windows): a concurrent sqlite3 reader sees the
# counts grow; after kill -9 the database passes PRAGMA integrity_check and
# holds whole windows only; SIGTERM commits every record; retain: deletes old
# rows; a reload replacing the sink loses and doubles nothing. A table with
# other columns is refused (exit 78, naming the column); an alert table an
# earlier version made gets the columns added since.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"

command -v sqlite3 >/dev/null || skip "sqlite3 (the command-line shell) is not installed"
rows_tool() { python3 "$integration_directory/sqlite_rows.py" "$@"; }
query() { sqlite3 -batch -noheader -separator $'\t' -nullvalue NULL "$@"; }
tables=(src_count alert flow proto_stats)

# write_pipeline FILE SOURCE_KEYS SINK_KEYS: source -> the four record kernels -> sqlite
# sink `out` (SINK_KEYS, "key: value" lines), and a jsonl sink `lines` when JSONL is set.
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
    window: ${window:-1s}
  alarm:
    type: threshold
    input: count
    metric: pkts
    above: 1
  episodes:
    type: threshold
    input: count
    alerts: lifecycle
    hold: 2s
    update: 1s
    groups:
      - {name: documentation, networks: [192.0.2.0/24, 198.51.100.0/24, "2001:db8::/32"], pkts: 1}
      - {name: other, bytes: 1000, per: second}
  flows:
    type: flow_tracker
    input: rx
  stats:
    type: proto_stats
    input: rx
    window: ${window:-1s}
  out:
    type: sink
    input: [${inputs:-count, alarm, episodes, flows, stats}]
    format: sqlite
    ${3//$'\n'/$'\n'    }
PIPELINE
	[ -z "${JSONL:-}" ] || cat >>"$1" <<PIPELINE
  lines:
    type: sink
    input: [count, alarm, episodes, flows, stats]
    path: "$JSONL"
PIPELINE
}

cd "$work"
echo "checks: the sqlite tables hold exactly the jsonl records of every shared capture"
if [ -d "$traces" ]; then
	files=0
	for capture in "$traces"/*.src.tsv; do
		capture="${capture%.src.tsv}"
		[ -f "$capture" ] || continue
		name="$(basename "$capture")"
		files=$((files + 1))
		rm -f out.db out.jsonl
		JSONL="$work/out.jsonl" write_pipeline trace.yaml "pcap: \"$capture\"" "path: \"$work/out.db\""
		run_ok trace.stderr -p trace.yaml
		counts=""
		for table in "${tables[@]}"; do
			rows_tool rows out.jsonl "$table" | sort >expected.tsv
			query out.db "$(rows_tool query "$table")" | sort >actual.tsv
			diff -u expected.tsv actual.tsv >diff.txt ||
				{ head -n 20 diff.txt; fail "$name: table $table differs from the jsonl records"; }
			differ="$(query out.db "$(rows_tool times "$table")")"
			[ "$differ" = 0 ] || fail "$name: $differ rows of $table have REAL times unlike their _ns"
			counts+="$table $(wc -l <actual.tsv), "
		done
		written="$(records_tool summary trace.stderr out.records)"
		[ "$written" = "$(wc -l <out.jsonl)" ] ||
			fail "$name: the summary says out.records=$written, the jsonl sink has $(wc -l <out.jsonl)"
		printf '  %-45s match: %s\n' "$name" "${counts%, }"
	done
	[ "$files" -gt 0 ] || fail "no captures in $traces"
else
	echo "  skipped: $traces not found (the shared captures are not part of a fresh clone)"
fi

# every window must hold every source: 1000 a 100ms window is 10k packets a second, which even a
# sanitized build on a busy machine makes (5000 was not, once)
sources=1000
live_source="synthetic: {packets: 0, sources: $sources, seed: 7}"
echo "checks: a concurrent reader sees the counts grow; kill -9 leaves a sound database of whole windows"
window=100ms inputs=count write_pipeline live.yaml "$live_source" "path: \"$work/live.db\""
"$jetstreamd" -p live.yaml 2>live.stderr &
running_pid=$!
seen=()
last=0
deadline=$((SECONDS + 30))
while [ "${#seen[@]}" -lt 5 ]; do
	kill -0 "$running_pid" 2>/dev/null || { cat live.stderr; fail "jetstreamd exited"; }
	[ "$SECONDS" -lt "$deadline" ] || fail "the reader saw only ${seen[*]:-nothing} in 30 s"
	count="$(query live.db "SELECT count(*) FROM src_count" 2>/dev/null)" || count=""
	if [ -n "$count" ] && [ "$count" -gt "$last" ]; then
		seen+=("$count")
		last="$count"
	fi
	sleep 0.1
done
echo "  ok: a reader saw src_count grow: ${seen[*]}"
kill -KILL "$running_pid"
wait_exit 10
integrity="$(query live.db "PRAGMA integrity_check")"
[ "$integrity" = ok ] || fail "PRAGMA integrity_check after kill -9: $integrity"
# the first window may begin just before its end (no packet of some sources); every later one
# has every source: a window cut by the kill would have fewer rows
query live.db "SELECT end_ns, count(*) FROM src_count WHERE end_ns > (SELECT min(end_ns) FROM src_count)
	GROUP BY end_ns" >windows.tsv
[ -s windows.tsv ] || fail "no window after the first in the database"
awk -v sources="$sources" '$2 != sources' windows.tsv >partial.tsv
[ ! -s partial.tsv ] || { head -n 5 partial.tsv; fail "windows without all $sources sources (end_ns, rows)"; }
echo "  ok: integrity_check ok; $(wc -l <windows.tsv) windows after the first, each with all $sources sources"

echo "checks: SIGTERM commits every record; retain: 1s keeps about the last second"
for mode in sigterm retain; do
	rm -f stop.db
	sink_keys="path: \"$work/stop.db\""
	sources=50
	# 5000 rows a window: more than the 1000 a transaction deletes besides what it inserts
	[ "$mode" = sigterm ] || { sink_keys+=$'\nretain: 1s'; sources=5000; }
	window=100ms inputs=count write_pipeline stop.yaml \
		"synthetic: {packets: 0, sources: $sources, seed: 3}" "$sink_keys"
	"$jetstreamd" -p stop.yaml 2>stop.stderr &
	running_pid=$!
	sleep 2.5
	kill -TERM "$running_pid"
	wait_exit 20
	[ "$exit_status" = 0 ] || { cat stop.stderr; fail "$mode: jetstreamd exited $exit_status after SIGTERM"; }
	emitted="$(records_tool summary stop.stderr count.records)"
	written="$(records_tool summary stop.stderr out.records)"
	rows="$(query stop.db "SELECT count(*) FROM src_count")"
	[ "$written" = "$emitted" ] || fail "$mode: the counter emitted $emitted records, the sink wrote $written"
	if [ "$mode" = sigterm ]; then
		[ "$rows" = "$written" ] || fail "the sink wrote $written records, the table holds $rows"
		echo "  ok: SIGTERM: all $rows records emitted are in the table"
	else
		span="$(query stop.db "SELECT max(end_ns) - min(end_ns) FROM src_count")"
		[ "$rows" -lt "$written" ] || fail "retain: no row deleted ($rows rows of $written)"
		# each transaction deletes what it inserts and 1000 more: the last, small one (the
		# stop's partial window) may leave part of the window that just became too old
		[ "$span" -le 1100000000 ] || fail "retain: rows span $span ns, more than 1s and a window"
		echo "  ok: retain: $rows of $written rows kept, spanning $span ns"
	fi
done

echo "checks: a reload that replaces the sink (a new retain:) loses no record and doubles none"
rm -f reload.db
window=100ms inputs=count write_pipeline reload.yaml "synthetic: {packets: 0, sources: 50, seed: 4}" \
	"path: \"$work/reload.db\""
"$jetstreamd" -p reload.yaml 2>reload.stderr &
running_pid=$!
sleep 1.5
echo "    retain: 30d" >>reload.yaml
kill -HUP "$running_pid"
sleep 1.5
kill -TERM "$running_pid"
wait_exit 20
[ "$exit_status" = 0 ] || { cat reload.stderr; fail "reload: jetstreamd exited $exit_status"; }
grep -q "reload: generation 2 running: kept .*; replaced out$" reload.stderr ||
	{ cat reload.stderr; fail "no reload to generation 2 replacing out"; }
emitted="$(records_tool summary reload.stderr count.records)"
rows="$(query reload.db "SELECT count(*) FROM src_count")"
distinct="$(query reload.db "SELECT count(*) FROM (SELECT DISTINCT src, end_ns FROM src_count)")"
[ "$rows" = "$emitted" ] && [ "$distinct" = "$rows" ] ||
	fail "reload: the counter emitted $emitted records; the table holds $rows rows, $distinct distinct"
echo "  ok: reload: all $rows records, each once"

echo "checks: a table with other columns is refused at start, naming the table and the column"
rm -f other.db
sqlite3 other.db "CREATE TABLE flow (kernel TEXT, src TEXT, packets INTEGER)"
write_pipeline other.yaml "synthetic: {packets: 100}" "path: \"$work/other.db\""
status=0
run_jetstreamd other.stderr -p other.yaml || status=$?
[ "$status" = 78 ] || { cat other.stderr; fail "exit $status, expected 78"; }
line="$(grep -n 'path:' other.yaml | tail -n 1 | cut -d: -f1)"
expected="other.yaml:$line:11: error: kernel 'out': table flow: column 3 is \"packets\", expected \"dst\""
grep -qxF "$expected" other.stderr || { cat other.stderr; fail "no line: $expected"; }
echo "  ok: exit 78: $expected"

echo "checks: an alert table an earlier version made gets the columns added since, its rows kept"
rm -f older.db
sqlite3 older.db 'CREATE TABLE alert ("kernel" TEXT, "name" TEXT, "src" TEXT, "dst" TEXT, "sport" INTEGER, "dport" INTEGER, "proto" INTEGER, "metric" TEXT, "value" INTEGER, "previous" INTEGER, "threshold" INTEGER, "start" REAL, "start_ns" INTEGER, "end" REAL, "end_ns" INTEGER); INSERT INTO alert ("kernel") VALUES ('"'"'earlier'"'"')'
inputs="count, alarm" write_pipeline older.yaml "synthetic: {packets: 100, sources: 5, seed: 3}" \
	"path: \"$work/older.db\""
run_ok older.stderr -p older.yaml
columns="$(query older.db "SELECT group_concat(name, ' ') FROM pragma_table_info('alert')")"
expected_columns="kernel name src dst sport dport proto metric value previous threshold start start_ns end end_ns group per state alert_id peak pkts bytes duration duration_ns reason"
[ "$columns" = "$expected_columns" ] || fail "alert columns: $columns"
rows="$(query older.db "SELECT count(*) FROM alert WHERE kernel = 'earlier'")/$(query older.db "SELECT count(*) FROM alert WHERE kernel = 'alarm'")"
[ "$rows" = "1/5" ] || fail "earlier/new alert rows: $rows, expected 1/5"
echo "  ok: 10 columns added, the earlier row kept, 5 new alerts"

echo "checks: a database locked by another writer: the window waits and lands once it is free,"
echo "        or, locked past retry:, is dropped whole and counted"
# hold_lock DB SECONDS: another connection holds the database's write lock that long
# (started in the background; it prints "locked" once it holds it)
hold_lock() {
	python3 - "$1" "$2" <<'PYTHON' &
import sqlite3, sys, time
connection = sqlite3.connect(sys.argv[1], isolation_level=None)
connection.execute("BEGIN IMMEDIATE")
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
connection.execute("ROLLBACK")
PYTHON
	locker_pid=$!
}
rm -f locked.db
inputs=count window=total write_pipeline locked.yaml "synthetic: {packets: 100, sources: 50, seed: 5}" \
	"path: \"$work/locked.db\""
run_ok locked.stderr -p locked.yaml # creates the tables: an open that must create them waits
query locked.db "DELETE FROM src_count"
for mode in waits dropped; do
	if [ "$mode" = waits ]; then lock_seconds=3 retry=20s; else lock_seconds=5 retry=1500ms; fi
	# one window (a stop ends it), so one transaction; with window: total each record is one
	inputs=count window=1h write_pipeline locked.yaml \
		"synthetic: {packets: 5000, sources: 50, seed: 5}" \
		"path: \"$work/locked.db\""$'\n'"retry: $retry"
	hold_lock locked.db "$lock_seconds" >lock.out
	until grep -q locked lock.out; do sleep 0.05; done
	status=0
	run_jetstreamd locked.stderr -p locked.yaml || status=$?
	wait "$locker_pid"
	emitted="$(records_tool summary locked.stderr count.records)"
	written="$(records_tool summary locked.stderr out.records)"
	dropped="$(records_tool summary locked.stderr out.dropped_records)"
	rows="$(query locked.db "SELECT count(*) FROM src_count")"
	[ "$emitted" = 50 ] || fail "$mode: the counter emitted $emitted records, expected 50"
	if [ "$mode" = waits ]; then
		[ "$status" = 0 ] && [ "$written" = 50 ] && [ "$dropped" = 0 ] && [ "$rows" = 50 ] ||
			{ cat locked.stderr; fail "waits: exit $status, records $written, dropped $dropped, rows $rows"; }
		echo "  ok: locked ${lock_seconds}s with retry: $retry: exit 0, all 50 records in the table"
		query locked.db "DELETE FROM src_count"
	else
		# the window is one transaction: all of it is dropped, none of it half-written
		[ "$status" = 1 ] && [ "$written" = 0 ] && [ "$dropped" = 50 ] && [ "$rows" = 0 ] ||
			{ cat locked.stderr; fail "dropped: exit $status, records $written, dropped $dropped, rows $rows"; }
		grep -q "error: kernel .out. (replica 0): writing to $work/locked.db failed: .*database is locked; 50 records not written (dropped_records)" locked.stderr ||
			{ cat locked.stderr; fail "dropped: no line saying the 50 records were not written"; }
		echo "  ok: locked ${lock_seconds}s with retry: $retry: exit 1, the window's 50 records dropped whole, counted"
	fi
done
