#!/usr/bin/env bash
# A port whose driver does not report its receive drops (net_ring: no imissed)
# must not read as "0 dropped": the daemon warns at start, naming the device
# and what is not counted, and its exit summary prints nic_imissed=unknown,
# an accounting line with "nic_imissed unknown" and "received unknown", and a
# total that says drops are unknown; systemd's STATUS= says so too. A driver without a receive queue to
# overflow (net_null makes its frames when asked) stays exact, with no
# nic_imissed at all. Needs no root: both are in-memory vdevs.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"

cd "$work"
echo "checks: net_ring source -> start warning, nic_imissed=unknown, accounting line and total say unknown"
write_counter_pipeline ring.yaml 'port: "net_ring0"' "window: total" "$work/ring.jsonl"
start_notify_listener
"$jetstreamd" -p ring.yaml 2>ring.stderr &
running_pid=$!
wait_notify READY=1 1 20
warning="jetstreamd: warning: port 'net_ring0' (driver net_ring): frames the device drops on receive (the driver reports no imissed) are not counted; the summary shows them as unknown"
grep -qxF "$warning" ring.stderr || { cat ring.stderr; fail "no start warning: $warning"; }
echo "  ok: warned at start: $warning"
# systemd's STATUS= of each second says it too, as the exit summary does
deadline=$((SECONDS + 5))
until grep -q '^STATUS=generation' notify.log; do
	[ "$SECONDS" -lt "$deadline" ] || { cat notify.log; fail "no STATUS=generation line within 5 s"; }
	sleep 0.1
done
status="$(grep '^STATUS=generation' notify.log | tail -n 1)"
[ "$status" = "STATUS=generation 1: 0 pps, 0 packets, 0 dropped; drops unknown at 1 source" ] ||
	fail "STATUS= does not say that drops are unknown: $status"
echo "  ok: $status"
kill -TERM "$running_pid"
wait_exit 10
[ "$exit_status" -eq 0 ] || { cat ring.stderr; fail "exit status $exit_status"; }
[ "$(records_tool summary ring.stderr rx.nic_imissed)" = unknown ] ||
	{ cat ring.stderr; fail "rx.nic_imissed is $(records_tool summary ring.stderr rx.nic_imissed), expected unknown"; }
line="jetstreamd: source rx: received unknown = processed 0 + nic_imissed unknown + nic_rx_nombuf 0 + ring_overflow 0; processed includes malformed_packets 0"
grep -qxF "$line" ring.stderr || { cat ring.stderr; fail "no accounting line: $line"; }
grep -Eqx 'jetstreamd: 0 packets in [0-9.]+ s \(0\.00 Mpps\), 0 dropped; drops unknown at 1 source' ring.stderr ||
	{ cat ring.stderr; fail "the total line does not say that drops are unknown"; }
echo "  ok: summary: nic_imissed=unknown, accounting line and total line say unknown"

echo "checks: net_null source -> no warning, no nic_imissed, the equation holds"
write_counter_pipeline null.yaml 'port: "net_null0"' "window: total" "$work/null.jsonl"
"$jetstreamd" -p null.yaml 2>null.stderr &
running_pid=$!
wait_notify READY=1 2 20
kill -TERM "$running_pid"
wait_exit 10
[ "$exit_status" -eq 0 ] || { cat null.stderr; fail "exit status $exit_status"; }
! grep -q "warning: port" null.stderr || { cat null.stderr; fail "a warning about net_null's drops"; }
! grep -q "nic_imissed" null.stderr || { cat null.stderr; fail "net_null has no receive queue to overflow, but nic_imissed is printed"; }
read -r received processed drops unread < <(accounting_line_figures null.stderr rx) || { cat null.stderr; fail "no accounting line"; }
[ "$processed" -gt 0 ] && [ "$received" -eq "$processed" ] && [ "$drops" -eq 0 ] && [ "$unread" -eq 0 ] ||
	{ cat null.stderr; fail "net_null: received $received, processed $processed, drops $drops"; }
echo "  ok: net_null: received $received = processed $processed, no drop place, no warning"
