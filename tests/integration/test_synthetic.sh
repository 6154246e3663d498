#!/usr/bin/env bash
# The synthetic source end to end: a finite generator ends the run by itself
# with exact counts (packets, bytes from the size list, sources), feeds a
# passthrough into a null sink at the same time, gives the same totals for the
# same seed and other totals for another seed; an endless paced generator stops
# on SIGTERM with every generated packet counted.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"

cd "$work"
# write_pipeline FILE SYNTHETIC RECORDS: synthetic -> counter(total) -> sink, and -> passthrough -> sink(null)
write_pipeline() {
	cat >"$1" <<YAML
version: 1
kernels:
  rx:
    type: source
    synthetic: $2
$(pipeline_counter total rx total)
  out:
    type: sink
    input: total
    path: "$3"
  forward:
    type: passthrough
    input: rx
  discard:
    type: sink
    input: forward
    format: null
YAML
}

echo "checks: 100,000 packets over 50 sources, sizes 64/1000/1514 in turn -> exact totals, exit 0"
synthetic='{packets: 100000, sources: 50, flows: 200, zipf: 1.1, size: [64, 1000, 1514], ipv6_share: 0.2, seed: 9}'
write_pipeline finite.yaml "$synthetic" "$work/finite.jsonl"
run_ok finite.stderr -p finite.yaml
records_tool totals finite.jsonl >finite.tsv
read -r sources packets bytes ipv6 < <(awk -F'\t' '{ n++; p += $2; b += $3; if ($1 ~ /:/) v++ }
	END { print n, p, b, v + 0 }' finite.tsv)
# 33,334 frames of 64 bytes, 33,333 of 1000, 33,333 of 1514
[ "$packets" -eq 100000 ] || fail "counted $packets packets, expected 100000"
[ "$bytes" -eq $((33334 * 64 + 33333 * 1000 + 33333 * 1514)) ] || fail "counted $bytes bytes"
[ "$sources" -eq 50 ] || fail "$sources sources, expected 50"
[ "$ipv6" -gt 0 ] && [ "$ipv6" -lt 25 ] || fail "$ipv6 IPv6 sources of 50 with ipv6_share 0.2"
grep -qvE '^(10\.0\.0\.[0-9]+|2001:db8::[0-9a-f]+)	' finite.tsv && fail "a source outside 10.0.0.0/8 and 2001:db8::/96"
[ "$(records_tool summary finite.stderr discard.packets)" -eq 100000 ] || fail "the null sink did not get 100000 packets"
[ "$(records_tool summary finite.stderr rx.malformed_packets)" -eq 0 ] || fail "malformed packets generated"
[ "$(records_tool summary finite.stderr dropped)" -eq 0 ] || fail "drops reported"
echo "  ok: 100000 packets, $bytes bytes, 50 sources ($ipv6 IPv6); the null sink took all 100000; 0 dropped"

echo "checks: the same seed gives the same per-source totals, another seed others"
run_ok again.stderr -p finite.yaml
records_tool totals finite.jsonl >both.tsv # the sink appends: both runs
records_tool scale finite.tsv 2 >twice.tsv
diff -q twice.tsv both.tsv >/dev/null || fail "a second run with seed 9 gave other totals"
write_pipeline other.yaml "${synthetic/seed: 9/seed: 10}" "$work/other.jsonl"
run_ok other.stderr -p other.yaml
records_tool totals other.jsonl >other.tsv
diff -q finite.tsv other.tsv >/dev/null && fail "seed 10 gave the same totals as seed 9"
echo "  ok"

echo "checks: an endless generator at 50,000 pps stops on SIGTERM with every packet counted"
write_pipeline endless.yaml '{sources: 100, rate_pps: 50000}' "$work/endless.jsonl"
start_notify_listener
"$jetstreamd" -p endless.yaml 2>endless.stderr &
running_pid=$!
wait_ready 20
sleep 1.5
kill -TERM "$running_pid"
wait_exit 20
[ "$exit_status" -eq 0 ] || { cat endless.stderr; fail "exit status $exit_status after SIGTERM"; }
generated="$(records_tool summary endless.stderr rx.packets)"
counted=$(records_tool totals endless.jsonl | awk -F'\t' '{ p += $2 } END { print p + 0 }')
[ "$generated" -gt 25000 ] || fail "only $generated packets generated in 1.5 s at 50,000 pps"
seconds=$(sed -n 's/^jetstreamd: [0-9]* packets in \([0-9.]*\) s.*/\1/p' endless.stderr)
awk -v p="$generated" -v s="$seconds" 'BEGIN { exit !(p <= 50000 * s + 64) }' ||
	fail "$generated packets in $seconds s: rate_pps 50000 was not kept"
[ "$counted" -eq "$generated" ] || fail "$generated packets generated, $counted counted"
[ "$(records_tool summary endless.stderr discard.packets)" -eq "$generated" ] ||
	fail "the null sink did not get all $generated packets"
echo "  ok: $generated packets generated, all counted and all discarded by the null sink"
