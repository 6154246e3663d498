#!/usr/bin/env bash
# A sqlite sink on a full filesystem (a small tmpfs): the failure is logged
# while it happens; after retry: the failed windows are dropped whole and
# counted (records + dropped_records = what the counter emitted); once space
# is freed, writing resumes and is logged; the database passes
# PRAGMA integrity_check and holds whole windows only. Needs root (mount).
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"

[ "$(id -u)" -eq 0 ] || skip "needs root (mounts a small tmpfs)"
command -v sqlite3 >/dev/null || skip "sqlite3 (the command-line shell) is not installed"
query() { sqlite3 -batch -noheader -separator $'\t' "$@"; }
cd "$work"
mkdir disk
mount -t tmpfs -o size=2m tmpfs disk || skip "cannot mount a tmpfs"
at_exit "umount '$work/disk'"

sources=50
# 50 sources, a 100 ms window: 500 rows a second, live until SIGTERM
cat >full.yaml <<PIPELINE
version: 1
kernels:
  rx:
    type: source
    synthetic: {packets: 0, sources: $sources, rate_pps: 5000, seed: 3}
  count:
    type: per_src_counter
    input: rx
    window: 100ms
  out:
    type: sink
    input: count
    format: sqlite
    path: "$work/disk/out.db"
    retry: 1s
PIPELINE

# wait_for_line PATTERN WHAT: until the daemon's stderr has a line matching PATTERN (grep -E)
wait_for_line() {
	local deadline=$((SECONDS + 20))
	until grep -qE "$1" stderr; do
		kill -0 "$running_pid" 2>/dev/null || { cat stderr; fail "jetstreamd exited"; }
		[ "$SECONDS" -lt "$deadline" ] || { cat stderr; fail "no $2 logged within 20 s"; }
		sleep 0.1
	done
}

echo "checks: the write failure is logged while the daemon runs"
"$jetstreamd" -p full.yaml 2>stderr &
running_pid=$!
deadline=$((SECONDS + 20))
until [ "$(query disk/out.db "SELECT count(*) FROM src_count" 2>/dev/null || echo 0)" -gt 0 ]; do
	[ "$SECONDS" -lt "$deadline" ] || { cat stderr; fail "no row committed within 20 s"; }
	sleep 0.1
done
dd if=/dev/zero of=disk/filler bs=4k 2>/dev/null || true # nothing more fits
wait_for_line "error: kernel 'out': writing to $work/disk/out.db: .*: database or disk is full" \
	"write failure"
echo "  ok: $(grep -m1 "database or disk is full" stderr)"

echo "checks: after retry: the windows are dropped, then space is freed and writing resumes"
sleep 2.5
rm disk/filler
wait_for_line "info: kernel 'out': writing to $work/disk/out.db again \([1-9][0-9]* records dropped so far\)" \
	"recovery"
echo "  ok: $(grep -m1 "info: kernel 'out': writing to" stderr)"
sleep 1
kill -TERM "$running_pid"
wait_exit 20
[ "$exit_status" -ne 255 ] || fail "jetstreamd still runs 20 s after SIGTERM"
[ "$exit_status" -eq 1 ] || { cat stderr; fail "exit status $exit_status, expected 1 (records dropped)"; }
grep -qE "error: kernel 'out' \(replica 0\): writing to $work/disk/out.db failed: .*database or disk is full; [0-9]+ records not written \(dropped_records\)" stderr ||
	{ cat stderr; fail "no incomplete-output error at exit"; }
echo "  ok: exit 1, the drop reported at exit too"

echo "checks: a sound database of whole windows; records + dropped_records = records emitted"
integrity="$(query disk/out.db "PRAGMA integrity_check")"
[ "$integrity" = ok ] || fail "PRAGMA integrity_check: $integrity"
records=$(records_tool summary stderr out.records)
dropped=$(records_tool summary stderr out.dropped_records)
emitted=$(records_tool summary stderr count.records)
rows="$(query disk/out.db "SELECT count(*) FROM src_count")"
[ "$records" -eq "$rows" ] || fail "records=$records, but the table has $rows rows"
[ "$dropped" -gt 0 ] || fail "nothing was dropped: the disk was never full?"
[ $((records + dropped)) -eq "$emitted" ] ||
	fail "records $records + dropped_records $dropped != $emitted emitted"
# every window but the first and the last (the stop cuts it: its sources may not all have
# sent yet) has every source: a window written in part would have fewer
query disk/out.db "SELECT end_ns, count(*) FROM src_count WHERE end_ns > (SELECT min(end_ns) FROM src_count)
	AND end_ns < (SELECT max(end_ns) FROM src_count) GROUP BY end_ns" | awk -v sources="$sources" '$2 != sources' >partial.tsv
[ ! -s partial.tsv ] || { head -n 5 partial.tsv; fail "windows without all $sources sources (end_ns, rows)"; }
echo "  ok: integrity_check ok; $rows rows = records; $records + $dropped dropped = $emitted emitted; whole windows only"
