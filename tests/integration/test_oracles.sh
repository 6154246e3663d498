#!/usr/bin/env bash
# Per-source counts of every shared capture equal its oracle exactly:
# pcap -> per_src_counter (window: total) -> sink, summed per source, diffed
# with X.src.tsv. Four ways: one replica, two replicas, `loop: 3` (every
# count times three) read from the file and from memory (`preload: true`);
# and a fifth: window: 100ms on two replicas,
# whose records must be aligned, one per source and window, and sum to the
# oracle (real captures have gaps, reordering and zero timestamps).
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"

[ -d "$traces" ] || skip "$traces not found (the shared test captures are not part of a fresh clone)"

echo "checks: per-source packets and bytes (window: total) equal X.src.tsv for each capture in $traces,"
echo "        with replicas 1, replicas 2, loop: 3 (counts x3) from the file and preloaded, and window: 100ms on replicas 2 (summed)"

mismatches=0
files=0
for oracle in "$traces"/*.src.tsv; do
	capture="${oracle%.src.tsv}"
	[ -f "$capture" ] || continue
	name="$(basename "$capture")"
	files=$((files + 1))
	results=""
	for mode in replicas1 replicas2 loop3 preload_loop3 window100ms; do
		case "$mode" in
		replicas1) source_keys="pcap: \"$capture\"" counter_keys=$'window: total\nreplicas: 1' factor=1 ;;
		replicas2) source_keys="pcap: \"$capture\"" counter_keys=$'window: total\nreplicas: 2' factor=1 ;;
		loop3) source_keys=$'pcap: "'"$capture"$'"\nloop: 3' counter_keys="window: total" factor=3 ;;
		preload_loop3) source_keys=$'pcap: "'"$capture"$'"\nloop: 3\npreload: true' counter_keys="window: total" factor=3 ;;
		window100ms) source_keys="pcap: \"$capture\"" counter_keys=$'window: 100ms\nreplicas: 2' factor=1 ;;
		esac
		pipeline="$work/$name.$mode.yaml"
		records="$work/$name.$mode.jsonl"
		write_counter_pipeline "$pipeline" "$source_keys" "$counter_keys" "$records"
		status=0
		run_jetstreamd "$work/stderr" -p "$pipeline" || status=$?
		if [ "$status" -ne 0 ]; then
			results+="$mode: jetstreamd exited $status; "
			sed 's/^/    /' "$work/stderr"
			mismatches=$((mismatches + 1))
			continue
		fi
		replicas="$(records_tool summary "$work/stderr" count.replicas)"
		expected_replicas=1
		[[ "$mode" != replicas2 && "$mode" != window100ms ]] || expected_replicas=2
		if [ "$replicas" != "$expected_replicas" ]; then
			results+="$mode: summary shows x$replicas, not x$expected_replicas; "
			mismatches=$((mismatches + 1))
			continue
		fi
		if [ "$mode" = window100ms ] && ! records_tool windows "$records" 100000000 >"$work/windows"; then
			results+="$mode: BAD WINDOWS; "
			echo "  $name, $mode: windows are not aligned or not one per source:"
			head -n 5 "$work/windows" | sed 's/^/    /'
			mismatches=$((mismatches + 1))
			continue
		fi
		records_tool totals "$records" >"$work/actual.tsv"
		records_tool scale "$oracle" "$factor" >"$work/expected.tsv"
		if diff -u "$work/expected.tsv" "$work/actual.tsv" >"$work/diff"; then
			results+="$mode: match; "
		else
			results+="$mode: MISMATCH; "
			echo "  $name, $mode: diff expected actual (first 20 lines):"
			head -n 20 "$work/diff" | sed 's/^/    /'
			mismatches=$((mismatches + 1))
		fi
	done
	printf '  %-45s %s\n' "$name" "${results%; }"
done

[ "$files" -gt 0 ] || skip "no X.src.tsv oracles in $traces"
[ "$mismatches" -eq 0 ] || fail "$mismatches of $((files * 4)) runs differ from their oracle"
echo "ok: $files captures x 5 ways match their oracles exactly"
