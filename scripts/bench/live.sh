#!/usr/bin/env bash
# Row 2: the live datapath on one worker core (lcore 0 = control, lcore 1 = worker).
#   2a synthetic -> per_src_counter(total) -> sink: packets made and parsed on the
#      worker, then counted per source (real table work: SYNTHETIC_SOURCES sources,
#      Zipf 1.0, 64-byte frames); Mpps = packets / elapsed of the daemon's exit summary.
#   2b synthetic -> passthrough -> sink(null): the same generator, no table: the
#      framework's own cost (rings, polling, mbuf free).
#   2c port "net_null0" -> per_src_counter(total) -> sink, SECONDS_LIVE s then SIGTERM:
#      the port path; net_null frames are zero-filled, non-IP: no table work.
#   2d port "net_null0" -> passthrough -> sink(null), SECONDS_LIVE s then SIGTERM: the
#      receive path testpmd has, two ring hops and the free.
#   2e dpdk-testpmd: io forwarding over net_null0 + net_null1 on one forwarding
#      core, same lcores; Mpps = the sum of both ports' Rx-pps per --stats-period
#      second (the first, partial, periods left out), the median second per run.
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
. "$(dirname "$0")/lib.sh"
cd "$repo_root"

runs="${RUNS:-5}"
seconds="${SECONDS_LIVE:-5}"
mkdir -p build/bench
[ "$(nproc)" -ge 2 ] || die "the live rows need 2 CPUs (a control lcore and a worker)"

synthetic_packets="${SYNTHETIC_PACKETS:-40000000}"
synthetic_sources="${SYNTHETIC_SOURCES:-100000}"
synthetic="synthetic: {packets: $synthetic_packets, sources: $synthetic_sources, zipf: 1.0, size: 64}"
counter_synthetic=build/bench/live_synthetic_counter.yaml
counter_records=build/bench/live_synthetic_counter.jsonl
counter_pipeline "$counter_synthetic" 2a "$synthetic" "$counter_records"
passthrough_synthetic=build/bench/live_synthetic_passthrough.yaml
passthrough_pipeline "$passthrough_synthetic" 2b "$synthetic"

pipeline=build/bench/live_null.yaml
records=build/bench/live_null.jsonl
counter_pipeline "$pipeline" 2c 'port: "net_null0"' "$records"

# One synthetic run: prints its Mpps; checks every packet was counted.
run_synthetic() {
	local result packets elapsed
	result=$(run_summary "$1" "$2")
	read -r packets elapsed <<<"$result"
	[ "$packets" -eq "$synthetic_packets" ] || die "$1: $packets packets, expected $synthetic_packets"
	mpps "$packets" "$elapsed"
}

null_passthrough=build/bench/live_null_passthrough.yaml
passthrough_pipeline "$null_passthrough" 2d 'port: "net_null0"'

# run_jetstreamd PIPELINE LOG: one net_null run, SECONDS_LIVE s; prints "PACKETS SECONDS"
# from its exit summary.
run_jetstreamd() {
	local pid log="$2" line
	rm -f "$records"
	build/jetstreamd -p "$1" >/dev/null 2>"$log" &
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

c_rates=()
p_rates=()
j_rates=()
n_rates=()
t_rates=()
for ((run = 1; run <= runs; run++)); do
	# alternated, so that a slow phase of the machine weighs on every row
	rm -f "$counter_records"
	c_rates+=("$(run_synthetic "$counter_synthetic" build/bench/live_synthetic_counter.stderr)")
	p_rates+=("$(run_synthetic "$passthrough_synthetic" build/bench/live_synthetic_passthrough.stderr)")
	result=$(run_jetstreamd "$pipeline" build/bench/live_null.stderr)
	read -r packets elapsed <<<"$result"
	j_rates+=("$(mpps "$packets" "$elapsed")")
	result=$(run_jetstreamd "$null_passthrough" build/bench/live_null_passthrough.stderr)
	read -r packets elapsed <<<"$result"
	n_rates+=("$(mpps "$packets" "$elapsed")")
	t_rates+=("$(mpps "$(run_testpmd)" 1)")
	echo "live: run $run/$runs: synthetic counter ${c_rates[-1]}, synthetic passthrough ${p_rates[-1]}," \
		"net_null0 counter ${j_rates[-1]}, net_null0 passthrough ${n_rates[-1]}, dpdk-testpmd ${t_rates[-1]} Mpps"
done
sources_counted=$(wc -l <"$counter_records")
unkeyed=$(sed -n 's/.*unkeyed_packets=\([0-9]*\).*/\1/p' build/bench/live_null.stderr | head -1)
c_median=$(two_decimals "$(median "${c_rates[@]}")")
p_median=$(two_decimals "$(median "${p_rates[@]}")")
j_median=$(two_decimals "$(median "${j_rates[@]}")")
n_median=$(two_decimals "$(median "${n_rates[@]}")")
t_median=$(two_decimals "$(median "${t_rates[@]}")")
dpdk_version=$(dpkg-query -W -f='${Version}' dpdk 2>/dev/null || echo '?')

record live "2a jetstreamd synthetic -> per_src_counter(total) -> sink, 1 worker" "$c_median Mpps" "$runs" \
	"$synthetic_packets 64-byte frames made, parsed and counted on the worker, $synthetic_sources Zipf(1.0) sources ($sources_counted in the last run's records); per run: $(joined "${c_rates[@]}")" \
	"build/jetstreamd -p $counter_synthetic"
record live "2b jetstreamd synthetic -> passthrough -> sink(null), 1 worker" "$p_median Mpps" "$runs" \
	"the generator, two ring hops and the mbuf free; per run: $(joined "${p_rates[@]}")" \
	"build/jetstreamd -p $passthrough_synthetic"
record live "2c jetstreamd net_null0 -> per_src_counter(total) -> sink, 1 worker" "$j_median Mpps" "$runs" \
	"the port path; no table work: net_null frames are zero-filled, non-IP, all unkeyed (last run: unkeyed_packets=$unkeyed); per run: $(joined "${j_rates[@]}")" \
	"build/jetstreamd -p $pipeline & sleep $seconds; kill -TERM \$!  # Mpps from the exit summary"
record live "2d jetstreamd net_null0 -> passthrough -> sink(null), 1 worker" "$n_median Mpps" "$runs" \
	"the same receive path as testpmd's, two ring hops, the mbuf free; per run: $(joined "${n_rates[@]}")" \
	"build/jetstreamd -p $null_passthrough & sleep $seconds; kill -TERM \$!  # Mpps from the exit summary"
record live "2e dpdk-testpmd io fwd, net_null0 <-> net_null1, 1 fwd core (dpdk $dpdk_version)" "$t_median Mpps" "$runs" \
	"sum of both ports' Rx-pps (all a single core forwards), median second of each run; per run: $(joined "${t_rates[@]}")" \
	"timeout -s INT $((seconds + 1)) dpdk-testpmd ${testpmd_args[*]}"
record live "2 ratio synthetic per_src_counter / testpmd" "$(ratio "$c_median" "$t_median")x" "-" "target >= 0.7x and >= 20 Mpps" "-"
record live "2 ratio synthetic passthrough / testpmd" "$(ratio "$p_median" "$t_median")x" "-" "target >= 0.9x" "-"
record live "2 ratio net_null0 per_src_counter / testpmd" "$(ratio "$j_median" "$t_median")x" "-" "no table work (see 2c)" "-"
record live "2 ratio net_null0 passthrough / testpmd" "$(ratio "$n_median" "$t_median")x" "-" "the same driver on both sides" "-"
