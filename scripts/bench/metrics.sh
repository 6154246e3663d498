#!/usr/bin/env bash
# Row 8: what serving the Prometheus metrics costs the datapath.
#   synthetic (endless) -> per_src_counter(total) -> sink on one worker core,
#   `metrics:` listening. In one run of the daemon, phases of PHASE_SECONDS
#   alternate: in a scraped phase a client fetches /metrics every second (curl,
#   as a Prometheus at a 1 s scrape_interval), in a quiet phase nobody does.
#   RUNS pairs, which kind goes first alternating. A phase's Mpps is the source's
#   jetstream_kernel_items_out_total over jetstream_uptime_seconds, both read
#   by the scrapes that open and close the phase (the same two for either
#   kind), so start-up and the machine's slow spells weigh on both alike; the
#   ratio is the median of the per-pair ratios (scraped / quiet). curl runs on
#   CPU 0, the control thread's, not on the worker's. Every scrape must answer
#   200; the run must end with exit 0 on SIGTERM.
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
. "$(dirname "$0")/lib.sh"
cd "$repo_root"

runs="${RUNS:-5}"
phase_seconds="${PHASE_SECONDS:-5}"
sources="${SYNTHETIC_SOURCES:-100000}"
mkdir -p build/bench
[ "$(nproc)" -ge 2 ] || die "the metrics rows need 2 CPUs (a control lcore and a worker)"
command -v curl >/dev/null && command -v taskset >/dev/null || die "curl or taskset is missing"

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
url="http://127.0.0.1:$port/metrics"
settings=build/bench/metrics_settings.yaml
cat >"$settings" <<YAML
# make bench, row 8: written by scripts/bench/metrics.sh.
metrics: 127.0.0.1:$port
control_socket: off
YAML
pipeline=build/bench/metrics.yaml
records=build/bench/metrics.jsonl
log=build/bench/metrics.stderr
counter_pipeline "$pipeline" 8 "synthetic: {packets: 0, sources: $sources, zipf: 1.0, size: 64}" "$records"

# scrape: one GET /metrics on CPU 0; prints "ITEMS_OUT UPTIME" of the source
scrape() {
	taskset -c 0 curl -sf --max-time 5 "$url" | awk '
		$1 == "jetstream_kernel_items_out_total{kernel=\"rx\",type=\"source\",replica=\"0\"}" { items = $2 }
		$1 == "jetstream_uptime_seconds" { uptime = $2 }
		END { if (items == "" || uptime == "") exit 1; print items, uptime }' ||
		die "a scrape failed while jetstreamd runs"
}

# phase SCRAPED: one phase; prints its Mpps
phase() {
	local start end elapsed
	start=$(scrape)
	if [ "$1" = 1 ]; then
		for ((second = 1; second < phase_seconds; second++)); do
			sleep 1
			scrape >/dev/null
		done
		sleep 1
	else
		sleep "$phase_seconds"
	fi
	end=$(scrape)
	awk -v a="$start" -v b="$end" 'BEGIN { split(a, s, " "); split(b, e, " ")
		printf "%.2f\n", (e[1] - s[1]) / (e[2] - s[2]) / 1e6 }'
}

rm -f "$records"
build/jetstreamd -c "$settings" -p "$pipeline" >/dev/null 2>"$log" &
daemon_pid=$!
trap 'kill -KILL $daemon_pid 2>/dev/null || true' EXIT
for _ in $(seq 300); do
	taskset -c 0 curl -sf --max-time 1 -o /dev/null "$url" && break
	kill -0 "$daemon_pid" 2>/dev/null || die "jetstreamd exited: $(tail -5 "$log")"
	sleep 0.1
done
echo "metrics: warm-up phase"
phase 0 >/dev/null

quiet_rates=()
scraped_rates=()
pair_ratios=()
for ((run = 1; run <= runs; run++)); do
	if ((run % 2)); then
		quiet=$(phase 0)
		scraped=$(phase 1)
	else
		scraped=$(phase 1)
		quiet=$(phase 0)
	fi
	quiet_rates+=("$quiet")
	scraped_rates+=("$scraped")
	pair_ratios+=("$(awk -v a="$scraped" -v b="$quiet" 'BEGIN { printf "%.4f\n", a / b }')")
	echo "metrics: pair $run/$runs: quiet $quiet, scraped $scraped Mpps, ratio ${pair_ratios[-1]}"
done
kill -TERM "$daemon_pid"
wait "$daemon_pid" || die "jetstreamd exited non-zero after SIGTERM: $(tail -5 "$log")"
trap - EXIT
grep -q '^jetstreamd: source rx: received [0-9]* = processed' "$log" || die "no accounting line in $log"

minimum_maximum() {
	printf '%s\n' "$@" | sort -g | sed -n '1p;$p' | paste -sd '-' -
}
quiet_median=$(two_decimals "$(median "${quiet_rates[@]}")")
scraped_median=$(two_decimals "$(median "${scraped_rates[@]}")")
ratio_median=$(two_decimals "$(median "${pair_ratios[@]}")")
ratio_range=$(minimum_maximum "${pair_ratios[@]}" | awk -F- '{ printf "%.2f-%.2f\n", $1, $2 }')
note="64-byte frames, $sources Zipf(1.0) sources; phases of $phase_seconds s in one run;"
command_line="build/jetstreamd -c $settings -p $pipeline"
record metrics "8a jetstreamd synthetic -> per_src_counter(total) -> sink, metrics not scraped" \
	"$quiet_median Mpps ($(minimum_maximum "${quiet_rates[@]}"))" "$runs" \
	"$note per phase: $(joined "${quiet_rates[@]}")" "$command_line"
record metrics "8b the same, /metrics scraped every second (curl on CPU 0)" \
	"$scraped_median Mpps ($(minimum_maximum "${scraped_rates[@]}"))" "$runs" \
	"$note per phase: $(joined "${scraped_rates[@]}")" \
	"$command_line & while sleep 1; do taskset -c 0 curl -s $url; done"
record metrics "8 ratio scraped / not scraped (median of the per-pair ratios)" \
	"${ratio_median}x ($ratio_range)" "$runs" \
	"each pair back to back in the same run, the first of the pair alternating; per pair: $(joined "${pair_ratios[@]}")" "-"
