#!/usr/bin/env bash
# Row 1: offline per-source counting of one generated multi-million-packet trace.
#   (a) jetstreamd: pcap -> per_src_counter(window: total) -> sink (a jsonl file)
#   (b) nfpcapd -r (nfdump): the same file into nfcapd flow files
#   (c) build/reference_counter: mmap + open addressing, the single-core ceiling
# Each is run once untimed (warm page cache), then timed RUNS times (nfpcapd,
# the slowest, SLOW_RUNS times); the median wall time gives Mpps. jetstreamd's
# and the reference's per-source totals must equal the generator's oracle.
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
. "$(dirname "$0")/lib.sh"
cd "$repo_root"

runs="${RUNS:-5}"
slow_runs="${SLOW_RUNS:-3}"
trace=build/bench/bench.pcap
oracle="$trace.src.tsv"
gen_args=(--packets 3000000 --sources 100000 --zipf 1.0 --duration 60 --output "$trace" --oracle)
gen_command="python3 scripts/gen_trace.py ${gen_args[*]}"
mkdir -p build/bench

# The trace is generated once and kept; a change of the arguments makes a new one.
if [ ! -s "$trace" ] || [ ! -s "$oracle" ] || [ "$(cat "$trace.args" 2>/dev/null)" != "$gen_command" ]; then
	echo "offline: generating $trace (once; about a minute)"
	rm -f "$trace" "$oracle" "$trace.args"
	python3 scripts/gen_trace.py "${gen_args[@]}"
	echo "$gen_command" >"$trace.args"
fi
packets=$(build/reference_counter "$trace" /dev/null 2>&1 | sed -n 's/^reference_counter: \([0-9]*\) frames.*/\1/p')
[ -n "$packets" ] || die "cannot count the frames of $trace"
trace_bytes=$(stat -c %s "$trace")
echo "offline: $trace: $packets frames, $((trace_bytes / 1000000)) MB, $(wc -l <"$oracle") sources"

pipeline=build/bench/offline.yaml
records=build/bench/offline.jsonl
counter_pipeline "$pipeline" 1a "pcap: $trace" "$records"

run_jetstreamd() {
	rm -f "$records"
	build/jetstreamd -p "$pipeline" 2>build/bench/offline.stderr >/dev/null ||
		die "jetstreamd failed: $(cat build/bench/offline.stderr)"
}

check_jetstreamd() {
	python3 scripts/bench/jsonl_to_tsv.py "$records" >build/bench/offline.tsv
	cmp -s build/bench/offline.tsv "$oracle" ||
		die "jetstreamd's per-source totals differ from $oracle (see build/bench/offline.tsv)"
}

check_reference() {
	cmp -s build/bench/reference.tsv "$oracle" ||
		die "reference_counter's output differs from $oracle (see build/bench/reference.tsv)"
}

nfdir=build/bench/nfpcapd
run_nfpcapd() {
	rm -rf "$nfdir"
	mkdir -p "$nfdir"
	nfpcapd -r "$trace" -w "$nfdir" >build/bench/nfpcapd.log 2>&1 ||
		die "nfpcapd failed: $(tail -5 build/bench/nfpcapd.log)"
}

# time_runs COUNT FUNCTION: prints the wall seconds of each run, one per line.
time_runs() {
	local count="$1" function="$2" start end
	for ((i = 0; i < count; i++)); do
		start=$(now_ns)
		"$function"
		end=$(now_ns)
		elapsed_s "$start" "$end"
		echo
	done
}

echo "offline: warm-up runs (page cache), with the correctness checks"
run_jetstreamd
check_jetstreamd
build/reference_counter "$trace" build/bench/reference.tsv 2>/dev/null
check_reference
run_nfpcapd
grep -q "Processed: $packets" build/bench/nfpcapd.log ||
	die "nfpcapd did not process $packets packets: $(grep Processed build/bench/nfpcapd.log)"

run_reference() {
	build/reference_counter "$trace" build/bench/reference.tsv 2>/dev/null
}

echo "offline: timing jetstreamd ($runs runs)"
mapfile -t j_times < <(time_runs "$runs" run_jetstreamd)
check_jetstreamd # the last timed run's output too
j_inner=$(sed -n 's/^jetstreamd: [0-9]* packets in \([0-9.]*\) s.*/\1/p' build/bench/offline.stderr)
echo "offline: timing reference_counter ($runs runs)"
mapfile -t r_times < <(time_runs "$runs" run_reference)
check_reference
echo "offline: timing nfpcapd ($slow_runs runs)"
mapfile -t n_times < <(time_runs "$slow_runs" run_nfpcapd)

j_median=$(median "${j_times[@]}")
r_median=$(median "${r_times[@]}")
n_median=$(median "${n_times[@]}")
j_mpps=$(mpps "$packets" "$j_median")
r_mpps=$(mpps "$packets" "$r_median")
n_mpps=$(mpps "$packets" "$n_median")
sources=$(wc -l <"$oracle")
mbytes=$((trace_bytes / 1000000))

record offline "1a jetstreamd pcap -> per_src_counter(total) -> sink" "$j_mpps Mpps ($j_median s wall)" "$runs" \
	"$packets frames, $mbytes MB, $sources sources; per-source totals = oracle; wall s per run: $(joined "${j_times[@]}"); daemon's own summary (last run): $j_inner s" \
	"rm -f $records; build/jetstreamd -p $pipeline"
record offline "1b nfpcapd -r (nfdump $(dpkg-query -W -f='${Version}' nfdump 2>/dev/null))" "$n_mpps Mpps ($n_median s wall)" "$slow_runs" \
	"flows to nfcapd files; wall s per run: $(joined "${n_times[@]}")" \
	"rm -rf $nfdir; mkdir -p $nfdir; nfpcapd -r $trace -w $nfdir"
record offline "1c reference_counter (mmap + open addressing, 1 thread)" "$r_mpps Mpps ($r_median s wall)" "$runs" \
	"output = oracle; wall s per run: $(joined "${r_times[@]}")" \
	"build/reference_counter $trace build/bench/reference.tsv"
record offline "1 ratio jetstreamd / nfpcapd" "$(ratio "$j_mpps" "$n_mpps")x" "-" "target >= 5x" "-"
record offline "1 ratio jetstreamd / reference_counter" "$(ratio "$j_mpps" "$r_mpps")x" "-" "target >= 0.5x" "-"
echo "$gen_command" >build/bench/trace_command
