#!/usr/bin/env bash
# Row 2: the live datapath on one worker core, over DPDK's net_null PMD.
#   jetstreamd: port "net_null0" -> per_src_counter(total) -> sink, about
#   SECONDS_LIVE s, then SIGTERM; Mpps = packets in / elapsed of its exit summary.
#   dpdk-testpmd: io forwarding over net_null0 + net_null1 on one forwarding
#   core, same lcores (0 = main, 1 = worker); Mpps = the sum of both ports'
#   Rx-pps per --stats-period second (the first, partial, periods left out),
#   the median of those seconds per run.
# net_null frames are zero-filled: no IP header, so the counter has no table
# work (every frame is unkeyed). The row measures parse + ring + kernel overhead.
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
. "$(dirname "$0")/lib.sh"
cd "$repo_root"

runs="${RUNS:-5}"
seconds="${SECONDS_LIVE:-5}"
mkdir -p build/bench
[ "$(nproc)" -ge 2 ] || die "the live rows need 2 CPUs (a control lcore and a worker)"

pipeline=build/bench/live_null.yaml
records=build/bench/live_null.jsonl
counter_pipeline "$pipeline" 2 'port: "net_null0"' "$records"

# One jetstreamd run: prints "PACKETS SECONDS" from its exit summary.
run_jetstreamd() {
	local pid log=build/bench/live_null.stderr line
	rm -f "$records"
	build/jetstreamd -p "$pipeline" >/dev/null 2>"$log" &
	pid=$!
	sleep "$seconds"
	kill -TERM "$pid"
	wait "$pid" || die "jetstreamd exited $? on net_null0: $(tail -5 "$log")"
	line=$(grep -E '^jetstreamd: [0-9]+ packets in [0-9.]+ s' "$log") || die "no exit summary: $(tail -5 "$log")"
	sed -E 's/^jetstreamd: ([0-9]+) packets in ([0-9.]+) s.*/\1 \2/' <<<"$line"
}

testpmd_args=(-l "0,1" --no-huge -m 512 --no-pci --no-shconf --vdev=net_null0 --vdev=net_null1 --
	--forward-mode=io --total-num-mbufs=16384 --stats-period 1 -a)

# One testpmd run: prints the median over its whole seconds of (port 0 + port 1 Rx-pps).
run_testpmd() {
	local log=build/bench/testpmd.log status=0
	# testpmd stops forwarding, prints its totals and exits 0 on SIGINT.
	timeout -s INT "$((seconds + 1))" dpdk-testpmd "${testpmd_args[@]}" >"$log" 2>&1 </dev/null || status=$?
	[ "$status" -eq 0 ] || [ "$status" -eq 124 ] || die "dpdk-testpmd exited $status: $(tail -5 "$log")"
	grep -q 'Bye' "$log" || die "dpdk-testpmd did not finish: $(tail -5 "$log")"
	# Rx-pps lines come per port, in port order, once per period; the first period
	# is the 0 of the first show, and the second may start mid-second.
	awk '/Rx-pps:/ { v[n++] = $2 } END {
		for (i = 0; i + 1 < n; i += 2) { s = v[i] + v[i + 1]; if (s > 0) sums[m++] = s }
		if (m > 2) { for (i = 1; i < m; i++) kept[k++] = sums[i] } else { for (i = 0; i < m; i++) kept[k++] = sums[i] }
		for (i = 0; i < k; i++) printf "%.0f\n", kept[i] }' "$log" | sort -g |
		awk '{ v[NR] = $1 } END { if (NR == 0) exit 1; printf "%.0f\n", NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }' ||
		die "no Rx-pps in dpdk-testpmd's output: $(tail -5 "$log")"
}

j_rates=()
t_rates=()
j_packets=()
for ((run = 1; run <= runs; run++)); do
	# alternated, so that a slow phase of the machine weighs on both
	read -r packets elapsed < <(run_jetstreamd)
	j_rates+=("$(mpps "$packets" "$elapsed")")
	j_packets+=("$packets")
	t_rates+=("$(mpps "$(run_testpmd)" 1)")
	echo "live: run $run/$runs: jetstreamd ${j_rates[-1]} Mpps, dpdk-testpmd ${t_rates[-1]} Mpps"
done
unkeyed=$(sed -n 's/.*unkeyed_packets=\([0-9]*\).*/\1/p' build/bench/live_null.stderr | head -1)
j_median=$(two_decimals "$(median "${j_rates[@]}")")
t_median=$(two_decimals "$(median "${t_rates[@]}")")
dpdk_version=$(dpkg-query -W -f='${Version}' dpdk 2>/dev/null || echo '?')

record live "2a jetstreamd net_null0 -> per_src_counter(total) -> sink, 1 worker" "$j_median Mpps" "$runs" \
	"parse + ring + kernel overhead, no table work: net_null frames are zero-filled, non-IP, all unkeyed (last run: unkeyed_packets=$unkeyed); per run: $(joined "${j_rates[@]}")" \
	"build/jetstreamd -p $pipeline & sleep $seconds; kill -TERM \$!  # Mpps from the exit summary"
record live "2b dpdk-testpmd io fwd, net_null0 <-> net_null1, 1 fwd core (dpdk $dpdk_version)" "$t_median Mpps" "$runs" \
	"sum of both ports' Rx-pps (all a single core forwards), median second of each run; per run: $(joined "${t_rates[@]}")" \
	"timeout -s INT $((seconds + 1)) dpdk-testpmd ${testpmd_args[*]}"
record live "2 ratio jetstreamd / testpmd" "$(ratio "$j_median" "$t_median")x" "-" "target >= 0.7x (with table work, which this row does not have)" "-"
