#!/usr/bin/env bash
# Row 11: start-up. A short offline run end to end, and --check of its pipeline:
#   a 10-packet pcap -> per_src_counter(total) -> jsonl sink, default settings
#   (no -c). The wall time of the whole process, exec to exit, RUNS times after
#   one untimed run (warm page cache); median, min and max. Every run must exit 0
#   and write one record per source of the file (5); --check must exit 0.
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
. "$(dirname "$0")/lib.sh"
cd "$repo_root"

runs="${RUNS:-5}"
mkdir -p build/bench
trace=build/bench/startup_10.pcap
pipeline=build/bench/startup.yaml
records=build/bench/startup.jsonl
log=build/bench/startup.stderr
python3 scripts/gen_trace.py --packets 10 --sources 5 --seed 1 --output "$trace" >/dev/null
counter_pipeline "$pipeline" 11 "pcap: $trace" "$records"

# milliseconds (1 decimal) between two $EPOCHREALTIME stamps: no fork in the timed span
milliseconds() {
	awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", (b - a) * 1000 }'
}

# timed_runs COUNT COMMAND...: prints each run's wall milliseconds; any exit but 0 fails
timed_runs() {
	local count=$1 start end
	shift
	for ((run = 0; run < count; run++)); do
		rm -f "$records" # the sink appends: each run's records alone
		start=$EPOCHREALTIME
		"$@" >/dev/null 2>"$log" || die "$* failed (exit $?): $(tail -3 "$log")"
		end=$EPOCHREALTIME
		milliseconds "$start" "$end"
		echo
	done
}

summary() {
	local sorted
	sorted=$(printf '%s\n' "$@" | sort -g)
	printf '%s ms (min %s, max %s)' "$(median "$@" | awk '{ printf "%.1f", $1 }')" \
		"$(head -1 <<<"$sorted")" "$(tail -1 <<<"$sorted")"
}

run_command=(build/jetstreamd -p "$pipeline")
timed_runs 1 "${run_command[@]}" >/dev/null
mapfile -t run_times < <(timed_runs "$runs" "${run_command[@]}")
record_count=$(wc -l <"$records")
[ "$record_count" -eq 5 ] || die "the 10-packet run wrote $record_count records, not 5"
record startup "12a. 10-packet pcap, exec to exit" "$(summary "${run_times[@]}")" "$runs" \
	"wall of the whole process; every run: $(joined "${run_times[@]}") ms" "${run_command[*]}"

check_command=(build/jetstreamd -p "$pipeline" --check)
timed_runs 1 "${check_command[@]}" >/dev/null
mapfile -t check_times < <(timed_runs "$runs" "${check_command[@]}")
record startup "12b. --check of the same pipeline" "$(summary "${check_times[@]}")" "$runs" \
	"every run: $(joined "${check_times[@]}") ms" "${check_command[*]}"
