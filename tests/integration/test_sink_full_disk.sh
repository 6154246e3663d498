#!/usr/bin/env bash
# A jsonl sink on a full filesystem (a 512 KiB tmpfs): the failure is logged
# while it happens, the file holds whole lines only, what could not be written
# is counted as dropped_records (records + dropped_records = what the kernels
# emitted), and once space is freed, writing resumes. Needs root (mount).
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"

[ "$(id -u)" -eq 0 ] || skip "needs root (mounts a small tmpfs)"
cd "$work"
mkdir disk
mount -t tmpfs -o size=512k tmpfs disk || skip "cannot mount a tmpfs"
at_exit "umount '$work/disk'"
# fill it: nothing more fits
dd if=/dev/zero of=disk/filler bs=4k 2>/dev/null || true

# ~50 sources, a 100 ms window: about 500 records a second, 65 kB/s, live until SIGTERM
cat >full.yaml <<PIPELINE
version: 1
kernels:
  rx:
    type: source
    synthetic: {packets: 0, sources: 50, rate_pps: 5000, seed: 3}
  count:
    type: per_src_counter
    input: rx
    window: 100ms
  out:
    type: sink
    input: count
    path: "$work/disk/out.jsonl"
    retry: 1s
PIPELINE

echo "checks: the write failure is logged while the daemon runs"
"$jetstreamd" -p full.yaml 2>stderr &
running_pid=$!
deadline=$((SECONDS + 20))
until grep -q "error: kernel 'out': cannot write to $work/disk/out.jsonl: No space left on device" stderr; do
	kill -0 "$running_pid" 2>/dev/null || { cat stderr; fail "jetstreamd exited"; }
	[ "$SECONDS" -lt "$deadline" ] || { cat stderr; fail "no write failure logged within 20 s"; }
	sleep 0.1
done
echo "  ok: $(grep "cannot write to" stderr | head -1)"

echo "checks: after the retry time the records are dropped, then space is freed and writing resumes"
sleep 2
rm disk/filler
deadline=$((SECONDS + 20))
until grep -q "info: kernel 'out': writing to $work/disk/out.jsonl again" stderr; do
	kill -0 "$running_pid" 2>/dev/null || { cat stderr; fail "jetstreamd exited"; }
	[ "$SECONDS" -lt "$deadline" ] || { cat stderr; fail "no recovery logged within 20 s"; }
	sleep 0.1
done
echo "  ok: $(grep "writing to .* again" stderr | head -1)"
sleep 1
lines_before_stop=$(wc -l <disk/out.jsonl)
[ "$lines_before_stop" -gt 0 ] || fail "nothing written after space was freed"
kill -TERM "$running_pid"
wait_exit 20
[ "$exit_status" -ne 255 ] || fail "jetstreamd still runs 20 s after SIGTERM"
# dropped records make the output incomplete: exit 1, with the reason
[ "$exit_status" -eq 1 ] || { cat stderr; fail "exit status $exit_status, expected 1"; }
grep -q "error: kernel 'out' (replica 0): write failed: No space left on device; [0-9]* records not written (dropped_records)" stderr ||
	{ cat stderr; fail "no incomplete-output error at exit"; }
echo "  ok: exit 1, the drop reported at exit too"

echo "checks: whole JSON lines only; records + dropped_records = records emitted"
python3 - disk/out.jsonl <<'PYTHON'
import json, sys
with open(sys.argv[1], "rb") as stream:
    data = stream.read()
assert data.endswith(b"\n"), "the file ends in a cut line"
for number, line in enumerate(data.split(b"\n")[:-1], 1):
    record = json.loads(line)
    assert record["type"] == "src_count", f"line {number}: {line!r}"
PYTHON
lines=$(wc -l <disk/out.jsonl)
records=$(records_tool summary stderr out.records)
dropped=$(records_tool summary stderr out.dropped_records)
emitted=$(records_tool summary stderr count.out)
[ "$records" -eq "$lines" ] || fail "records=$records, but the file has $lines lines"
[ "$dropped" -gt 0 ] || fail "nothing was dropped: the disk was never full?"
[ $((records + dropped)) -eq "$emitted" ] ||
	fail "records $records + dropped_records $dropped != $emitted emitted"
echo "  ok: $lines whole lines = records; $records + $dropped dropped = $emitted emitted"
