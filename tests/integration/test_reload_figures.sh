#!/usr/bin/env bash
# The exit summary after reloads that replace or remove kernels still counts
# what the retired instances did: packets read by a replaced source, and a
# removed kernel's line.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"

cd "$work"
python3 "$repo_root/scripts/gen_trace.py" --packets 20000 --output trace.pcap --oracle
cp trace.pcap copy.pcap

pipeline() { # pipeline FILE EXTRA_KERNELS: 20000 frames x 10 at 100000 pps (about 2 s)
	cat <<EOT
version: 1
kernels:
  rx:
    type: source
    pcap: $1
    loop: 10
    rate_pps: 100000
  count:
    type: per_src_counter
    input: rx
    window: total
  out:
    type: sink
    input: count
    path: $work/records.jsonl
$2
EOT
}
extra_threshold="  alarm:
    type: threshold
    input: count
    above: 1000000"

echo "checks: a replaced source and a removed threshold still appear in the exit summary"
pipeline trace.pcap "$extra_threshold" | replace_file pipeline.yaml
start_notify_listener
"$jetstreamd" -p pipeline.yaml 2>stderr.txt &
running_pid=$!
wait_notify READY=1 1 20
sleep 0.5
# a new file under the same name: the source is replaced; the threshold goes away
pipeline copy.pcap "" | replace_file pipeline.yaml
kill -HUP "$running_pid"
wait_notify READY=1 2 20
grep -q "reload: generation 2 running: kept count, out; replaced rx; removed alarm" stderr.txt ||
	{ cat stderr.txt; fail "reload 2 did not replace rx and remove alarm"; }
wait_exit 60
[ "$exit_status" -eq 0 ] || { cat stderr.txt; fail "exit status $exit_status"; }

packets=$(records_tool summary stderr.txt packets)
count_in=$(records_tool summary stderr.txt count.in)
read_by_sources=$(records_tool summary stderr.txt rx.packets)
[ "$packets" -eq "$count_in" ] ||
	{ cat stderr.txt; fail "summary: $packets packets in, but count received $count_in"; }
[ "$read_by_sources" -eq "$packets" ] ||
	{ cat stderr.txt; fail "rx.packets=$read_by_sources, packets in=$packets"; }
[ "$packets" -gt 200000 ] || { cat stderr.txt; fail "only $packets packets: the replaced source's are missing"; }
grep -Eq '^  alarm +threshold +removed +in [0-9]+ ' stderr.txt ||
	{ cat stderr.txt; fail "no 'removed' line for alarm"; }
echo "  ok: $packets packets in = count's input = both sources' reads; alarm listed as removed"
