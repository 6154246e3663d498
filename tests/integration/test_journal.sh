#!/usr/bin/env bash
# journald: with stderr named by JOURNAL_STREAM, every log line reaches the
# journal's native socket once, with PRIORITY=, SYSLOG_IDENTIFIER=,
# GENERATION= and the MESSAGE_IDs of started, reloaded, reload failed and
# stopping; each `file:line:col: error:` line of a refused reload arrives at
# PRIORITY=3; EAL's own lines arrive once each and are not also written to
# stderr (nor to syslog, where /dev/log is journald's). A python listener
# (journal_listener.py) stands in for journald: the daemon runs in a mount
# namespace of its own with the listener's directory bound over
# /run/systemd/journal, the fixed path sd_journal_send() uses. Then, with
# JOURNAL_STREAM naming another file, the lines are plain text on stderr.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"

[ "$(id -u)" -eq 0 ] || skip "needs root: a mount namespace with its own /run/systemd/journal"
command -v unshare >/dev/null || skip "unshare (util-linux) is not installed"
unshare --mount --propagation private true 2>"$work/unshare.err" ||
	skip "cannot make a mount namespace: $(cat "$work/unshare.err")"

journal_directory="$work/journal"
mkdir "$journal_directory"
entries="$work/journal.jsonl"
syslog_entries="$work/syslog.jsonl"
: >"$entries"
: >"$syslog_entries"
python3 "$integration_directory/journal_listener.py" "$journal_directory/socket" "$entries" &
at_exit "kill $! 2>/dev/null"
python3 "$integration_directory/journal_listener.py" --raw "$journal_directory/dev-log" "$syslog_entries" &
at_exit "kill $! 2>/dev/null"
tries=0
until [ -S "$journal_directory/socket" ] && [ -S "$journal_directory/dev-log" ]; do
	tries=$((tries + 1))
	[ "$tries" -lt 100 ] || fail "the journal listener did not start"
	sleep 0.05
done
# Syslog's socket: EAL's own stream also calls syslog(), which journald records a second
# time. In the namespace /dev is a tmpfs holding the usual devices and /dev/log leading to
# the listener's dev-log (as under systemd), when that can be made here.
mkdir "$work/dev-saved"
replace_dev='mount --rbind /dev "$directory/../dev-saved" && mount -t tmpfs -o mode=0755 tmpfs /dev &&
	for name in null zero full random urandom tty; do
		touch "/dev/$name" && mount --bind "$directory/../dev-saved/$name" "/dev/$name" || exit 1
	done &&
	mkdir /dev/shm && mount --rbind "$directory/../dev-saved/shm" /dev/shm &&
	ln -s /run/systemd/journal/dev-log /dev/log'
syslog_checked=false
if unshare --mount --propagation private sh -c "directory='$journal_directory'; $replace_dev" 2>"$work/dev.err"; then
	syslog_checked=true
else
	replace_dev=true
	echo "note: no /dev of the test's own ($(cat "$work/dev.err")): syslog is not watched"
fi

# in_journal_namespace ARGS...: exec ARGS (replacing the shell: run it in a subshell) with
# the listener's directory as /run/systemd/journal (and /dev/log leading to its dev-log)
in_journal_namespace() {
	exec unshare --mount --propagation private sh -c '
		directory="$1"; shift
		'"$replace_dev"' || exit 1
		target=/run/systemd; [ -d "$target" ] || target=/run
		mount -t tmpfs -o mode=0755 tmpfs "$target" && mkdir -p /run/systemd/journal &&
			mount --bind "$directory" /run/systemd/journal && exec "$@"' sh "$journal_directory" "$@"
}

# wait_entry FIELD=VALUE SECONDS: wait until an entry with that field has arrived
wait_entry() {
	local deadline=$((SECONDS + $2))
	until python3 -c '
import json, sys
name, value = sys.argv[2].split("=", 1)
sys.exit(0 if any(json.loads(line).get(name) == value for line in open(sys.argv[1])) else 1)
' "$entries" "$1"; do
		[ "$SECONDS" -lt "$deadline" ] || fail "no journal entry with $1 within $2 s"
		sleep 0.05
	done
}

cd "$work"
write_pipeline() { # write_pipeline WINDOW [EXTRA_KEY_LINE]
	cat <<YAML
version: 1
kernels:
  rx:
    type: source
    synthetic: {sources: 20, rate_pps: 20000}
  count:
    type: per_src_counter
    input: rx
    window: $1
$([ -z "${2:-}" ] || echo "    $2")
  out:
    type: sink
    input: count
    path: "$work/records.jsonl"
YAML
}
cat >settings.yaml <<YAML
log_level: debug
control_socket: off
metrics: off
pipelines: [pipeline.yaml]
YAML
write_pipeline 100ms >pipeline.yaml
write_pipeline 1s 'windw: 1s' >bad.yaml
# the error lines as --check prints them on plain stderr: the journal must get the same text
"$jetstreamd" --check -p bad.yaml 2>expected_errors.txt && fail "--check accepted bad.yaml"
sed -i "s|^bad.yaml:|pipeline.yaml:|" expected_errors.txt # as the settings name it
grep -q ':[0-9]*:[0-9]*: error: ' expected_errors.txt || fail "no file:line:col error from --check: $(cat expected_errors.txt)"

echo "checks: start, reload, refused reload and stop under a journal stream -> native entries"
start_notify_listener
: >stderr
JOURNAL_STREAM="$(stat -c '%d:%i' stderr)" in_journal_namespace "$jetstreamd" -c settings.yaml 2>stderr &
running_pid=$!
wait_ready 20
wait_entry "MESSAGE_ID=a806f5e1941c44faa9575c1397220dfe" 10
write_pipeline 200ms | replace_file pipeline.yaml
kill -HUP "$running_pid"
wait_notify READY=1 2 20
wait_entry "MESSAGE_ID=514f766f1e094a20a2d4c94591925c94" 10
replace_file pipeline.yaml <bad.yaml
kill -HUP "$running_pid"
wait_notify READY=1 3 20
wait_entry "MESSAGE_ID=0f78a901f1dd449e860fcd89bbe9974c" 10
kill -TERM "$running_pid"
wait_exit 30
[ "$exit_status" -eq 0 ] || { cat stderr; fail "exit status $exit_status after SIGTERM, expected 0"; }
wait_entry "MESSAGE_ID=df341bdb49264123a576196828305b29" 5
sleep 0.2 # the listener writes what is still queued on its socket

python3 - "$entries" stderr expected_errors.txt "$syslog_entries" "$syslog_checked" <<'PYTHON'
import json, re, sys
from collections import Counter

entries = [json.loads(line) for line in open(sys.argv[1])]
stderr_lines = open(sys.argv[2]).read().splitlines()
expected_errors = open(sys.argv[3]).read().splitlines()
syslog_entries = open(sys.argv[4]).read().splitlines()
syslog_checked = sys.argv[5] == "true"

def fail(message):
    print("FAIL: " + message)
    for entry in entries:
        print("    " + json.dumps(entry, sort_keys=True))
    sys.exit(1)

def one(message_id, what, priority, generation, message_pattern):
    found = [e for e in entries if e.get("MESSAGE_ID") == message_id]
    if len(found) != 1:
        fail(f"{len(found)} '{what}' entries (MESSAGE_ID={message_id}), expected 1")
    entry = found[0]
    wanted = {"PRIORITY": priority, "GENERATION": generation, "SYSLOG_IDENTIFIER": "jetstreamd"}
    for name, value in wanted.items():
        if entry.get(name) != value:
            fail(f"'{what}' has {name}={entry.get(name)}, expected {value}")
    if not re.fullmatch(message_pattern, entry["MESSAGE"]):
        fail(f"'{what}' says {entry['MESSAGE']!r}")
    print(f"  ok: {what}: MESSAGE_ID={message_id} PRIORITY={priority} GENERATION={generation}: {entry['MESSAGE']}")

one("a806f5e1941c44faa9575c1397220dfe", "started", "6", "1", r"generation 1: 3 kernels .*")
one("514f766f1e094a20a2d4c94591925c94", "reloaded", "6", "2", r"reload: generation 2 running: .*changed count.*")
one("0f78a901f1dd449e860fcd89bbe9974c", "reload failed", "3", "2", r"reload failed: keeping generation 2")
one("df341bdb49264123a576196828305b29", "stopping", "6", "2", r"Terminated: stopping sources, draining the graph")

for line in expected_errors:
    found = [e for e in entries if e["MESSAGE"] == line]
    if len(found) != 1 or found[0]["PRIORITY"] != "3" or found[0].get("GENERATION") != "2":
        fail(f"the error line {line!r} reached the journal as {found}, expected once at PRIORITY=3 GENERATION=2")
    print(f"  ok: PRIORITY=3 GENERATION=2: {line}")

for entry in entries:
    if entry.get("PRIORITY") not in ("3", "4", "6", "7") or entry.get("SYSLOG_IDENTIFIER") != "jetstreamd":
        fail(f"an entry without a PRIORITY of err, warning, info or debug: {entry}")
print(f"  ok: all {len(entries)} entries have PRIORITY 3, 4, 6 or 7 and SYSLOG_IDENTIFIER=jetstreamd")

if syslog_checked:
    if syslog_entries:
        fail(f"{len(syslog_entries)} messages went to syslog (/dev/log) too: {syslog_entries[:3]}")
    print("  ok: nothing was written to syslog (/dev/log)")
else:
    print("  note: syslog (/dev/log) not watched")
eal = Counter(e["MESSAGE"] for e in entries if e["MESSAGE"].startswith("EAL: "))
if not any(m.startswith("EAL: Detected CPU lcores: ") for m in eal):
    fail("no 'EAL: Detected CPU lcores' line reached the journal")
twice = [m for m, n in eal.items() if n > 1]
if twice:
    fail(f"EAL lines that arrived more than once: {twice}")
eal_priorities = {e["PRIORITY"] for e in entries if e["MESSAGE"].startswith("EAL: Detected CPU lcores")}
if eal_priorities != {"6"}:
    fail(f"'EAL: Detected CPU lcores' at PRIORITY {eal_priorities}, expected 6 (RTE_LOG INFO)")
print(f"  ok: {len(eal)} EAL lines, each once, at their level (Detected CPU lcores: PRIORITY=6)")

logged = [l for l in stderr_lines if re.match(r"(EAL: |jetstreamd: (error|warning|info|debug): |.*: error: )", l)]
if logged:
    fail(f"log lines also on stderr (the journal stream would record them twice): {logged[:5]}")
if not any(l.startswith("jetstreamd: summary (generation 2)") for l in stderr_lines):
    fail("no exit summary on stderr")
print("  ok: stderr holds the exit summary and no log line")
PYTHON

echo "checks: JOURNAL_STREAM naming another file -> plain lines on stderr, nothing to the journal"
lines_before=$(wc -l <"$entries")
: >other
cat >finite.yaml <<YAML
version: 1
kernels:
  rx:
    type: source
    synthetic: {packets: 5000, sources: 20}
  count:
    type: per_src_counter
    input: rx
    window: total
  out:
    type: sink
    input: count
    path: "$work/finite.jsonl"
YAML
(JOURNAL_STREAM="$(stat -c '%d:%i' other)" in_journal_namespace "$jetstreamd" -p finite.yaml) 2>plain.stderr ||
	{ cat plain.stderr; fail "the finite run failed"; }
check_accounting plain.stderr
grep -q '^jetstreamd: info: generation 1: 3 kernels' plain.stderr ||
	{ cat plain.stderr; fail "no plain 'jetstreamd: info: generation 1' line on stderr"; }
! grep -q '^<[0-9]>' plain.stderr || fail "a <N> priority prefix on a stderr that is not the journal"
sleep 0.2
[ "$(wc -l <"$entries")" -eq "$lines_before" ] || fail "entries reached the journal socket for a plain stderr"
echo "  ok: plain 'jetstreamd: info: ...' lines, no priority prefix, no journal entry"
echo "checks: a kernel's error (a sink writing to /dev/full) -> PRIORITY=3 with KERNEL= its name"
: >stderr
sed -e 's|path: ".*"|path: /dev/full\n    retry: 0s|' finite.yaml >full.yaml
status=0
(JOURNAL_STREAM="$(stat -c '%d:%i' stderr)" in_journal_namespace "$jetstreamd" -p full.yaml) 2>stderr || status=$?
[ "$status" -eq 1 ] || { cat stderr; fail "exit status $status with a sink that cannot write, expected 1"; }
wait_entry "KERNEL=out" 5
python3 - "$entries" <<'PYTHON'
import json, sys
about_out = [e for e in map(json.loads, open(sys.argv[1])) if e["MESSAGE"].startswith("kernel 'out'")]
wanted = {
    "kernel 'out' (replica 0): write failed: No space left on device; 20 records not written (dropped_records)",
    "kernel 'out': cannot write to /dev/full: No space left on device; its records are counted as dropped_records",
}
for entry in about_out:
    if entry.get("KERNEL") != "out":
        sys.exit(f"FAIL: a line about kernel 'out' without KERNEL=out: {entry}")
for message in wanted:
    found = [e for e in about_out if e["MESSAGE"] == message]
    if len(found) != 1 or found[0]["PRIORITY"] != "3" or found[0].get("GENERATION") != "1":
        sys.exit(f"FAIL: {found}, expected once at PRIORITY=3 GENERATION=1: {message}")
    print(f"  ok: KERNEL=out PRIORITY=3 GENERATION=1: {message}")
print(f"  ok: all {len(about_out)} lines about kernel 'out' carry KERNEL=out")
PYTHON
echo "checks: 20 alerts in a moment -> 10 at PRIORITY=4 with MESSAGE_ID and KERNEL=alarm, the rest counted"
: >stderr
lines_before=$(wc -l <"$entries")
{
	sed -e '/^  out:/,$d' finite.yaml
	pipeline_threshold alarm count pkts 0
	sed -n -e '/^  out:/,$p' finite.yaml | sed -e 's/input: count/input: alarm/' -e 's/finite.jsonl/alerts.jsonl/'
} >alerts.yaml
(JOURNAL_STREAM="$(stat -c '%d:%i' stderr)" in_journal_namespace "$jetstreamd" -p alerts.yaml) 2>stderr ||
	{ cat stderr; fail "the run with alerts failed"; }
[ "$(grep -c '^{"type":"alert","kernel":"alarm"' alerts.jsonl)" -eq 20 ] || fail "not 20 alert records in alerts.jsonl"
sleep 0.2
tail -n +"$((lines_before + 1))" "$entries" >alert_entries.jsonl
python3 - alert_entries.jsonl <<'PYTHON'
import json, re, sys
entries = [json.loads(line) for line in open(sys.argv[1])]
alerts = [e for e in entries if e.get("MESSAGE_ID") == "e4a0e28d440d48bd8f0c911fdb048237"]
for entry in alerts:
    if entry["PRIORITY"] != "4" or entry.get("KERNEL") != "alarm" or \
            not entry["MESSAGE"].startswith('alert: {"type":"alert","kernel":"alarm","src":'):
        sys.exit(f"FAIL: an alert entry: {entry}")
left_out = sum(int(m.group(1)) for e in entries
               if (m := re.fullmatch(r"(\d+) alerts were not logged \(at most 10 a second per sink; all are in the sink's file\)", e["MESSAGE"])))
if len(alerts) < 10 or len(alerts) + left_out != 20:
    sys.exit(f"FAIL: {len(alerts)} alert entries and {left_out} said left out, expected at least 10 making 20")
print(f"  ok: {len(alerts)} alerts at PRIORITY=4 with KERNEL=alarm and MESSAGE_ID, {left_out} counted as not logged")
PYTHON
echo "ok: journald gets every line once with its priority, generation and message id"
