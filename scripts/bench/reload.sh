#!/usr/bin/env bash
# Row 4: live reload, from scripts/reload_latency.sh run once with its defaults
# (30 reloads in a 10 s run, alternated with runs without reload, twice).
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
. "$(dirname "$0")/lib.sh"
cd "$repo_root"

mkdir -p build/bench
log=build/bench/reload_latency.log
echo "reload: scripts/reload_latency.sh (about a minute)"
scripts/reload_latency.sh >"$log" 2>&1 || die "scripts/reload_latency.sh failed: $(tail -5 "$log")"
latency=$(grep -E '^  SIGHUP -> READY=1 over' "$log") || die "no latency line in $log"
throughput=$(grep -E '^  throughput, mean of' "$log") || die "no throughput line in $log"
reloading=$(grep -E '^  SIGHUP -> RELOADING=1:' "$log" || true)
median_ms=$(sed -E 's/.*median ([0-9.]+) ms.*/\1/' <<<"$latency")
max_ms=$(sed -E 's/.*max ([0-9.]+) ms.*/\1/' <<<"$latency")
dip=$(sed -E 's/.*: ([+-][0-9.]+ %)$/\1/' <<<"$throughput")
record reload "5a SIGHUP -> READY=1 latency (10-kernel graph)" "median $median_ms ms, max $max_ms ms" "1" \
	"${latency#  }; ${reloading#  }" "scripts/reload_latency.sh"
record reload "5b throughput with 30 reloads in 10 s vs none" "$dip" "1" "${throughput#  }" "scripts/reload_latency.sh"
