#!/usr/bin/env bash
# Row 1: offline per-source counting of generated multi-million-packet traces,
# once with a mix of frame sizes (about 710 B per frame: partly a memory-bandwidth
# row), once with 64-byte frames (a packet-rate row) and once shaped like a
# monitoring capture (snap96: 64-664-byte frames cut to 96 bytes in the file,
# orig_len the whole frame, Zipf 1.1 over 100 k sources, 10 % of them IPv6):
#   jetstreamd: pcap -> per_src_counter(window: total) -> sink (a jsonl file),
#     streaming from the file, and with `preload: true` (the file read into
#     memory first, then processed; both inside the timed wall time)
#   nfpcapd -r (nfdump): the same file into nfcapd flow files
#   build/reference_counter: mmap + open addressing, the single-core ceiling
# Each is run once untimed (warm page cache), then timed RUNS times (nfpcapd,
# the slowest, SLOW_RUNS times); the median wall time gives Mpps, the notes the
# fastest and slowest run. jetstreamd's and the reference's per-source totals
# must equal the generator's oracle, which counts orig_len bytes.
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

# verdict RATIO TARGET: "met" when RATIO >= TARGET, else "NOT met".
verdict() {
	awk -v r="$1" -v t="$2" 'BEGIN { print (r != "-" && r + 0 >= t + 0) ? "met" : "NOT met" }'
}

# offline_rows TAG L1 L2 L3 L4 NFPCAPD_TARGET REFERENCE_TARGET GEN_ARGS...: the rows of one
# trace, labelled L1..L4, and the two ratios against their targets (x, as in the issue).
offline_rows() {
	local tag="$1" l1="$2" l2="$3" l3="$4" l4="$5" nfpcapd_target="$6" reference_target="$7"
	local trace="build/bench/bench_$1.pcap"
	shift 7
	make_trace "$trace" "$@"
	local oracle="$trace.src.tsv" packets trace_bytes
	packets=$(build/reference_counter "$trace" /dev/null 2>&1 | sed -n 's/^reference_counter: \([0-9]*\) frames.*/\1/p')
	[ -n "$packets" ] || die "cannot count the frames of $trace"
	trace_bytes=$(stat -c %s "$trace")
	echo "offline: $trace: $packets frames, $((trace_bytes / 1000000)) MB, $(wc -l <"$oracle") sources"
	local wire_bytes ipv6_share shape=""
	wire_bytes=$(awk -F'\t' '{ sum += $3 } END { printf "%.0f", sum }' "$oracle")
	ipv6_share=$(awk -F'\t' '{ all += $2; if ($1 ~ /:/) v6 += $2 } END { printf "%.1f", 100 * v6 / all }' "$oracle")
	local snaplen
	snaplen=$(printf '%s\n' "$@" | sed -n '/^--snaplen$/{n;p}')
	if [ -n "$snaplen" ]; then
		# a cut trace: the oracle's bytes (orig_len) must be more than the file holds, or the
		# trace was not cut and the row would not measure what it says
		[ "$wire_bytes" -gt "$trace_bytes" ] ||
			die "$trace: the oracle counts $wire_bytes bytes, no more than the file's $trace_bytes: not a snapped trace"
		shape="; $((wire_bytes / 1000000)) MB on the wire (orig_len), the file holds at most the first $snaplen B of each"
	fi
	shape="$shape; IPv6 $ipv6_share % of the IP frames"

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
	local j_range p_range r_range n_range
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
	j_range=$(mpps_range "$packets" "${j_times[@]}")
	p_range=$(mpps_range "$packets" "${p_times[@]}")
	r_range=$(mpps_range "$packets" "${r_times[@]}")
	n_range=$(mpps_range "$packets" "${n_times[@]}")
	local nfpcapd_ratio reference_ratio worst_nfpcapd worst_reference
	nfpcapd_ratio=$(ratio "$j_mpps" "$n_mpps")
	reference_ratio=$(ratio "$j_mpps" "$r_mpps")
	# the worst case: jetstreamd's slowest run against the peer's fastest
	worst_nfpcapd=$(ratio "$(min_seconds "${n_times[@]}")" "$(max_seconds "${j_times[@]}")")
	worst_reference=$(ratio "$(min_seconds "${r_times[@]}")" "$(max_seconds "${j_times[@]}")")
	record offline "$l1 ($tag) jetstreamd pcap -> per_src_counter(total) -> sink" "$j_mpps Mpps ($j_median s wall)" "$runs" \
		"$packets frames, $mbytes MB, $sources sources$shape; per-source totals = oracle; Mpps min-max $j_range; wall s per run: $(joined "${j_times[@]}")" \
		"rm -f $records; build/jetstreamd -p $stream"
	record offline "$l2 ($tag) the same with preload: true" "$p_mpps Mpps ($p_median s wall)" "$runs" \
		"the file read into memory, then processed (both timed); totals = oracle; Mpps min-max $p_range; wall s per run: $(joined "${p_times[@]}")" \
		"rm -f $records; build/jetstreamd -p $preload"
	record offline "$l3 ($tag) nfpcapd -r (nfdump $(dpkg-query -W -f='${Version}' nfdump 2>/dev/null))" "$n_mpps Mpps ($n_median s wall)" "$slow_runs" \
		"flows to nfcapd files; Mpps min-max $n_range; wall s per run: $(joined "${n_times[@]}")" \
		"rm -rf $nfdir; mkdir -p $nfdir; nfpcapd -r $trace -w $nfdir"
	record offline "$l4 ($tag) reference_counter (mmap + open addressing, 1 thread)" "$r_mpps Mpps ($r_median s wall)" "$runs" \
		"output = oracle; Mpps min-max $r_range; wall s per run: $(joined "${r_times[@]}")" \
		"build/reference_counter $trace $reference"
	record offline "1 ($tag) ratio jetstreamd / nfpcapd" "${nfpcapd_ratio}x (preload $(ratio "$p_mpps" "$n_mpps")x)" "-" \
		"target >= ${nfpcapd_target}x: $(verdict "$nfpcapd_ratio" "$nfpcapd_target"); of medians; jetstreamd's slowest run against nfpcapd's fastest: ${worst_nfpcapd}x" "-"
	record offline "1 ($tag) ratio jetstreamd / reference_counter" "${reference_ratio}x (preload $(ratio "$p_mpps" "$r_mpps")x)" "-" \
		"target >= ${reference_target}x: $(verdict "$reference_ratio" "$reference_target"); of medians; jetstreamd's slowest run against the reference's fastest: ${worst_reference}x" "-"
}

: >build/bench/trace_command
offline_rows mixed 1a 1b 1c 1d 5 0.5 --packets 3000000 --sources 100000 --zipf 1.0 --duration 60
offline_rows 64B 1e 1f 1g 1h 5 0.5 --packets 5000000 --sources 100000 --zipf 1.0 --duration 60 --size 64
# shaped like a monitoring capture (issue target against the reference: 0.7x)
offline_rows snap96 1i 1j 1k 1l 5 0.7 --packets 5000000 --sources 100000 --zipf 1.1 --duration 60 \
	--size-range 64-664 --snaplen 96 --ipv6-share 0.10
