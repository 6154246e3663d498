#!/usr/bin/env bash
# af_packet with two queue pairs and `queues: 2`: the driver's queue sockets
# form one PACKET_FANOUT group, so the kernel hands each socket a share of
# the flows, and both queues must be read. The daemon used to fall back to one
# queue (af_packet has no RSS), leaving the second socket's frames, about half
# of them, unread and uncounted. Every replayed frame must be counted, and the
# accounting line must show none unread. Namespaces, veth and cleanup as in
# test_af_packet.sh.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"

setup_veth_namespaces

make_live_trace 3000 50 7

records="$work/records.jsonl"
write_counter_pipeline "$work/live.yaml" "port: \"net_af_packet0,iface=$capture_interface,qpairs=2\"
queues: 2" "window: total" "$records"

echo "checks: qpairs=2 and queues: 2 -> both queue sockets read, every frame counted, none unread"
start_notify_listener
ip netns exec "$capture_namespace" "$jetstreamd" -p "$work/live.yaml" 2>"$work/stderr" &
running_pid=$!
wait_ready 20
ip netns exec "$replay_namespace" tcpreplay --intf1="$replay_interface" --pps=10000 "$trace" \
	>"$work/tcpreplay.log" 2>&1 || { cat "$work/tcpreplay.log"; fail "tcpreplay failed"; }
grep -Eq "Successful packets: +$frames\$" "$work/tcpreplay.log" ||
	{ cat "$work/tcpreplay.log"; fail "tcpreplay did not send all $frames frames"; }
stop_live_capture
read_live_summary
read -r received processed drops unread < <(accounting_line_figures "$work/stderr" rx) ||
	{ cat "$work/stderr"; fail "no accounting line for source rx"; }
echo "  accounting: received $received = processed $processed + drops $drops + unread $unread"
[ "$unread" -eq 0 ] || { cat "$work/stderr"; fail "$unread frames left unread in a queue socket"; }
check_live_summary "$frames" "$arp_frames"
records_tool totals "$records" count >"$work/actual.tsv"
diff -u "$trace.src.tsv" "$work/actual.tsv" >"$work/diff" ||
	{ head -n 30 "$work/diff"; fail "captured per-source counts differ from the oracle"; }
echo "ok: two af_packet queues: every frame counted, per-source counts equal the oracle"
