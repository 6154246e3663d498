#!/usr/bin/env bash
# Row 7: what a plugin kernel costs against the same kernel built in.
#   synthetic -> per_src_counter(total) -> sink, on one worker core, once with the
#   built-in type and once with per_src_counter_plugin: the same source file compiled
#   into build/bench/per_src_counter_plugin.so (bench/plugin_per_src_counter.c) and
#   loaded through the settings' `plugins:`. Both runs use the same settings file, so
#   the plugin is loaded in both and only the type differs.
# Mpps = packets / elapsed of the daemon's exit summary, as in row 2a. The two types
# alternate, RUNS times each, and which goes first alternates too, so that a slow
# phase of the machine (2 noisy cores) weighs on both alike; the ratio is the median
# of the RUNS per-pair ratios (plugin / built in), each pair run back to back.
# The last runs' per-source totals must be equal: the same packets, counted alike.
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
. "$(dirname "$0")/lib.sh"
cd "$repo_root"

runs="${RUNS:-5}"
plugin=build/bench/per_src_counter_plugin.so
mkdir -p build/bench
[ "$(nproc)" -ge 2 ] || die "the plugin rows need 2 CPUs (a control lcore and a worker)"
[ -f "$plugin" ] || die "$plugin is missing: run 'make build/bench/per_src_counter_plugin.so'"

packets="${PLUGIN_PACKETS:-40000000}"
sources="${SYNTHETIC_SOURCES:-100000}"
synthetic="synthetic: {packets: $packets, sources: $sources, zipf: 1.0, size: 64}"

# The settings file's paths are relative to it: it sits beside the plugin.
settings=build/bench/plugin_settings.yaml
cat >"$settings" <<YAML
# make bench, row 7: written by scripts/bench/plugin.sh.
plugins: [$(basename "$plugin")]
YAML

builtin_pipeline=build/bench/plugin_builtin.yaml
builtin_records=build/bench/plugin_builtin.jsonl
counter_pipeline "$builtin_pipeline" "7 (built in)" "$synthetic" "$builtin_records"
plugin_pipeline=build/bench/plugin_plugin.yaml
plugin_records=build/bench/plugin_plugin.jsonl
counter_pipeline "$plugin_pipeline" "7 (plugin)" "$synthetic" "$plugin_records"
sed -i 's/^    type: per_src_counter$/    type: per_src_counter_plugin/' "$plugin_pipeline"
grep -q '^    type: per_src_counter_plugin$' "$plugin_pipeline" ||
	die "$plugin_pipeline does not name per_src_counter_plugin"

# run_counter PIPELINE RECORDS LOG: one run; prints its Mpps; checks every packet was counted.
run_counter() {
	local result counted elapsed
	rm -f "$2"
	result=$(run_summary "$1" "$3" "$settings")
	read -r counted elapsed <<<"$result"
	[ "$counted" -eq "$packets" ] || die "$1: $counted packets, expected $packets"
	mpps "$counted" "$elapsed"
}

run_builtin() {
	run_counter "$builtin_pipeline" "$builtin_records" build/bench/plugin_builtin.stderr
}

run_plugin() {
	run_counter "$plugin_pipeline" "$plugin_records" build/bench/plugin_plugin.stderr
}

# minimum_maximum VALUES...: "MIN-MAX"
minimum_maximum() {
	printf '%s\n' "$@" | sort -g | sed -n '1p;$p' | paste -sd '-' -
}

echo "plugin: warm-up run of each type (page cache, the table's first allocation)"
run_builtin >/dev/null
run_plugin >/dev/null
grep -q 'per_src_counter_plugin x1' build/bench/plugin_plugin.stderr ||
	die "the plugin run's summary does not name its type: $(tail -5 build/bench/plugin_plugin.stderr)"

builtin_rates=()
plugin_rates=()
pair_ratios=()
for ((run = 1; run <= runs; run++)); do
	if ((run % 2)); then
		builtin_rates+=("$(run_builtin)")
		plugin_rates+=("$(run_plugin)")
	else
		plugin_rates+=("$(run_plugin)")
		builtin_rates+=("$(run_builtin)")
	fi
	pair_ratios+=("$(awk -v a="${plugin_rates[-1]}" -v b="${builtin_rates[-1]}" \
		'BEGIN { printf "%.4f\n", a / b }')")
	echo "plugin: run $run/$runs: built in ${builtin_rates[-1]}, plugin ${plugin_rates[-1]} Mpps," \
		"ratio ${pair_ratios[-1]}"
done

python3 scripts/bench/jsonl_to_tsv.py "$builtin_records" >build/bench/plugin_builtin.tsv
python3 scripts/bench/jsonl_to_tsv.py "$plugin_records" >build/bench/plugin_plugin.tsv
cmp -s build/bench/plugin_builtin.tsv build/bench/plugin_plugin.tsv ||
	die "per-source totals differ between the built-in and the plugin type (build/bench/plugin_*.tsv)"
sources_counted=$(wc -l <build/bench/plugin_builtin.tsv)

builtin_median=$(two_decimals "$(median "${builtin_rates[@]}")")
plugin_median=$(two_decimals "$(median "${plugin_rates[@]}")")
ratio_median=$(two_decimals "$(median "${pair_ratios[@]}")")
ratio_range=$(minimum_maximum "${pair_ratios[@]}" | awk -F- '{ printf "%.2f-%.2f\n", $1, $2 }')

builtin_note="$packets 64-byte frames, $sources Zipf(1.0) sources ($sources_counted counted);"
builtin_note+=" the plugin loaded too; per run: $(joined "${builtin_rates[@]}")"
plugin_note="the built-in kernel's source as a plugin (bench/plugin_per_src_counter.c);"
plugin_note+=" per-source totals = 7a's; per run: $(joined "${plugin_rates[@]}")"
ratio_note="each pair run back to back, the first of the pair alternating;"
ratio_note+=" per pair: $(joined "${pair_ratios[@]}")"
record plugin "7a jetstreamd synthetic -> per_src_counter(total) -> sink, built in, 1 worker" \
	"$builtin_median Mpps ($(minimum_maximum "${builtin_rates[@]}"))" "$runs" "$builtin_note" \
	"build/jetstreamd -c $settings -p $builtin_pipeline"
record plugin "7b the same with type per_src_counter_plugin ($plugin)" \
	"$plugin_median Mpps ($(minimum_maximum "${plugin_rates[@]}"))" "$runs" "$plugin_note" \
	"build/jetstreamd -c $settings -p $plugin_pipeline"
record plugin "7 ratio plugin / built in (median of the per-pair ratios)" \
	"${ratio_median}x ($ratio_range)" "$runs" "$ratio_note" "-"
