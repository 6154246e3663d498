#!/usr/bin/env bash
# Agent mode (`idle: sleep`): workers that find nothing to do sleep between
# rounds; a paced source with gaps still has every packet counted.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"

cd "$work"
python3 "$repo_root/scripts/gen_trace.py" --packets 5000 --seed 3 --output trace.pcap --oracle
printf 'version: 1\nidle: sleep\n' >settings.yaml
write_counter_pipeline pipeline.yaml $'pcap: trace.pcap\nloop: 2\nrate_pps: 20000' "window: total" \
	"$work/records.jsonl"

echo "checks: idle: sleep with a paced source (20,000 pps, gaps between bursts) loses nothing"
run_ok stderr.txt -c settings.yaml -p pipeline.yaml
records_tool totals records.jsonl >counted.tsv
records_tool scale trace.pcap.src.tsv 2 >expected.tsv
diff expected.tsv counted.tsv || fail "per-source totals differ from 2 x the oracle"
[ "$(records_tool summary stderr.txt dropped)" -eq 0 ] || fail "drops reported"
echo "  ok: 10000 packets, per-source totals = 2 x oracle, 0 dropped"

echo "checks: idle: sleep does not slow the end-of-input flush (100,000 records)"
# A worker used to count only the packets a kernel took in, not the records it sent out, so
# a flush sent 32 records per sleep: 100,000 records took 8 s instead of a tenth of one.
write_counter_pipeline flush.yaml "synthetic: {packets: 100000, sources: 100000}" "window: total" \
	"$work/flush.jsonl"
run_ok flush.stderr -c settings.yaml -p flush.yaml
[ "$(wc -l <flush.jsonl)" -eq "$(records_tool summary flush.stderr count.records)" ] ||
	fail "the sink wrote $(wc -l <flush.jsonl) records, the counter emitted $(records_tool summary flush.stderr count.records)"
seconds=$(sed -n 's/^jetstreamd: [0-9]* packets in \([0-9.]*\) s.*/\1/p' flush.stderr)
awk -v s="$seconds" 'BEGIN { exit !(s < 3) }' || fail "the run took $seconds s (a flush throttled by sleeps)"
echo "  ok: $(wc -l <flush.jsonl) records flushed, run took $seconds s"
