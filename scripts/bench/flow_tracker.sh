#!/usr/bin/env bash
# Row 3: the flow_tracker kernel on one core (build/flow_tracker_bench), at
# 1 K / 100 K / 1 M / 10 M flows, uniform and Zipf; medians of FT_RUNS runs.
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
. "$(dirname "$0")/lib.sh"
cd "$repo_root"

runs="${FT_RUNS:-3}"
flows="${FT_FLOWS:-10000000}"
mkdir -p build/bench
logs=()
for ((run = 1; run <= runs; run++)); do
	log="build/bench/flow_tracker.$run.log"
	echo "flow_tracker: run $run/$runs"
	build/flow_tracker_bench "$flows" >"$log" 2>&1 || die "flow_tracker_bench failed: $(tail -5 "$log")"
	logs+=("$log")
done

command="build/flow_tracker_bench $flows"
python3 scripts/bench/flow_tracker_rows.py "${logs[@]}" | while IFS=$'\t' read -r label result note; do
	record flow_tracker "$label" "$result" "$runs" "$note" "$command"
done
