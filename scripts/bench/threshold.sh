#!/usr/bin/env bash
# Row 13: the threshold kernel's group lookup, once per src_count record.
#   13a  build/threshold_groups_bench: the groups of 10000 prefixes (8000
#        IPv4, nested, 2000 IPv6) built as the kernel's init builds them, ms
#   13b  ns per lookup (2^20 addresses, 8 times): DPDK's RIB for IPv4 and for
#        IPv6, and rte_lpm on the same IPv4 prefixes and addresses, in one run
# Medians of RUNS runs; the bench exits 1 if RIB and rte_lpm disagree on an address.
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
. "$(dirname "$0")/lib.sh"
cd "$repo_root"

runs="${RUNS:-5}"
mkdir -p build/bench
for ((run = 1; run <= runs; run++)); do
	build/threshold_groups_bench >"build/bench/threshold_groups.$run.txt" 2>&1 ||
		die "threshold_groups_bench failed: $(tail -3 "build/bench/threshold_groups.$run.txt")"
	echo "threshold: run $run/$runs: $(paste -sd ' ' "build/bench/threshold_groups.$run.txt")"
done
figure() {
	local values=() run
	for ((run = 1; run <= runs; run++)); do
		values+=("$(awk -v name="$1" '$1 == name { print $2 }' "build/bench/threshold_groups.$run.txt")")
	done
	echo "$(two_decimals "$(median "${values[@]}")") (min-max $(printf '%s\n' "${values[@]}" | sort -g | sed -n '1p;$p' | paste -sd '-' -))"
}
record threshold "13a groups of 10000 prefixes built (threshold init)" "$(figure load_ms) ms" "$runs" \
	"8000 IPv4 (/16 to /32, nested) in two groups, 2000 IPv6 (/48, /64) in a third, and a default group" \
	"build/threshold_groups_bench"
rib_ipv4="$(figure rib_ipv4_ns)"
lpm_ipv4="$(figure lpm_ipv4_ns)"
record threshold "13b lookup per record, IPv4, RIB (what the kernel uses)" "$rib_ipv4 ns" "$runs" \
	"threshold_groups_find(): rte_rib_lookup, 2^20 addresses 8 times, $(awk '$1 == "found" { print $3 }' build/bench/threshold_groups.1.txt) % in a prefix" \
	"build/threshold_groups_bench"
record threshold "13b lookup per record, IPv6, RIB" "$(figure rib_ipv6_ns) ns" "$runs" \
	"rte_rib6_lookup, 2^20 addresses 8 times, $(awk '$1 == "found" { print $6 }' build/bench/threshold_groups.1.txt) % in a prefix" \
	"build/threshold_groups_bench"
record threshold "13b lookup per record, IPv4, rte_lpm on the same prefixes" "$lpm_ipv4 ns" "$runs" \
	"for the comparison: rte_lpm takes a 64 MB tbl24 per table (one per replica and reload generation); the lookup runs once per src_count record, not per packet" \
	"build/threshold_groups_bench"
