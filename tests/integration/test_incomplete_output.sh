#!/usr/bin/env bash
# Output that is known to be incomplete is an error, never a silent exit 0:
# a pcap file cut inside a record, and a stdout sink whose reader went away.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"

cd "$work"
python3 "$repo_root/scripts/gen_trace.py" --packets 2000 --output whole.pcap
# Cut the file in the middle of its last record.
head -c "$(($(stat -c %s whole.pcap) - 20))" whole.pcap >cut.pcap

echo "checks: a pcap cut inside a record: exit 1, the read error named, the complete records counted"
write_counter_pipeline cut.yaml "pcap: cut.pcap" "window: total" "$work/cut.jsonl"
status=0
run_jetstreamd cut.stderr -p cut.yaml || status=$?
[ "$status" -eq 1 ] || { cat cut.stderr; fail "exit $status, expected 1"; }
grep -q "error: kernel 'rx' (replica 0): read error: truncated dump file" cut.stderr ||
	{ cat cut.stderr; fail "no read error in stderr"; }
grep -q "^jetstreamd: 1999 packets in" cut.stderr || { cat cut.stderr; fail "expected 1999 packets read"; }
echo "  ok: exit 1, read error reported, 1999 of 2000 packets counted"

echo "checks: the same cut file with preload: true, loop: 3: read once, one pass, same error"
write_counter_pipeline preload.yaml $'pcap: cut.pcap\npreload: true\nloop: 3' "window: total" \
	"$work/preload.jsonl"
status=0
run_jetstreamd preload.stderr -p preload.yaml || status=$?
[ "$status" -eq 1 ] || { cat preload.stderr; fail "exit $status, expected 1"; }
grep -q "error: kernel 'rx' (replica 0): read error: truncated dump file" preload.stderr ||
	{ cat preload.stderr; fail "no read error in stderr"; }
grep -q "^jetstreamd: 1999 packets in" preload.stderr || { cat preload.stderr; fail "expected 1999 packets read"; }
echo "  ok: exit 1, read error reported, the 1999 complete packets replayed once"

echo "checks: a stdout sink piped into 'head -1': no SIGPIPE death; exit 1 with the write error"
write_counter_pipeline pipe.yaml "pcap: whole.pcap" "window: total" "-"
set +o pipefail
"$jetstreamd" -p pipe.yaml 2>pipe.stderr | head -1 >/dev/null
status=${PIPESTATUS[0]}
set -o pipefail
[ "$status" -eq 1 ] || { cat pipe.stderr; fail "exit $status, expected 1"; }
grep -q "error: kernel 'out' (replica 0): .*Broken pipe" pipe.stderr ||
	{ cat pipe.stderr; fail "no broken-pipe error in stderr"; }
grep -q "^jetstreamd: 2000 packets in" pipe.stderr || { cat pipe.stderr; fail "no summary"; }
# said when it happened too, by the sink's writer, before the summary
grep -q "error: kernel 'out': cannot write to standard output: Broken pipe; its records are counted as dropped_records" pipe.stderr ||
	{ cat pipe.stderr; fail "the broken pipe was not logged when it happened"; }
check_accounting pipe.stderr
echo "  ok: exit 1, broken pipe reported when it happened and at exit, summary printed"
