#!/usr/bin/env bash
# The history kernel's time travel on the SYN-flood capture: a `key: dst`
# counter and a threshold trigger a dump of the attacked destination, and the
# pcapng file holds exactly the packets `tcpdump 'dst host X'` selects from the
# trace with times in [T - before, T + after] (T: the alert's end), to the
# nanosecond, with their wire lengths. Then the same with a `memory:` too
# small for the range: the file holds the newest part of it, exactly, and its
# comment and the log say it was cut by memory.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"

trace="$traces/stopddos_pkt.TCP.synflood.spoofed.pcap"
[ -f "$trace" ] || skip "$trace is absent (the shared traces directory holds it)"
command -v tshark >/dev/null || fail "tshark is missing (scripts/deps.sh installs it)"
oracle="$integration_directory/history_oracle.py"
victim=10.10.10.10

cd "$work"

# write_pipeline NAME HISTORY_KEYS...: source -> counter (dst) -> threshold -> history, records to NAME.jsonl
write_pipeline() {
	local name="$1" key
	shift
	mkdir -p "$name.dumps"
	{
		cat <<YAML
version: 1
kernels:
  rx:
    type: source
    pcap: $trace
    rate_pps: 20000
  count:
    type: per_src_counter
    input: rx
    key: dst
    window: 1s
  alarm:
    type: threshold
    input: count
    above: 5000
  cap:
    type: history
    input: rx
    trigger: alarm
    dump_key: dst
    dump_dir: $work/$name.dumps
    dumps_per_minute: 1
YAML
		for key in "$@"; do echo "    $key"; done
		cat <<YAML
  out:
    type: sink
    input: alarm
    format: jsonl
    path: $work/$name.jsonl
YAML
	} >"$name.yaml"
}

# first_alert_end NAME: the first alert's end in ns (the trigger time T)
first_alert_end() {
	python3 -c '
import json, sys
end = str(json.loads(open(sys.argv[1]).readline())["end"])
seconds, _, fraction = end.partition(".")
print(int(seconds) * 10**9 + int(fraction.ljust(9, "0")[:9]))' "$1.jsonl"
}

# the_dump NAME: the one pcapng file of the run (fails unless exactly one, and no .part)
the_dump() {
	local files
	files=("$1.dumps"/*)
	[ "${#files[@]}" -eq 1 ] || fail "$1: expected one dump file, found: ${files[*]}"
	case "${files[0]}" in *.pcapng) ;; *) fail "$1: not a finished dump: ${files[0]}" ;; esac
	echo "${files[0]}"
}

# The flood's first second alerts (T = its end, 10:30:22), and so do 10:30:25 and 10:30:26 (refused:
# dumps_per_minute: 1 keeps each run to one file, whatever the writer thread's timing).
echo "checks: a triggered dump holds exactly tcpdump's 'dst host $victim' packets of [T - 500ms, T + 2s]"
write_pipeline whole "before: 500ms" "after: 2s"
run_ok whole.stderr -p whole.yaml
T=$(first_alert_end whole)
dump=$(the_dump whole)
expected_name="whole.dumps/cap-20210428T103022.000000000Z-dst-$victim.pcapng"
[ "$dump" = "$expected_name" ] || fail "dump named $dump, expected $expected_name"
figures=$(python3 "$oracle" "$trace" "$dump" "$victim" $((T - 500000000)) $((T + 2000000000))) ||
	{ echo "$figures"; fail "the dump differs from the trace"; }
capinfos -k "$dump" | grep -q "outcome: done" || { capinfos -k "$dump"; fail "no 'outcome: done' in the comment"; }
capinfos -k "$dump" | grep -q "trigger: alert record from 'alarm'" || fail "the comment does not name the trigger"
grep -q "kernel 'cap': dump 1 done: $work/$dump" whole.stderr || { cat whole.stderr; fail "no 'dump 1 done' line"; }
grep -q "triggers=3 triggers_dropped=0 triggers_merged=0 triggers_refused=2 dumps=1 dumps_done=1 dumps_cut=0 dumps_failed=0 dumps_short=0" whole.stderr ||
	{ grep "history " whole.stderr; fail "dump figures wrong in the summary"; }
echo "  ok: $figures"

echo "checks: with memory: 512k the dump of [T - 10s, T + 1s] holds the newest part, exactly, and says it was cut by memory"
write_pipeline small "before: 10s" "after: 1s" "memory: 512k"
run_ok small.stderr -p small.yaml
T=$(first_alert_end small)
dump=$(the_dump small)
figures=$(python3 "$oracle" "$trace" "$dump" "$victim" $((T - 10000000000)) $((T + 1000000000)) \
	--held-from-comment) || { echo "$figures"; capinfos -k "$dump"; fail "the cut dump differs from the trace's newest part"; }
capinfos -k "$dump" | grep -q "packets overwritten before written: 0" || fail "packets were overwritten while written"
grep -q "warning: kernel 'cap': dump 1 done: .*cut by memory: the packets held began at" small.stderr ||
	{ cat small.stderr; fail "no warning saying the dump was cut by memory"; }
grep -q "dumps_short=1" small.stderr || fail "dumps_short is not 1"
echo "  ok: $figures"
