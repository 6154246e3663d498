#!/usr/bin/env bash
# A trace from scripts/gen_trace.py, checked against the generator's oracle:
# window: total equals the oracle; window: 1s records are aligned to whole
# seconds, one per source and window, and sum to the oracle; the threshold's
# alerts are exactly the windowed records above the limit; the exit summary
# counts every frame of the trace and no drop. A second run appends the same
# records to the same file (offline runs are deterministic).
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"

trace="$work/trace.pcap"
frames=30000
above=250
# 5.5 s from a whole second: six one-second windows, the last one half full
python3 "$repo_root/scripts/gen_trace.py" --packets "$frames" --sources 200 --seed 5 \
	--duration 5.5 --output "$trace" --oracle
echo "trace: $frames frames, $(wc -l <"$trace.src.tsv") IP sources, over 5.5 s"

check_summary() {
	local stderr_file="$1" packets dropped
	packets="$(records_tool summary "$stderr_file" packets)"
	dropped="$(records_tool summary "$stderr_file" dropped)"
	[ "$packets" = "$frames" ] || fail "the summary counts $packets packets, the trace has $frames"
	[ "$dropped" = 0 ] || fail "the summary reports $dropped dropped, expected 0"
	echo "  ok: exit summary: $packets packets, 0 dropped"
}

echo "checks: window: total -> per-source packets and bytes equal the oracle"
write_counter_pipeline "$work/total.yaml" "pcap: \"$trace\"" "window: total" "$work/total.jsonl"
run_ok "$work/total.err" -p "$work/total.yaml"
records_tool totals "$work/total.jsonl" >"$work/total.tsv"
diff -u "$trace.src.tsv" "$work/total.tsv" >"$work/diff" ||
	{ head -n 30 "$work/diff"; fail "window: total differs from the oracle (diff oracle actual above)"; }
echo "  ok: $(wc -l <"$work/total.tsv") sources match the oracle exactly"
check_summary "$work/total.err"

for replicas in 1 2; do
	echo "checks: window: 1s, replicas: $replicas, threshold above $above pkts"
	records="$work/windowed$replicas.jsonl"
	cat >"$work/windowed$replicas.yaml" <<-EOF
		version: 1
		kernels:
		  rx:
		    type: source
		    pcap: "$trace"
		$(pipeline_counter count rx 1s "replicas: $replicas")
		$(pipeline_threshold alarm count pkts "$above")
		  out:
		    type: sink
		    input: [count, alarm]
		    format: jsonl
		    path: "$records"
	EOF
	run_ok "$work/windowed.err" -p "$work/windowed$replicas.yaml"
	windows="$(records_tool windows "$records" 1000000000)" || { echo "$windows"; fail "bad windows"; }
	echo "  ok: $windows"
	[[ "$windows" == *" in 6 windows,"* ]] || fail "expected 6 one-second windows over 5.5 s"
	records_tool totals "$records" >"$work/windowed.tsv"
	diff -u "$trace.src.tsv" "$work/windowed.tsv" >"$work/diff" ||
		{ head -n 30 "$work/diff"; fail "per-source sums over all windows differ from the oracle"; }
	echo "  ok: per-source sums over all windows equal the oracle"
	alerts="$(records_tool alerts "$records" pkts "$above")" || { echo "$alerts"; fail "wrong alerts"; }
	echo "  ok: $alerts"
	[[ "$alerts" != "0 alerts"* ]] || fail "no alert at all: the heavy hitter should trip the threshold"
	grep -q '"type":"alert","kernel":"alarm","src":"203.0.113.66","metric":"pkts"' "$records" ||
		fail "no alert for the heavy hitter 203.0.113.66"
	check_summary "$work/windowed.err"
done

echo "checks: a second run of the window: 1s pipeline appends the very same records"
first_run_lines="$(wc -l <"$work/windowed1.jsonl")"
cp "$work/windowed1.jsonl" "$work/first_run.jsonl"
run_ok "$work/windowed.err" -p "$work/windowed1.yaml"
[ "$(wc -l <"$work/windowed1.jsonl")" -eq $((2 * first_run_lines)) ] ||
	fail "after a second run the file has $(wc -l <"$work/windowed1.jsonl") lines, expected 2 x $first_run_lines"
head -n "$first_run_lines" "$work/windowed1.jsonl" | cmp -s - "$work/first_run.jsonl" ||
	fail "the first run's records changed: the sink must append"
tail -n "$first_run_lines" "$work/windowed1.jsonl" >"$work/second_run.jsonl"
# count and alarm reach the sink through two rings, so only each stream's own order is fixed
for type in src_count alert; do
	cmp -s <(grep "\"type\":\"$type\"" "$work/first_run.jsonl") \
		<(grep "\"type\":\"$type\"" "$work/second_run.jsonl") ||
		fail "the second run wrote different $type records, or in another order"
done
echo "  ok: the file grew from $first_run_lines to $((2 * first_run_lines)) lines; both runs wrote the same records"

echo "ok: the generated trace is counted exactly, per window and in total"
