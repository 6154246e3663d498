#!/usr/bin/env bash
# Row 4: the cost of a ring hand-off between two kernels on different lcores
# against the same two kernels on one lcore.
#   4a synthetic -> passthrough -> sink(null), all three on worker lcore 1;
#   4b the same with the source on lcore 1 and passthrough + sink on lcore 2,
#      so every packet crosses a ring between two CPUs (and its mbuf is freed
#      on the other CPU, back into the pool through the mempool cache).
# The machine has 2 CPUs: lcores are mapped 0@0,1@1,2@0, so lcore 2 shares CPU 0
# with the control thread, which sleeps between its 1 ms ticks.
# Mpps = packets / elapsed of the daemon's exit summary; per-packet cost in ns
# is 1000 / Mpps of the slower stage.
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
. "$(dirname "$0")/lib.sh"
cd "$repo_root"

runs="${RUNS:-5}"
packets="${SYNTHETIC_PACKETS:-40000000}"
synthetic="synthetic: {packets: $packets, sources: 1024, size: 64}"
mkdir -p build/bench
[ "$(nproc)" -ge 2 ] || die "the hand-off row needs 2 CPUs"

conf=build/bench/handoff.conf.yaml
cat >"$conf" <<YAML
# make bench, row 4: three lcores on two CPUs (control 0 and worker 2 share CPU 0).
lcores: "0@0,1@1,2@0"
YAML
same=build/bench/handoff_same.yaml
split=build/bench/handoff_split.yaml
passthrough_pipeline "$same" 4a "$synthetic" 1
passthrough_pipeline "$split" 4b "$synthetic" 2

run_one() {
	local result count elapsed
	result=$(run_summary "$1" "$2" "$conf")
	read -r count elapsed <<<"$result"
	[ "$count" -eq "$packets" ] || die "$1: $count packets, expected $packets"
	mpps "$count" "$elapsed"
}

same_rates=()
split_rates=()
for ((run = 1; run <= runs; run++)); do
	same_rates+=("$(run_one "$same" build/bench/handoff_same.stderr)")
	split_rates+=("$(run_one "$split" build/bench/handoff_split.stderr)")
	echo "handoff: run $run/$runs: same lcore ${same_rates[-1]} Mpps, two lcores ${split_rates[-1]} Mpps"
done
same_median=$(two_decimals "$(median "${same_rates[@]}")")
split_median=$(two_decimals "$(median "${split_rates[@]}")")
ns() { awk -v m="$1" 'BEGIN { printf "%.1f", 1000 / m }'; }

record handoff "4a synthetic -> passthrough -> sink(null), one lcore" "$same_median Mpps ($(ns "$same_median") ns/pkt)" "$runs" \
	"generator + 2 same-core ring hops + free; per run: $(joined "${same_rates[@]}")" \
	"build/jetstreamd -c $conf -p $same"
record handoff "4b same, source on lcore 1, passthrough + sink on lcore 2" "$split_median Mpps ($(ns "$split_median") ns/pkt)" "$runs" \
	"one hop crosses CPUs; the stages run in parallel, so the slower one sets the rate; per run: $(joined "${split_rates[@]}")" \
	"build/jetstreamd -c $conf -p $split"
record handoff "4 ratio two lcores / one lcore" "$(ratio "$split_median" "$same_median")x" "-" \
	"> 1: splitting pays despite the cross-CPU ring; < 1: the hand-off costs more than the work it moves" "-"
