#!/usr/bin/env bash
# Row 8: what serving the Prometheus metrics costs the datapath.
#   synthetic -> per_src_counter(total) -> sink on one worker core, with the
#   settings' `metrics:` listening in every run; in half the runs a client
#   scrapes /metrics every second for as long as the daemon runs (curl in a
#   loop, as a Prometheus would at a 1 s scrape_interval), in the other half
#   nobody does. curl runs on CPU 0, the control thread's, not on the worker's:
#   a scraper shares the control CPU or runs on another machine. Mpps = packets / elapsed of the exit summary. The two kinds
#   alternate, RUNS times each, which goes first alternating too; the ratio is
#   the median of the per-pair ratios (scraped / not scraped). Every scrape must
#   answer 200, and the scraped runs must have had at least 2 scrapes.
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
. "$(dirname "$0")/lib.sh"
cd "$repo_root"

runs="${RUNS:-5}"
packets="${METRICS_PACKETS:-100000000}"
sources="${SYNTHETIC_SOURCES:-100000}"
mkdir -p build/bench
[ "$(nproc)" -ge 2 ] || die "the metrics rows need 2 CPUs (a control lcore and a worker)"
command -v curl >/dev/null && command -v taskset >/dev/null || die "curl or taskset is missing"

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
settings=build/bench/metrics_settings.yaml
cat >"$settings" <<YAML
# make bench, row 8: written by scripts/bench/metrics.sh.
metrics: 127.0.0.1:$port
control_socket: off
YAML
pipeline=build/bench/metrics.yaml
records=build/bench/metrics.jsonl
counter_pipeline "$pipeline" 8 "synthetic: {packets: $packets, sources: $sources, zipf: 1.0, size: 64}" "$records"

# run_once SCRAPE: one run (SCRAPE 1: scrape every second); prints "MPPS SCRAPES"
run_once() {
	local log=build/bench/metrics.stderr scrapes=0 pid counted elapsed code
	rm -f "$records"
	build/jetstreamd -c "$settings" -p "$pipeline" >/dev/null 2>"$log" &
	pid=$!
	if [ "$1" = 1 ]; then
		sleep 0.5 # the listener is open before the graph starts; let it start
		while kill -0 "$pid" 2>/dev/null; do
			code=$(taskset -c 0 curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://127.0.0.1:$port/metrics" || true)
			if [ "$code" = 200 ]; then
				scrapes=$((scrapes + 1))
			else # refused only while the daemon closes its endpoints at the end of the run
				sleep 1
				! kill -0 "$pid" 2>/dev/null || die "a scrape answered '$code' while jetstreamd runs"
			fi
			sleep 1
		done
	fi
	wait "$pid" || die "jetstreamd failed: $(tail -5 "$log")"
	read -r counted elapsed < <(sed -n -E 's/^jetstreamd: ([0-9]+) packets in ([0-9.]+) s.*/\1 \2/p' "$log")
	[ "$counted" -eq "$packets" ] || die "$counted packets, expected $packets"
	[ "$1" = 0 ] || [ "$scrapes" -ge 2 ] || die "only $scrapes scrapes during a scraped run"
	echo "$(mpps "$counted" "$elapsed") $scrapes"
}

minimum_maximum() {
	printf '%s\n' "$@" | sort -g | sed -n '1p;$p' | paste -sd '-' -
}

echo "metrics: warm-up run"
run_once 0 >/dev/null
quiet_rates=()
scraped_rates=()
pair_ratios=()
scrape_counts=()
for ((run = 1; run <= runs; run++)); do
	if ((run % 2)); then
		read -r quiet _ < <(run_once 0)
		read -r scraped scrapes < <(run_once 1)
	else
		read -r scraped scrapes < <(run_once 1)
		read -r quiet _ < <(run_once 0)
	fi
	quiet_rates+=("$quiet")
	scraped_rates+=("$scraped")
	scrape_counts+=("$scrapes")
	pair_ratios+=("$(awk -v a="$scraped" -v b="$quiet" 'BEGIN { printf "%.4f\n", a / b }')")
	echo "metrics: run $run/$runs: not scraped $quiet, scraped $scraped Mpps ($scrapes scrapes)," \
		"ratio ${pair_ratios[-1]}"
done

quiet_median=$(two_decimals "$(median "${quiet_rates[@]}")")
scraped_median=$(two_decimals "$(median "${scraped_rates[@]}")")
ratio_median=$(two_decimals "$(median "${pair_ratios[@]}")")
ratio_range=$(minimum_maximum "${pair_ratios[@]}" | awk -F- '{ printf "%.2f-%.2f\n", $1, $2 }')
note="$packets 64-byte frames, $sources Zipf(1.0) sources; metrics listening;"
record metrics "8a jetstreamd synthetic -> per_src_counter(total) -> sink, metrics not scraped" \
	"$quiet_median Mpps ($(minimum_maximum "${quiet_rates[@]}"))" "$runs" \
	"$note per run: $(joined "${quiet_rates[@]}")" "build/jetstreamd -c $settings -p $pipeline"
record metrics "8b the same, /metrics scraped every second (curl)" \
	"$scraped_median Mpps ($(minimum_maximum "${scraped_rates[@]}"))" "$runs" \
	"$note scrapes per run: $(joined "${scrape_counts[@]}"); per run: $(joined "${scraped_rates[@]}")" \
	"build/jetstreamd -c $settings -p $pipeline & while sleep 1; do taskset -c 0 curl -s http://127.0.0.1:$port/metrics; done"
record metrics "8 ratio scraped / not scraped (median of the per-pair ratios)" \
	"${ratio_median}x ($ratio_range)" "$runs" \
	"each pair run back to back, the first of the pair alternating; per pair: $(joined "${pair_ratios[@]}")" "-"
