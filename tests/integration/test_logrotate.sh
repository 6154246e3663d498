#!/usr/bin/env bash
# logrotate's way: while a live synthetic source is counted in 100 ms windows
# into out.jsonl, rename the file and send SIGUSR1, then rename it again and
# send SIGHUP, then rename it again and ask `jetstreamctl reload` (the unit's
# ExecReload=), then SIGTERM. Every (source, window) record is in exactly one
# of the four files, every line is whole JSON, the records of the older file
# all come before those of the newer one, each signal and the reload reopened the file
# (logged), and the records add up exactly to the exit summary.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"

require_jetstreamctl
cd "$work"
cat >settings.yaml <<YAML
control_socket: $work/control.sock
metrics: "off"
pipelines: [pipeline.yaml]
YAML
cat >pipeline.yaml <<YAML
version: 1
kernels:
  rx:
    type: source
    synthetic: {sources: 50, rate_pps: 20000, seed: 3}
  count:
    type: per_src_counter
    input: rx
    window: 100ms
  out:
    type: sink
    input: count
    path: "$work/out.jsonl"
YAML

# wait_lines FILE SECONDS: wait until FILE holds at least one whole line
wait_lines() {
	local deadline=$((SECONDS + $2))
	until [ -s "$1" ] && [ "$(tail -c 1 "$1" | od -An -c | tr -d ' ')" = '\n' ]; do
		kill -0 "$running_pid" 2>/dev/null || fail "jetstreamd exited while waiting for records in $1"
		[ "$SECONDS" -lt "$deadline" ] || fail "no records in $1 within $2 s"
		sleep 0.05
	done
}

echo "checks: mv + SIGUSR1, mv + SIGHUP, mv + jetstreamctl reload, SIGTERM -> each record once, in the file of its time"
start_notify_listener
"$jetstreamd" -c settings.yaml 2>stderr &
running_pid=$!
wait_ready 20
wait_lines out.jsonl 10
sleep 0.5
mv out.jsonl out.jsonl.1
kill -USR1 "$running_pid"
wait_lines out.jsonl 10
sleep 0.5
mv out.jsonl out.jsonl.2
kill -HUP "$running_pid"
wait_notify READY=1 2 20
wait_lines out.jsonl 10
sleep 0.5
mv out.jsonl out.jsonl.3
"$jetstreamctl" -s "$work/control.sock" reload >reload.txt || fail "jetstreamctl reload exited $?"
wait_lines out.jsonl 10
sleep 0.3
kill -0 "$running_pid" || fail "jetstreamd is not running after SIGUSR1, SIGHUP and the reload"
kill -TERM "$running_pid"
wait_exit 30
[ "$exit_status" -eq 0 ] || { cat stderr; fail "exit status $exit_status after SIGTERM, expected 0"; }
echo "  ok: still running after SIGUSR1, SIGHUP and jetstreamctl reload, exit status 0 after SIGTERM"

reopened="$(grep -c "^jetstreamd: info: kernel 'out': reopened $work/out.jsonl\$" stderr || true)"
[ "$reopened" -eq 3 ] ||
	{ cat stderr; fail "'reopened' logged $reopened times, expected 3 (SIGUSR1, SIGHUP, jetstreamctl reload)"; }
grep -q '^jetstreamd: info: User defined signal 1: reopening every file a sink writes$' stderr ||
	fail "SIGUSR1 was not logged"
echo "  ok: SIGUSR1, SIGHUP and jetstreamctl reload each reopened out.jsonl (logged)"

packets="$(records_tool summary stderr packets)"
unkeyed="$(records_tool summary stderr count.unkeyed_packets)"
written="$(records_tool summary stderr out.records)"
dropped="$(records_tool summary stderr out.dropped_records)"
[ "$dropped" -eq 0 ] || fail "the sink dropped $dropped records"
python3 - out.jsonl.1 out.jsonl.2 out.jsonl.3 out.jsonl "$((packets - unkeyed))" "$written" <<'PYTHON'
import json, sys
files, keyed, written = sys.argv[1:5], int(sys.argv[5]), int(sys.argv[6])
seen, starts, total_packets, total_records = set(), [], 0, 0
for name in files:
    data = open(name, "rb").read()
    if not data.endswith(b"\n"):
        sys.exit(f"FAIL: {name} does not end with a whole line")
    file_starts = []
    for number, line in enumerate(data.decode().splitlines(), 1):
        try:
            record = json.loads(line)
        except ValueError:
            sys.exit(f"FAIL: {name}:{number} is not a whole JSON record: {line!r}")
        key = (record["src"], record["start"])
        if key in seen:
            sys.exit(f"FAIL: the record of {key} is written twice ({name}:{number})")
        seen.add(key)
        file_starts.append(record["start"])
        total_packets += record["pkts"]
        total_records += 1
    if not file_starts:
        sys.exit(f"FAIL: {name} holds no record")
    starts.append((min(file_starts), max(file_starts)))
    print(f"  ok: {name}: {len(file_starts)} whole records")
for (_, older_last), (newer_first, _), name in zip(starts, starts[1:], files[1:]):
    if newer_first < older_last:
        sys.exit(f"FAIL: {name} holds a window ({newer_first}) older than the last of the file before it ({older_last})")
print("  ok: each file's windows come after the previous file's")
if total_records != written:
    sys.exit(f"FAIL: the files hold {total_records} records, the summary says the sink wrote {written}")
if total_packets != keyed:
    sys.exit(f"FAIL: the records count {total_packets} packets, the summary {keyed} keyed packets")
print(f"  ok: {total_records} records, each once, = the sink's records; {total_packets} packets = the summary's")
PYTHON
echo "ok: a renamed output reopened on SIGUSR1, SIGHUP and jetstreamctl reload loses and repeats nothing"
