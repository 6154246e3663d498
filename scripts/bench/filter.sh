#!/usr/bin/env bash
# Row 9: the filter kernel (tcpdump expressions).
#   9a-c build/filter_bench on a generated trace: ns per packet of three
#        expressions (simple, medium, complex), JIT in bursts of 32, JIT one
#        packet per call, the interpreter (rte_bpf_exec_burst) and libpcap's
#        pcap_offline_filter(), on the same mbufs in one run; medians of RUNS.
#   9d   the daemon: synthetic -> filter(JIT, medium) -> sink(null) against
#        synthetic -> passthrough -> sink(null) on the same traffic, one lcore:
#        Mpps medians of RUNS with min and max, and the ratio of the two.
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
. "$(dirname "$0")/lib.sh"
cd "$repo_root"

runs="${RUNS:-5}"
packets="${SYNTHETIC_PACKETS:-40000000}"
synthetic="synthetic: {packets: $packets, sources: 1024, size: [64, 576, 1500], ipv6_share: 0.2}"
medium="tcp port 443 or udp port 53 or icmp6"
mkdir -p build/bench
trace=build/bench/filter_trace.pcap
python3 scripts/gen_trace.py --packets 16384 --sources 1000 --seed 3 --ipv6-share 0.2 \
	--vlan-share 0.05 --output "$trace" >/dev/null

# 9a-c: one line "LABEL WAY NS MATCHED" per expression and way, per run
for ((run = 1; run <= runs; run++)); do
	build/filter_bench "$trace" >"build/bench/filter_bench.$run.txt" 2>/dev/null ||
		die "filter_bench failed: $(build/filter_bench "$trace" 2>&1 | tail -3)"
	echo "filter: filter_bench run $run/$runs"
done
row_letters=(a b c)
row_index=0
for label in simple medium complex; do
	expression="$(sed -n "s/^expression $label //p" build/bench/filter_bench.1.txt)"
	result=""
	for way in jit_burst jit_single interpreter libpcap; do
		values=()
		for ((run = 1; run <= runs; run++)); do
			values+=("$(awk -v l="$label" -v w="$way" '$1 == l && $2 == w { print $3 }' "build/bench/filter_bench.$run.txt")")
		done
		result+="$way $(two_decimals "$(median "${values[@]}")") ns, "
	done
	record filter "9${row_letters[row_index]} $label expression, ns per packet" "${result%, }" "$runs" \
		"${expression:-see bench/filter_bench.c}; 16384 generated frames in mbufs" "build/filter_bench $trace"
	row_index=$((row_index + 1))
done

filter_pipeline=build/bench/filter_jit.yaml
passthrough=build/bench/filter_passthrough.yaml
passthrough_pipeline "$passthrough" 9d "$synthetic" 1
cat >"$filter_pipeline" <<YAML
# make bench, row 9d: written by scripts/bench; run from the repository root.
version: 1
kernels:
  rx:
    type: source
    $synthetic
    cores: 1
  forward:
    type: filter
    input: rx
    expression: "$medium"
    cores: 1
  out:
    type: sink
    input: forward
    format: null
    cores: 1
YAML

run_one() {
	local result count elapsed
	result=$(run_summary "$1" "$2")
	read -r count elapsed <<<"$result"
	[ "$count" -eq "$packets" ] || die "$1: $count packets, expected $packets"
	mpps "$count" "$elapsed"
}
filter_rates=()
passthrough_rates=()
for ((run = 1; run <= runs; run++)); do
	passthrough_rates+=("$(run_one "$passthrough" build/bench/filter_passthrough.stderr)")
	filter_rates+=("$(run_one "$filter_pipeline" build/bench/filter_jit.stderr)")
	echo "filter: run $run/$runs: passthrough ${passthrough_rates[-1]} Mpps, filter ${filter_rates[-1]} Mpps"
done
grep -q ' jit=1' build/bench/filter_jit.stderr || echo "filter: warning: the JIT did not run" >&2
range() { printf '%s\n' "$@" | sort -g | sed -n '1p;$p' | paste -sd '-' -; }
filter_median=$(two_decimals "$(median "${filter_rates[@]}")")
passthrough_median=$(two_decimals "$(median "${passthrough_rates[@]}")")
record filter "9d synthetic -> passthrough -> sink(null), one lcore" "$passthrough_median Mpps (min-max $(range "${passthrough_rates[@]}"))" "$runs" \
	"per run: $(joined "${passthrough_rates[@]}")" "build/jetstreamd -p $passthrough"
record filter "9d synthetic -> filter(JIT) -> sink(null), one lcore" "$filter_median Mpps (min-max $(range "${filter_rates[@]}"))" "$runs" \
	"expression '$medium'; per run: $(joined "${filter_rates[@]}")" "build/jetstreamd -p $filter_pipeline"
record filter "9d ratio passthrough / filter (target <= 1.2)" "$(ratio "$passthrough_median" "$filter_median")x" "-" \
	"the filter's cost over the framework's own on the same traffic: the JIT's ~11-15 ns per packet (9a-c) against the framework's ~30" "-"
