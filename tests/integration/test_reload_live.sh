#!/usr/bin/env bash
# Live reload (SIGHUP) on a live capture loses no packet. As in
# test_af_packet.sh, a generated trace is replayed with tcpreplay into one end
# of a veth pair and jetstreamd captures the other end through DPDK's
# af_packet driver, both ends in network namespaces made by this test. During
# the replay the pipeline is rewritten atomically and reloaded 20 times: the
# threshold's `above` changes, a second sink comes and goes, and the windowed
# counter's window goes between 1s and 2s (a changed counter takes the old
# one's state). After SIGTERM, the per-source sums of all the windowed
# counter's records, and the records of a counter that never changes
# (window: total), must both equal the trace's oracle exactly; the summary
# must count every frame and 0 dropped; every reload must have succeeded. One
# more reload, changing the port's queue count, must be refused (file:line:col,
# `reload failed: keeping generation 21`) and change nothing.
# Needs root, `ip netns` and tcpreplay.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"

reloads=20
frames="${REPLAY_FRAMES:-10000}"
pps="${REPLAY_PPS:-2000}"
reload_timeout=10 # seconds from SIGHUP to READY=1 before the test fails
pause=0.05        # seconds between READY=1 and the next SIGHUP: spreads the reloads over the replay

setup_veth_namespaces

make_live_trace "$frames" 50 5

# The pipeline, from these variables: the windowed counter's window, the threshold's
# limit, whether the second sink is there, and the port's queues.
pipeline="$work/live.yaml"
records="$work/records.jsonl"
second_records="$work/second.jsonl"
window=1s above=20 copy=0 queues=1
write_pipeline() {
	replace_file "$pipeline" <<EOF
version: 1
kernels:
  rx:
    type: source
    port: "net_af_packet0,iface=$capture_interface"
$(if [ "$queues" -ne 1 ]; then printf '    queues: %s\n' "$queues"; fi)
  total:
    type: per_src_counter
    input: rx
    window: total
$(pipeline_counter count rx "$window")
$(pipeline_threshold alarm count pkts "$above")
  out:
    type: sink
    input: [total, count, alarm]
    format: jsonl
    path: "$records"
$(if [ "$copy" -eq 1 ]; then
		printf '  copy:\n    type: sink\n    input: [count, alarm]\n    path: "%s"\n' "$second_records"
	fi)
EOF
}
write_pipeline

echo "checks: tcpreplay --pps=$pps of $frames frames into the veth, $reloads reloads during the replay"
echo "        (threshold, second sink, window 1s <-> 2s) and a refused one (queues), SIGTERM -> exit 0,"
echo "        per-source counts = the oracle"
start_notify_listener
ip netns exec "$capture_namespace" "$jetstreamd" -p "$pipeline" 2>"$work/stderr" &
running_pid=$!
wait_notify READY=1 1 20

ip netns exec "$replay_namespace" tcpreplay --intf1="$replay_interface" --pps="$pps" "$trace" \
	>"$work/tcpreplay.log" 2>&1 &
replay_pid=$!
at_exit "kill $replay_pid 2>/dev/null; wait $replay_pid 2>/dev/null"
replay_start=$SECONDS
sleep 0.2 # the first frames are on their way before the first reload

windows_used=("$window") limits_used=("$above") expected_actions=()
for ((reload = 1; reload <= reloads; reload++)); do
	case $((reload % 4)) in
	1 | 3) above=$((20 + reload)) && limits_used+=("$above") && change="changed alarm" ;;
	2) copy=$((1 - copy)) && change="$(if [ "$copy" -eq 1 ]; then echo added; else echo removed; fi) copy" ;;
	0)
		if [ "$window" = 1s ]; then window=2s; else window=1s; fi
		windows_used+=("$window") && change="changed count" # a new instance that takes the state
		;;
	esac
	expected_actions+=("$((reload + 1)) $change")
	write_pipeline
	kill -HUP "$running_pid" 2>/dev/null || fail "jetstreamd exited before reload $reload"
	wait_notify RELOADING=1 "$reload" "$reload_timeout"
	wait_notify READY=1 $((reload + 1)) "$reload_timeout"
	sleep "$pause"
done
# Then one refused reload: a port's queue count cannot change live.
queues=2
write_pipeline
kill -HUP "$running_pid" 2>/dev/null || fail "jetstreamd exited before the refused reload"
wait_notify RELOADING=1 $((reloads + 1)) "$reload_timeout"
wait_notify READY=1 $((reloads + 2)) "$reload_timeout"
reload_seconds=$((SECONDS - replay_start))
kill -0 "$replay_pid" 2>/dev/null ||
	fail "the replay ended before the last reload ($reload_seconds s): raise REPLAY_FRAMES or lower REPLAY_PPS"
echo "  ok: $((reloads + 1)) reloads answered within $reload_seconds s, all while tcpreplay was sending"

status=0
wait "$replay_pid" || status=$?
[ "$status" -eq 0 ] || { cat "$work/tcpreplay.log"; fail "tcpreplay failed (exit $status)"; }
grep -Eq "Successful packets: +$frames\$" "$work/tcpreplay.log" ||
	{ cat "$work/tcpreplay.log"; fail "tcpreplay did not send all $frames frames"; }
echo "  ok: tcpreplay sent $frames frames in $((SECONDS - replay_start)) s"
stop_live_capture

# Every reload succeeded: RELOADING=1 then READY=1 with STATUS=generation N, N = 2..21.
messages="$(awk -F'\t' '{ for (i = 2; i <= NF; i++) if ($i == "READY=1" || $i == "RELOADING=1") printf "%s ", $i }' \
	"$work/notify.messages")"
expected_messages="READY=1 $(for ((i = 0; i <= reloads; i++)); do printf 'RELOADING=1 READY=1 '; done)"
[ "$messages" = "$expected_messages" ] || fail "sd_notify messages out of order (first field of each): $messages"
for ((reload = 1; reload <= reloads; reload++)); do
	status_field="$(notify_message READY=1 $((reload + 1)) | tr '\t' '\n' | grep '^STATUS=' || true)"
	[[ "$status_field" == "STATUS=generation $((reload + 1)): "* ]] ||
		fail "reload $reload: READY=1 came with '$status_field', expected 'STATUS=generation $((reload + 1)): ...'"
done
status_field="$(notify_message READY=1 $((reloads + 2)) | tr '\t' '\n' | grep '^STATUS=' || true)"
[[ "$status_field" == "STATUS=reload failed: "*"'queues'"* ]] ||
	fail "the refused reload: READY=1 came with '$status_field', expected 'STATUS=reload failed: ...'queues'...'"
records_tool reloads "$work/stderr" >"$work/reloads"
{
	for ((generation = 2; generation <= reloads + 1; generation++)); do echo "ok $generation"; done
	echo "(the refused change of queues)"
	echo "failed $((reloads + 1))"
	echo "summary $((reloads + 1))"
} >"$work/expected_reloads"
refusal="$(sed -n "$((reloads + 1))p" "$work/reloads")"
# shellcheck disable=SC2016 # a sed script
sed -i "$((reloads + 1))"'s/.*/(the refused change of queues)/' "$work/reloads"
diff -u "$work/expected_reloads" "$work/reloads" >"$work/diff" ||
	{ head -n 30 "$work/diff"; grep -E 'reload|error' "$work/stderr" | head -n 20; fail "the log does not show generations 2..$((reloads + 1)), one refused reload, then the summary of generation $((reloads + 1))"; }
[[ "$refusal" == "error $pipeline:"[0-9]*:[0-9]*": error: "*"'queues'"* ]] ||
	fail "the refused reload logged '${refusal#error }', expected '$pipeline:LINE:COL: error: ...'queues'...'"
echo "  ok: $reloads reloads, each RELOADING=1 then READY=1 with STATUS=generation N; generation $((reloads + 1)) at the end"
echo "  ok: changing the port's queues was refused: ${refusal#error }"
records_tool reload-actions "$work/stderr" >"$work/actions"
for action in "${expected_actions[@]}"; do
	grep -Fxq "$action" "$work/actions" || { grep 'reload: generation' "$work/stderr"; fail "generation ${action%% *} should have ${action#* }"; }
done
[ "$(grep -c ' kept total$' "$work/actions")" -eq "$reloads" ] ||
	{ grep 'reload: generation' "$work/stderr"; fail "total (unchanged) should be kept by every reload"; }
echo "  ok: the log names each reload's change (changed alarm, added/removed copy, changed count); total kept by all"

read_live_summary
records_tool totals "$records" total >"$work/total.tsv"
diff -u "$trace.src.tsv" "$work/total.tsv" >"$work/diff" ||
	{ sed 's/^/    /' "$work/stderr"; head -n 30 "$work/diff"; fail "total (window: total, kept): per-source counts differ from the oracle"; }
echo "  ok: total (window: total, kept over $reloads reloads): $(wc -l <"$work/total.tsv") sources, equal to the oracle"
records_tool totals "$records" count >"$work/count.tsv"
diff -u "$trace.src.tsv" "$work/count.tsv" >"$work/diff" ||
	{ sed 's/^/    /' "$work/stderr"; head -n 30 "$work/diff"; fail "count (window ${windows_used[*]}): per-source sums of its records differ from the oracle"; }
echo "  ok: count (window ${windows_used[*]} over the reloads): per-source sums of its records = the oracle"
lengths="$(records_tool window-lengths "$records" count)" || { echo "$lengths"; fail "count has misaligned windows"; }
[ "$(awk '{ print $1 }' <<<"$lengths" | tr '\n' ' ')" = "1000000000 2000000000 " ] ||
	fail "count's records should have windows of 1 s and of 2 s, and only those: $(tr '\n' ',' <<<"$lengths")"
echo "  ok: count's records: $(awk '{ printf "%s%d of %d s", sep, $2, $1 / 1e9; sep = ", " }' <<<"$lengths"), each aligned to its length"
check_live_summary "$frames" "$arp_frames"

records_tool alert-thresholds "$records" >"$work/alerts" || { cat "$work/alerts"; fail "bad alert records"; }
while read -r kernel metric threshold _; do
	if [ "$kernel" != alarm ] || [ "$metric" != pkts ] || [[ " ${limits_used[*]} " != *" $threshold "* ]]; then
		fail "an alert from $kernel, metric $metric, threshold $threshold: never configured"
	fi
done <"$work/alerts"
[ -s "$work/alerts" ] || fail "no alert at all (the heavy hitter sends more than ${limits_used[*]} packets a second)"
echo "  ok: $(awk '{ n += $4 } END { print n }' "$work/alerts") alerts, each above one of the limits alarm had (${limits_used[*]})"
[ "$copy" -eq 1 ] || fail "the last pipeline should have the second sink (the test's steps changed)"
# while it was there, the second sink read two of the main sink's inputs: the same records
subset="$(records_tool subset "$second_records" "$records")" || { echo "$subset"; fail "the second sink has records the main one lacks"; }
echo "  ok: the second sink (added or removed by $(((reloads + 2) / 4)) reloads, there at the end): $subset"
echo "ok: $reloads live reloads during a capture lost no packet and kept the counters' state"
