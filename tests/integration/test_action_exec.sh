#!/usr/bin/env bash
# Sink format exec: a program per alert record, its jsonl line on stdin and
# its fields in ALERT_* variables.
# 1. A script records what it received into files: the exact line and
#    variables of 198.51.100.7's start and end (alerts_trace.py's known
#    answer); every alert's actions ran one after the other in their order
#    (start, update, end), though four run at once; 9 run, 9 succeeded.
# 2. A program that hangs is killed at its timeout (SIGTERM), one that
#    ignores SIGTERM a second later (SIGKILL): counted as actions_timed_out.
# 3. A failing program is counted as actions_failed and logged once for the
#    interval (a minute), the others counted in one line at the end.
# 4. Alerts past a full queue are counted as dropped_sink_full (exit status 1).
# 5. Live, SIGTERM while a program runs: the stop ends at drain_timeout, the
#    program killed, the queued alerts dropped_drain_timeout.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source=tests/integration/action_pipeline.sh
source "$integration_directory/action_pipeline.sh"

cd "$work"
mkdir received
cat >record.sh <<'SH'
#!/bin/sh
# what an action received: stdin and the ALERT_ variables, per alert and state;
# a start takes its time, so an end run before it had finished would be seen
set -e
name="$RECEIVED/$ALERT_ID-$ALERT_STATE"
cat >"$name.stdin"
env | grep '^ALERT_' | sort >"$name.env"
[ "$ALERT_STATE" != start ] || sleep 0.3
echo "$ALERT_STATE" >>"$RECEIVED/$ALERT_ID.order"
SH
chmod +x record.sh

echo "checks: each alert's line and variables, in order"
write_action_pipeline "format: exec" "command: [$work/record.sh]" "concurrency: 4" >exec.yaml
"$jetstreamd" --check -p exec.yaml || fail "--check refused exec.yaml"
RECEIVED="$work/received" run_ok exec.stderr -p exec.yaml
expect_stats exec.stderr records=9 actions_run=9 actions_failed=0 actions_timed_out=0 \
	dropped_records=0 actions_queued=0 actions_running=0
id="$(grep '"state":"start"' alerts.jsonl | grep '"dst":"198.51.100.7"' | sed 's/.*"alert_id":"\([0-9a-f]*\)".*/\1/')"
[ -n "$id" ] || fail "no start of 198.51.100.7 in alerts.jsonl"
cat >expected-start.stdin <<JSONL
{"type":"alert","kernel":"ddos","state":"start","alert_id":"$id","dst":"198.51.100.7","group":"customers","metric":"pkts","value":100,"threshold":50,"peak":100,"pkts":100,"bytes":10000,"start":1700000001.000000000,"end":1700000002.000000000,"duration":1.000000000}
JSONL
cat >expected-end.stdin <<JSONL
{"type":"alert","kernel":"ddos","state":"end","alert_id":"$id","dst":"198.51.100.7","group":"customers","metric":"pkts","value":100,"threshold":50,"peak":100,"pkts":370,"bytes":37000,"start":1700000001.000000000,"end":1700000006.000000000,"duration":5.000000000,"reason":"below"}
JSONL
cat >expected-start.env <<ENV
ALERT_BYTES=10000
ALERT_DST=198.51.100.7
ALERT_DURATION=1.000000000
ALERT_END=1700000002.000000000
ALERT_GROUP=customers
ALERT_ID=$id
ALERT_KERNEL=ddos
ALERT_KEY=198.51.100.7
ALERT_METRIC=pkts
ALERT_PEAK=100
ALERT_PKTS=100
ALERT_START=1700000001.000000000
ALERT_STATE=start
ALERT_THRESHOLD=50
ALERT_VALUE=100
ENV
cat >expected-end.env <<ENV
ALERT_BYTES=37000
ALERT_DST=198.51.100.7
ALERT_DURATION=5.000000000
ALERT_END=1700000006.000000000
ALERT_GROUP=customers
ALERT_ID=$id
ALERT_KERNEL=ddos
ALERT_KEY=198.51.100.7
ALERT_METRIC=pkts
ALERT_PEAK=100
ALERT_PKTS=370
ALERT_REASON=below
ALERT_START=1700000001.000000000
ALERT_STATE=end
ALERT_THRESHOLD=50
ALERT_VALUE=100
ENV
for state in start end; do
	diff -u "expected-$state.stdin" "received/$id-$state.stdin" || fail "the $state action's stdin differs"
	diff -u "expected-$state.env" "received/$id-$state.env" || fail "the $state action's variables differ"
done
echo "  ok: 198.51.100.7's start and end: the jsonl line on stdin, 15 and 16 ALERT_ variables, exactly"
# every record's line reached its action, byte for byte
cat received/*.stdin | sort >all.stdin
sort alerts.jsonl | diff -u - all.stdin || fail "the actions' lines differ from the jsonl sink's"
for order in received/*.order; do
	case "$(paste -sd ' ' "$order")" in "start end" | "start update end") ;;
	*) fail "$order: actions ran in the order $(paste -sd ' ' "$order")" ;; esac
done
[ "$(find received -name '*.order' | wc -l)" -eq 4 ] || fail "not 4 alerts"
echo "  ok: 9 lines as the jsonl sink wrote them; each alert's actions in order (start, update, end)"

echo "checks: a program that hangs is killed at its timeout and counted"
cat >hang.sh <<'SH'
#!/bin/sh
# the end's action ignores SIGTERM: only SIGKILL ends it
[ "$ALERT_STATE" != end ] || trap '' TERM
# a start's leaves a child ignoring SIGTERM behind when it ends by it: the group's SIGKILL ends that
[ "$ALERT_STATE" != start ] || (trap '' TERM; exec sleep 317) &
sleep 30 &
wait
SH
chmod +x hang.sh
write_action_pipeline "format: exec" "command: [$work/hang.sh]" "timeout: 300ms" "concurrency: 16" >hang.yaml
start=$SECONDS
run_ok hang.stderr -p hang.yaml
[ $((SECONDS - start)) -lt 10 ] || fail "the hanging programs took $((SECONDS - start)) s"
expect_stats hang.stderr records=0 actions_run=9 actions_failed=0 actions_timed_out=9 dropped_records=0
[ "$(grep -c 'ran longer than its timeout (0.300 s): killed' hang.stderr)" -eq 1 ] ||
	{ cat hang.stderr; fail "not one line for the timed out actions"; }
grep -q "kernel 'act': 8 more actions failed since the last line" hang.stderr ||
	{ cat hang.stderr; fail "no count of the other timed out actions"; }
! pgrep -f "$work/hang.sh" >/dev/null || fail "a hanging program survived"
! pgrep -f "^sleep 317$" >/dev/null || fail "a child ignoring SIGTERM outlived its timed-out program"
echo "  ok: 9 actions_timed_out (4 ignoring SIGTERM, killed after 1 s), one line logged, none left"
echo "      running, a child that ignored SIGTERM after its program ended included"

echo "checks: a failing program is counted and logged once per interval"
write_action_pipeline "format: exec" "command: [/bin/sh, -c, 'cat >/dev/null; exit 3']" >fail.yaml
run_ok fail.stderr -p fail.yaml
expect_stats fail.stderr records=0 actions_run=9 actions_failed=9 actions_timed_out=0 dropped_records=0
[ "$(grep -c "warning: kernel 'act': the action for the .* alert of .* failed: /bin/sh exited with status 3$" fail.stderr)" -eq 1 ] ||
	{ cat fail.stderr; fail "not one line for the failed actions"; }
grep -q "kernel 'act': 8 more actions failed since the last line" fail.stderr ||
	{ cat fail.stderr; fail "no count of the other failures"; }
echo "  ok: 9 actions_failed, one line with the exit status, one count of the other 8"
echo "checks: past queue:, alerts are counted as dropped_sink_full, the exit status 1"
write_action_pipeline "format: exec" "command: [/bin/sleep, 2]" "concurrency: 1" "queue: 1" >full.yaml
status=0
run_jetstreamd full.stderr -p full.yaml || status=$?
[ "$status" -eq 1 ] || { cat full.stderr; fail "exit status $status with dropped alerts, expected 1"; }
run="$(sink_stat full.stderr actions_run)" dropped="$(sink_stat full.stderr dropped_sink_full)"
# one runs, one waits; the 9 arrive within the first program's 2 s (a second may end up dropped
# too when it came before the thread had started the first)
if [ $((run + dropped)) -ne 9 ] || [ "$run" -lt 1 ] || [ "$run" -gt 2 ]; then
	cat full.stderr
	fail "actions_run $run and dropped_sink_full $dropped, expected 1 or 2 making 9"
fi
expect_stats full.stderr records="$run" dropped_records="$dropped" dropped_drain_timeout=0
grep -q "error: kernel 'act' (replica 0): $dropped alerts not acted on (dropped_records: sink_full $dropped, drain_timeout 0)" full.stderr ||
	{ cat full.stderr; fail "no error line for the dropped alerts"; }
echo "  ok: $run run, $dropped dropped_sink_full, said in the exit status and the log"
echo "checks: SIGTERM with a program running: drain_timeout bounds the stop"
cat >live.yaml <<'YAML'
version: 1
kernels:
  rx:
    type: source
    synthetic: {sources: 5, rate_pps: 2000}
  count:
    type: per_src_counter
    input: rx
    window: 100ms
  alarm:
    type: threshold
    input: count
    alerts: lifecycle
    above: 10
  act:
    type: sink
    input: alarm
    format: exec
    command: [/bin/sleep, 30]
    concurrency: 1
    drain_timeout: 1s
YAML
"$jetstreamd" -p live.yaml 2>live.stderr &
running_pid=$!
sleep 1
kill -TERM "$running_pid"
start=$SECONDS
wait_exit 10
[ "$exit_status" -eq 1 ] || { cat live.stderr; fail "exit status $exit_status, expected 1 (alerts not acted on)"; }
[ $((SECONDS - start)) -le 3 ] || fail "the stop took $((SECONDS - start)) s with drain_timeout 1s"
received="$(grep -E '^  act +sink ' live.stderr | awk '{print $5}')"
expect_stats live.stderr records=0 actions_run=1 actions_timed_out=1 dropped_drain_timeout=$((received - 1)) \
	actions_queued=0 actions_running=0
grep -q "kernel 'act': the action for the start alert of .* was stopped: still running at drain_timeout$" live.stderr ||
	{ cat live.stderr; fail "no line for the stopped program"; }
! pgrep -f '^/bin/sleep 30$' >/dev/null || fail "the program survived the stop"
echo "  ok: stopped within drain_timeout: the running program killed (actions_timed_out), $((received - 1)) queued alerts dropped_drain_timeout"
echo "ok: exec actions get the exact line and variables, in order; timeouts and failures counted"
