#!/usr/bin/env bash
# Sink format journal: one journal entry per alert record, sent with
# sd_journal_sendv() to the journal's native socket, where the test's
# listener (journal_listener.py) stands in for journald, as in
# test_journal.sh: the daemon runs in a mount namespace of its own with the
# listener's directory bound over /run/systemd/journal. Each entry has
# MESSAGE_ID ee4f99d7bf01487f853b437e5655017a, PRIORITY 4 (warning) at start
# and update and 5 (notice) at the end, MESSAGE the jsonl line, KERNEL the
# sink, and the ALERT_ fields.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source=tests/integration/action_pipeline.sh
source "$integration_directory/action_pipeline.sh"

[ "$(id -u)" -eq 0 ] || skip "needs root: a mount namespace with its own /run/systemd/journal"
command -v unshare >/dev/null || skip "unshare (util-linux) is not installed"
unshare --mount --propagation private true 2>"$work/unshare.err" ||
	skip "cannot make a mount namespace: $(cat "$work/unshare.err")"

cd "$work"
mkdir journal
: >entries.jsonl
python3 "$integration_directory/journal_listener.py" journal/socket entries.jsonl &
at_exit "kill $! 2>/dev/null"
for _ in $(seq 100); do [ -S journal/socket ] && break; sleep 0.05; done
[ -S journal/socket ] || fail "the journal listener did not start"

echo "checks: one entry per alert record, its fields"
write_action_pipeline "format: journal" >journal.yaml
"$jetstreamd" --check -p journal.yaml || fail "--check refused journal.yaml"
# no JOURNAL_STREAM: the daemon's own lines stay on stderr, only the sink writes entries
# shellcheck disable=SC2016 # the script is the inner shell's, its arguments $1 and $2
unshare --mount --propagation private sh -c '
	target=/run/systemd; [ -d "$target" ] || target=/run
	mount -t tmpfs -o mode=0755 tmpfs "$target" && mkdir -p /run/systemd/journal &&
		mount --bind "$1" /run/systemd/journal && exec "$2" -p journal.yaml' sh "$work/journal" "$jetstreamd" \
	2>journal.stderr || { cat journal.stderr; fail "jetstreamd failed"; }
check_accounting journal.stderr
expect_stats journal.stderr records=9 actions_run=9 actions_failed=0 dropped_records=0
for _ in $(seq 50); do [ "$(wc -l <entries.jsonl)" -ge 9 ] && break; sleep 0.05; done
python3 - entries.jsonl alerts.jsonl <<'PYTHON'
import json, sys
entries = [json.loads(line) for line in open(sys.argv[1])]
lines = [line.rstrip("\n") for line in open(sys.argv[2])]
if len(entries) != 9:
    sys.exit(f"FAIL: {len(entries)} entries, expected 9: {entries}")
if sorted(e["MESSAGE"] for e in entries) != sorted(lines):
    sys.exit("FAIL: the MESSAGEs are not the alert lines")
for entry in entries:
    record = json.loads(entry["MESSAGE"])
    wanted = {
        "MESSAGE_ID": "ee4f99d7bf01487f853b437e5655017a",
        "PRIORITY": "5" if record["state"] == "end" else "4",
        "SYSLOG_IDENTIFIER": "jetstreamd", "KERNEL": "act",
        "ALERT_ID": record["alert_id"], "ALERT_STATE": record["state"],
        "ALERT_KEY": record["dst"], "ALERT_DST": record["dst"], "ALERT_GROUP": record["group"],
        "ALERT_KERNEL": "ddos", "ALERT_METRIC": record["metric"],
        "ALERT_VALUE": str(record["value"]), "ALERT_THRESHOLD": str(record["threshold"]),
        "ALERT_PEAK": str(record["peak"]), "ALERT_PKTS": str(record["pkts"]),
        "ALERT_BYTES": str(record["bytes"]),
        "ALERT_START": f'{record["start"]:.9f}', "ALERT_END": f'{record["end"]:.9f}',
        "ALERT_DURATION": f'{record["duration"]:.9f}',
    }
    if "reason" in record:
        wanted["ALERT_REASON"] = record["reason"]
    if "per" in record:
        wanted["ALERT_PER"] = record["per"]
    wanted["MESSAGE"] = entry["MESSAGE"]
    if entry != wanted:
        sys.exit(f"FAIL: an entry\n  {entry}\nexpected\n  {wanted}")
start = [e for e in entries if e["ALERT_KEY"] == "198.51.100.7" and e["ALERT_STATE"] == "start"][0]
expected = {"ALERT_VALUE": "100", "ALERT_THRESHOLD": "50", "ALERT_PEAK": "100", "ALERT_PKTS": "100",
            "ALERT_BYTES": "10000", "ALERT_START": "1700000001.000000000",
            "ALERT_END": "1700000002.000000000", "ALERT_DURATION": "1.000000000",
            "ALERT_GROUP": "customers", "PRIORITY": "4"}
if any(start[name] != value for name, value in expected.items()):
    sys.exit(f"FAIL: 198.51.100.7's start: {start}")
print("  ok: 9 entries, MESSAGE_ID ee4f99d7..., PRIORITY 4 or 5 by state, MESSAGE each alert line, every ALERT_ field, nothing else")
PYTHON
# the jsonl sink logs each alert (README, Logging); the action sink does not log them again
[ "$(grep -c 'warning: alert: {"type":"alert"' journal.stderr)" -eq 9 ] || fail "not 9 alert lines logged"
echo "ok: journal entries for every alert record"
