#!/usr/bin/env bash
# A live clock stopped right before a window edge: an endless synthetic source
# into a 1 s per_src_counter, SIGTERM 100, 50 and 20 ms before a whole second.
# The last window then goes out while the wall-clock tick keeps running; every
# generated packet must be in exactly one record (before the fix, a tick
# during the final flush re-emitted what had been sent: up to +32 %).
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"

cd "$work"
start_notify_listener
for before_ms in 100 50 20; do
	echo "checks: SIGTERM ${before_ms} ms before a whole second: records = generated packets, one per source and window"
	write_counter_pipeline "edge$before_ms.yaml" \
		"synthetic: {packets: 0, sources: 100000, flows: 400000, seed: $before_ms}" \
		"window: 1s" "$work/edge$before_ms.jsonl"
	"$jetstreamd" -p "edge$before_ms.yaml" 2>"edge$before_ms.stderr" &
	running_pid=$!
	wait_ready 20
	# at least 1.2 s of traffic, so windows have closed before the one cut by the stop
	python3 - "$running_pid" "$before_ms" <<'PY'
import os, signal, sys, time
pid, before = int(sys.argv[1]), int(sys.argv[2]) / 1000
time.sleep(1.2)
now = time.time()
time.sleep(1 - now % 1 - before if 1 - now % 1 > before else 2 - now % 1 - before)
os.kill(pid, signal.SIGTERM)
PY
	wait_exit 30
	[ "$exit_status" -eq 0 ] || { cat "edge$before_ms.stderr"; fail "exit status $exit_status after SIGTERM"; }
	generated="$(records_tool summary "edge$before_ms.stderr" rx.packets)"
	counted=$(records_tool totals "edge$before_ms.jsonl" | awk -F'\t' '{ p += $2 } END { print p + 0 }')
	records_tool windows "edge$before_ms.jsonl" 1000000000 >"edge$before_ms.windows" ||
		{ head -5 "edge$before_ms.windows"; fail "records repeated or misaligned"; }
	[ "$generated" -gt 100000 ] || fail "only $generated packets generated"
	[ "$counted" -eq "$generated" ] ||
		fail "$generated packets generated, $counted in records ($((counted - generated)) over)"
	echo "  ok: $generated packets, all counted once; $(cat "edge$before_ms.windows")"
done
