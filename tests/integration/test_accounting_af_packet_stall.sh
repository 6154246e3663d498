#!/usr/bin/env bash
# Accounting of an af_packet source whose daemon stalls: tcpreplay sends
# frames into a veth pair while the whole daemon is stopped (SIGSTOP) for
# 300 ms, so its small socket ring (1024 frames) overflows. Every frame sent
# must then be either processed or counted as a socket drop, with drops > 0:
# frames sent = processed + socket_drops, and the kernel's own count of the
# frames it queued for the socket equals the frames sent. DPDK 22.11's
# af_packet driver reports none of these drops (imissed stays 0), so before
# the daemon read PACKET_STATISTICS the summary said "0 dropped" here.
# Namespaces, veth and cleanup as in test_af_packet.sh.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"

setup_veth_namespaces

make_live_trace 60000 100 11

cat >"$work/live.yaml" <<EOF
version: 1
kernels:
  rx:
    type: source
    port: "net_af_packet0,iface=$capture_interface,framecnt=1024"
$(pipeline_counter total rx total)
  out:
    type: sink
    input: total
    format: jsonl
    path: "$work/records.jsonl"
EOF

echo "checks: tcpreplay --pps=60000 while the daemon is stopped for 300 ms -> sent = processed + socket_drops, drops > 0"
start_notify_listener
ip netns exec "$capture_namespace" "$jetstreamd" -p "$work/live.yaml" 2>"$work/stderr" &
running_pid=$!
wait_ready 20
ip netns exec "$replay_namespace" tcpreplay --intf1="$replay_interface" --pps=60000 "$trace" \
	>"$work/tcpreplay.log" 2>&1 &
replay_pid=$!
at_exit "kill $replay_pid 2>/dev/null"
sleep 0.2
kill -STOP "$running_pid"
sleep 0.3
kill -CONT "$running_pid"
wait "$replay_pid" || { cat "$work/tcpreplay.log"; fail "tcpreplay failed"; }
sent="$(sed -n 's/^[[:space:]]*Successful packets:[[:space:]]*\([0-9]*\)$/\1/p' "$work/tcpreplay.log")"
[ -n "$sent" ] || { cat "$work/tcpreplay.log"; fail "tcpreplay printed no count of the frames it sent"; }
echo "  ok: tcpreplay sent $sent frames; the daemon was stopped for 300 ms meanwhile"
stop_live_capture

processed="$(records_tool summary "$work/stderr" rx.out)" || { cat "$work/stderr"; fail "no exit summary"; }
dropped="$(records_tool summary "$work/stderr" dropped)"
echo "  summary: sent $sent, processed $processed, dropped $dropped"
[ "$((processed + dropped))" -eq "$sent" ] ||
	{ cat "$work/stderr"; fail "$sent frames sent, but processed $processed + dropped $dropped = $((processed + dropped))"; }
socket_drops="$(records_tool summary "$work/stderr" rx.socket_drops)" || { cat "$work/stderr"; fail "no socket_drops in the summary"; }
read -r received equation_processed equation_drops unread < <(accounting_line_figures "$work/stderr" rx) ||
	{ cat "$work/stderr"; fail "no accounting line for source rx"; }
echo "  accounting: received $received = processed $equation_processed + drops $equation_drops + unread $unread; socket_drops $socket_drops"
[ "$socket_drops" -gt 0 ] || fail "no socket drops: the 300 ms stall did not overflow the 1024-frame ring"
[ "$socket_drops" -eq "$dropped" ] || fail "socket_drops $socket_drops, but $dropped dropped in all"
[ "$received" -eq "$sent" ] || fail "the kernel queued $received frames for the socket, $sent were sent"
[ "$unread" -eq 0 ] || fail "$unread frames were left unread in the socket ring at exit, though the sender had finished"
[ "$equation_processed" -eq "$processed" ] && [ "$equation_drops" -eq "$dropped" ] ||
	fail "the accounting line says processed $equation_processed, drops $equation_drops; the kernel lines $processed, $dropped"
echo "ok: frames sent $sent = processed $processed + socket_drops $socket_drops, counted by the kernel as $received"
