#!/usr/bin/env bash
# `make bench`: run the benchmark rows, print the table and write BENCHMARKS.md.
#
#   scripts/bench/run.sh [offline] [live] [flow_tracker] [handoff] [reload] [agent] [plugin] [metrics] [filter] [history] [startup] [multiqueue] [threshold]
#   (default: all)
#
# Expects build/jetstreamd, build/flow_tracker_bench, build/filter_bench, build/threshold_groups_bench,
# build/reference_counter and
# build/bench/per_src_counter_plugin.so (the Makefile's `bench` target builds them and
# installs nfdump and dpdk); each section checks only for what it runs.
# Environment: RUNS (default 5), SLOW_RUNS (3, nfpcapd), FT_RUNS (3),
# SECONDS_LIVE (5), PLUGIN_PACKETS (40000000), BENCH_MD (default BENCHMARKS.md). Writes
# its scratch files under build/bench/. Takes about 6 minutes on a 2-core machine.
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
. "$(dirname "$0")/lib.sh"
cd "$repo_root"

sections=("$@")
[ ${#sections[@]} -gt 0 ] || sections=(offline live flow_tracker handoff reload agent plugin metrics filter history startup multiqueue threshold)
for section in "${sections[@]}"; do
	case "$section" in
	offline | live | flow_tracker | handoff | reload | agent | plugin | metrics | filter | history | startup | multiqueue | threshold) ;;
	*)
		echo "usage: $0 [offline] [live] [flow_tracker] [handoff] [reload] [agent] [plugin] [metrics] [filter] [history] [startup] [multiqueue] [threshold]" >&2
		exit 64
		;;
	esac
done
# What the sections asked for need, so that one section runs without the others' tools.
binaries=(build/jetstreamd)
tools=(python3)
for section in "${sections[@]}"; do
	case "$section" in
	offline) binaries+=(build/reference_counter); tools+=(nfpcapd) ;;
	live) tools+=(dpdk-testpmd) ;;
	flow_tracker) binaries+=(build/flow_tracker_bench) ;;
	filter) binaries+=(build/filter_bench) ;;
	threshold) binaries+=(build/threshold_groups_bench) ;;
	plugin) binaries+=(build/bench/per_src_counter_plugin.so) ;;
	multiqueue) binaries+=(build/jetstreamctl) ;;
	esac
done
for binary in "${binaries[@]}"; do
	[ -x "$binary" ] || die "$binary is missing: run 'make bench'"
done
for tool in "${tools[@]}"; do
	command -v "$tool" >/dev/null || die "$tool is missing: run 'make bench' (it installs nfdump and dpdk)"
done

mkdir -p build/bench
: >"$BENCH_RESULTS"
commit="$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
dirty="$(git status --porcelain --untracked-files=no 2>/dev/null | awk '{ print $NF }' | paste -sd ' ' - || true)"
if [ -n "$dirty" ]; then
	commit="$commit + uncommitted changes to: $dirty"
fi
cpu_model="$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)"
export BENCH_DATE BENCH_ARCH BENCH_NPROC BENCH_CPU BENCH_COMMIT BENCH_KERNEL
BENCH_DATE="$(date -u '+%Y-%m-%d %H:%M UTC')"
BENCH_ARCH="$(uname -m)"
BENCH_NPROC="$(nproc)"
BENCH_CPU="${cpu_model:-unknown}"
BENCH_COMMIT="$commit"
BENCH_KERNEL="$(uname -r)"
echo "bench: $BENCH_DATE, $BENCH_ARCH, $BENCH_NPROC CPUs, $BENCH_CPU, commit $BENCH_COMMIT"

failed=()
started=$(now_ns)
for section in "${sections[@]}"; do
	echo "== $section"
	if ! "scripts/bench/$section.sh"; then
		failed+=("$section")
		printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$section" "$section" "FAILED (see the make bench log)" "-" "-" \
			"scripts/bench/$section.sh" >>"$BENCH_RESULTS"
	fi
done
echo "bench: done in $(elapsed_s "$started" "$(now_ns)") s"
BENCH_TRACE_COMMAND="$(cat build/bench/trace_command 2>/dev/null || true)"
export BENCH_TRACE_COMMAND
python3 scripts/bench/report.py "$BENCH_RESULTS" "${BENCH_MD:-BENCHMARKS.md}"
[ ${#failed[@]} -eq 0 ] || die "failed: ${failed[*]}"
