#!/usr/bin/env bash
# A reload after part of the graph has reached the end of its input: the branch
# that finished is started afresh when its source changes (a finished counter
# cannot take new input), while the live branch keeps running untouched.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"

cd "$work"
python3 "$repo_root/scripts/gen_trace.py" --packets 3000 --seed 7 --output short.pcap --oracle
python3 "$repo_root/scripts/gen_trace.py" --packets 3000 --seed 8 --output other.pcap --oracle
python3 "$repo_root/scripts/gen_trace.py" --packets 2000 --seed 9 --output endless.pcap

pipeline() { # pipeline SHORT_FILE
	cat <<EOT
version: 1
kernels:
  rx_short:
    type: source
    pcap: $1
  count_short:
    type: per_src_counter
    input: rx_short
    window: total
  out_short:
    type: sink
    input: count_short
    path: $work/short.jsonl
  rx_live:
    type: source
    pcap: endless.pcap
    loop: forever
    rate_pps: 20000
  count_live:
    type: per_src_counter
    input: rx_live
    window: total
  out_live:
    type: sink
    input: count_live
    path: $work/live.jsonl
EOT
}

echo "checks: the finished branch is replaced on reload and counts its new file exactly"
pipeline short.pcap | replace_file pipeline.yaml
start_notify_listener
"$jetstreamd" -p pipeline.yaml 2>stderr.txt &
running_pid=$!
wait_notify READY=1 1 20
# the short branch has finished once its totals are written
deadline=$((SECONDS + 20))
until [ -s short.jsonl ] && [ "$(records_tool totals short.jsonl | wc -l)" -eq "$(wc -l <short.pcap.src.tsv)" ]; do
	[ "$SECONDS" -lt "$deadline" ] || fail "the short branch did not finish"
	sleep 0.1
done
records_tool totals short.jsonl >first.tsv
diff short.pcap.src.tsv first.tsv || fail "first totals differ from the oracle"
: >short.jsonl

pipeline other.pcap | replace_file pipeline.yaml
kill -HUP "$running_pid"
wait_notify READY=1 2 20
grep -q "replaced rx_short, count_short" stderr.txt ||
	{ cat stderr.txt; fail "the finished branch was not replaced"; }
grep -q "kept .*rx_live, count_live, out_live" stderr.txt ||
	{ cat stderr.txt; fail "the live branch was not kept"; }
deadline=$((SECONDS + 20))
until [ -s short.jsonl ] && [ "$(records_tool totals short.jsonl | wc -l)" -eq "$(wc -l <other.pcap.src.tsv)" ]; do
	[ "$SECONDS" -lt "$deadline" ] || { cat stderr.txt; fail "the new short branch wrote no totals"; }
	sleep 0.1
done
kill -TERM "$running_pid"
wait_exit 20
[ "$exit_status" -eq 0 ] || { cat stderr.txt; fail "exit status $exit_status"; }
records_tool totals short.jsonl >second.tsv
diff other.pcap.src.tsv second.tsv || fail "second totals differ from the new file's oracle"
echo "  ok: first file counted exactly, then the new file counted exactly after the reload"
