#!/usr/bin/env bash
# Helpers shared by the scripts/bench/*.sh benchmarks. Sourced, not run.
#
# Every benchmark appends its rows to "$BENCH_RESULTS", one per line, tab-separated:
#   section  label  result  runs  note  command
# scripts/bench/report.py turns them into the printed table and BENCHMARKS.md.

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
bench_dir="$repo_root/build/bench"
BENCH_RESULTS="${BENCH_RESULTS:-$bench_dir/results.tsv}"
export BENCH_RESULTS

# Nanoseconds on the monotonic-ish wall clock (GNU date).
now_ns() {
	date +%s%N
}

# Seconds (3 decimals) between two now_ns stamps.
elapsed_s() {
	awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", (b - a) / 1e9 }'
}

# The median of the numbers given as arguments (mean of the middle two for an even count).
median() {
	printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END {
		if (NR == 0) exit 1
		if (NR % 2) printf "%.3f\n", v[(NR + 1) / 2]
		else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# The smallest and the largest of the numbers given as arguments.
min_seconds() {
	printf '%s\n' "$@" | sort -g | head -1
}
max_seconds() {
	printf '%s\n' "$@" | sort -g | tail -1
}

# mpps_range PACKETS SECONDS...: "MIN-MAX" Mpps over the runs timed in SECONDS.
mpps_range() {
	local packets="$1"
	shift
	echo "$(mpps "$packets" "$(max_seconds "$@")")-$(mpps "$packets" "$(min_seconds "$@")")"
}

# A number with 2 decimals.
two_decimals() {
	awk -v a="$1" 'BEGIN { printf "%.2f\n", a }'
}

# a / b with 2 decimals ("-" when b is 0).
ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 == 0) print "-"; else printf "%.2f\n", a / b }'
}

# Million packets per second for PACKETS in SECONDS.
mpps() {
	awk -v p="$1" -v s="$2" 'BEGIN { if (s + 0 == 0) print "-"; else printf "%.2f\n", p / s / 1e6 }'
}

# record SECTION LABEL RESULT RUNS NOTE COMMAND
record() {
	printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "$5" "$6" >>"$BENCH_RESULTS"
	printf '  %-58s %s\n' "$2" "$3"
}

# The list of values joined with ", " (for notes: every run's figure).
joined() {
	local IFS=, list
	list="$*"
	echo "${list//,/, }"
}

die() {
	echo "bench: $*" >&2
	exit 1
}

# counter_pipeline FILE ROW SOURCE_KEY RECORDS: write the pipeline the per-source rows run,
# source (SOURCE_KEY, e.g. `pcap: x` or `port: "net_null0"`) -> per_src_counter(total) ->
# sink (RECORDS); ROW names the benchmark row in the file's comment.
counter_pipeline() {
	cat >"$1" <<YAML
# make bench, row $2: written by scripts/bench; run from the repository root.
version: 1
kernels:
  rx:
    type: source
    $3
  count:
    type: per_src_counter
    input: rx
    window: total
  out:
    type: sink
    input: count
    path: $4
YAML
}

# passthrough_pipeline FILE ROW SOURCE_KEY [CORES]: source (SOURCE_KEY) -> passthrough ->
# sink(null), the framework's own cost: no kernel looks at the packets. CORES, when given,
# is the `cores:` of the passthrough and the sink (the source stays on the first worker).
passthrough_pipeline() {
	local source_core="" stage_cores=""
	if [ -n "${4:-}" ]; then
		source_core=$'\n    cores: 1'
		stage_cores=$'\n    cores: '"$4"
	fi
	cat >"$1" <<YAML
# make bench, row $2: written by scripts/bench; run from the repository root.
version: 1
kernels:
  rx:
    type: source
    $3$source_core
  forward:
    type: passthrough
    input: rx$stage_cores
  out:
    type: sink
    input: forward
    format: null$stage_cores
YAML
}

# run_summary PIPELINE LOG [CONF]: run jetstreamd to its end and print "PACKETS SECONDS"
# from its exit summary.
run_summary() {
	local conf=()
	[ -z "${3:-}" ] || conf=(-c "$3")
	build/jetstreamd "${conf[@]}" -p "$1" >/dev/null 2>"$2" || die "jetstreamd -p $1 failed: $(tail -5 "$2")"
	sed -n -E 's/^jetstreamd: ([0-9]+) packets in ([0-9.]+) s.*/\1 \2/p' "$2" | grep . ||
		die "no exit summary in $2: $(tail -5 "$2")"
}
