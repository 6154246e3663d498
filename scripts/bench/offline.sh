#!/usr/bin/env bash
# Row 1: offline per-source counting of generated multi-million-packet traces,
# once with a mix of frame sizes (about 710 B per frame: partly a memory-bandwidth
# row) and once with 64-byte frames (a packet-rate row):
#   jetstreamd: pcap -> per_src_counter(window: total) -> sink (a jsonl file),
#     streaming from the file, and with `preload: true` (the file read into
#     memory first, then processed; both inside the timed wall time)
#   nfpcapd -r (nfdump): the same file into nfcapd flow files
#   build/reference_counter: mmap + open addressing, the single-core ceiling
# Each is run once untimed (warm page cache), then timed RUNS times (nfpcapd,
# the slowest, SLOW_RUNS times); the median wall time gives Mpps. jetstreamd's
# and the reference's per-source totals must equal the generator's oracle.
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
. "$(dirname "$0")/lib.sh"
cd "$repo_root"

runs="${RUNS:-5}"
slow_runs="${SLOW_RUNS:-3}"
mkdir -p build/bench

# time_runs COUNT FUNCTION ARGS...: prints the wall seconds of each run, one per line.
time_runs() {
	local count="$1" start end
	shift
	for ((i = 0; i < count; i++)); do
		start=$(now_ns)
		"$@"
		end=$(now_ns)
		elapsed_s "$start" "$end"
		echo
	done
}

# The trace is generated once and kept; a change of the arguments makes a new one.
make_trace() {
	local trace="$1" command
	shift
	command="python3 scripts/gen_trace.py $* --output $trace --oracle"
	if [ ! -s "$trace" ] || [ ! -s "$trace.src.tsv" ] || [ "$(cat "$trace.args" 2>/dev/null)" != "$command" ]; then
		echo "offline: generating $trace (once; about a minute)"
		rm -f "$trace" "$trace.src.tsv" "$trace.args"
		python3 scripts/gen_trace.py "$@" --output "$trace" --oracle
		echo "$command" >"$trace.args"
	fi
	echo "$command" >>build/bench/trace_command
}

run_jetstreamd() {
	local pipeline="$1" records="$2" log="$3"
	rm -f "$records"
	build/jetstreamd -p "$pipeline" 2>"$log" >/dev/null || die "jetstreamd failed: $(cat "$log")"
}

check_equal() {
	cmp -s "$1" "$2" || die "$3: per-source totals differ from $2 (see $1)"
}

run_reference() {
	build/reference_counter "$1" "$2" 2>/dev/null
}

run_nfpcapd() {
	local trace="$1" directory="$2"
	rm -rf "$directory"
	mkdir -p "$directory"
	nfpcapd -r "$trace" -w "$directory" >"$directory.log" 2>&1 || die "nfpcapd failed: $(tail -5 "$directory.log")"
}

# offline_rows TAG L1 L2 L3 L4 GEN_ARGS...: the rows of one trace, labelled L1..L4.
offline_rows() {
	local tag="$1" l1="$2" l2="$3" l3="$4" l4="$5" trace="build/bench/bench_$1.pcap"
	shift 5
	make_trace "$trace" "$@"
	local oracle="$trace.src.tsv" packets trace_bytes
	packets=$(build/reference_counter "$trace" /dev/null 2>&1 | sed -n 's/^reference_counter: \([0-9]*\) frames.*/\1/p')
	[ -n "$packets" ] || die "cannot count the frames of $trace"
	trace_bytes=$(stat -c %s "$trace")
	echo "offline: $trace: $packets frames, $((trace_bytes / 1000000)) MB, $(wc -l <"$oracle") sources"

	local stream="build/bench/offline_$tag.yaml" preload="build/bench/offline_${tag}_preload.yaml"
	local records="build/bench/offline_$tag.jsonl" log="build/bench/offline_$tag.stderr"
	local tsv="build/bench/offline_$tag.tsv" reference="build/bench/reference_$tag.tsv"
	local nfdir="build/bench/nfpcapd_$tag"
	counter_pipeline "$stream" "1 ($tag)" "pcap: $trace" "$records"
	counter_pipeline "$preload" "1 ($tag, preload)" "pcap: $trace
    preload: true" "$records"

	echo "offline ($tag): warm-up runs (page cache), with the correctness checks"
	run_jetstreamd "$stream" "$records" "$log"
	python3 scripts/bench/jsonl_to_tsv.py "$records" >"$tsv"
	check_equal "$tsv" "$oracle" jetstreamd
	run_jetstreamd "$preload" "$records" "$log"
	python3 scripts/bench/jsonl_to_tsv.py "$records" >"$tsv"
	check_equal "$tsv" "$oracle" "jetstreamd (preload)"
	run_reference "$trace" "$reference"
	check_equal "$reference" "$oracle" reference_counter
	run_nfpcapd "$trace" "$nfdir"
	grep -q "Processed: $packets" "$nfdir.log" ||
		die "nfpcapd did not process $packets packets: $(grep Processed "$nfdir.log")"

	local j_times p_times r_times n_times
	echo "offline ($tag): timing jetstreamd, streaming and preloaded ($runs runs each)"
	mapfile -t j_times < <(time_runs "$runs" run_jetstreamd "$stream" "$records" "$log")
	mapfile -t p_times < <(time_runs "$runs" run_jetstreamd "$preload" "$records" "$log")
	python3 scripts/bench/jsonl_to_tsv.py "$records" >"$tsv"
	check_equal "$tsv" "$oracle" "jetstreamd (preload, last timed run)"
	echo "offline ($tag): timing reference_counter ($runs runs)"
	mapfile -t r_times < <(time_runs "$runs" run_reference "$trace" "$reference")
	check_equal "$reference" "$oracle" reference_counter
	echo "offline ($tag): timing nfpcapd ($slow_runs runs)"
	mapfile -t n_times < <(time_runs "$slow_runs" run_nfpcapd "$trace" "$nfdir")

	local j_median p_median r_median n_median j_mpps p_mpps r_mpps n_mpps sources mbytes
	j_median=$(median "${j_times[@]}")
	p_median=$(median "${p_times[@]}")
	r_median=$(median "${r_times[@]}")
	n_median=$(median "${n_times[@]}")
	j_mpps=$(mpps "$packets" "$j_median")
	p_mpps=$(mpps "$packets" "$p_median")
	r_mpps=$(mpps "$packets" "$r_median")
	n_mpps=$(mpps "$packets" "$n_median")
	sources=$(wc -l <"$oracle")
	mbytes=$((trace_bytes / 1000000))
	record offline "$l1 ($tag) jetstreamd pcap -> per_src_counter(total) -> sink" "$j_mpps Mpps ($j_median s wall)" "$runs" \
		"$packets frames, $mbytes MB, $sources sources; per-source totals = oracle; wall s per run: $(joined "${j_times[@]}")" \
		"rm -f $records; build/jetstreamd -p $stream"
	record offline "$l2 ($tag) the same with preload: true" "$p_mpps Mpps ($p_median s wall)" "$runs" \
		"the file read into memory, then processed (both timed); totals = oracle; wall s per run: $(joined "${p_times[@]}")" \
		"rm -f $records; build/jetstreamd -p $preload"
	record offline "$l3 ($tag) nfpcapd -r (nfdump $(dpkg-query -W -f='${Version}' nfdump 2>/dev/null))" "$n_mpps Mpps ($n_median s wall)" "$slow_runs" \
		"flows to nfcapd files; wall s per run: $(joined "${n_times[@]}")" \
		"rm -rf $nfdir; mkdir -p $nfdir; nfpcapd -r $trace -w $nfdir"
	record offline "$l4 ($tag) reference_counter (mmap + open addressing, 1 thread)" "$r_mpps Mpps ($r_median s wall)" "$runs" \
		"output = oracle; wall s per run: $(joined "${r_times[@]}")" \
		"build/reference_counter $trace $reference"
	record offline "1 ($tag) ratio jetstreamd / nfpcapd" "$(ratio "$j_mpps" "$n_mpps")x (preload $(ratio "$p_mpps" "$n_mpps")x)" "-" "target >= 5x" "-"
	record offline "1 ($tag) ratio jetstreamd / reference_counter" "$(ratio "$j_mpps" "$r_mpps")x (preload $(ratio "$p_mpps" "$r_mpps")x)" "-" "target >= 0.5x" "-"
}

: >build/bench/trace_command
offline_rows mixed 1a 1b 1c 1d --packets 3000000 --sources 100000 --zipf 1.0 --duration 60
offline_rows 64B 1e 1f 1g 1h --packets 5000000 --sources 100000 --zipf 1.0 --duration 60 --size 64
