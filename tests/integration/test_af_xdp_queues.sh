#!/usr/bin/env bash
# An AF_XDP socket sees only the receive queues it is bound to: the other
# queues of the interface deliver to the kernel stack, and the daemon never
# sees those frames (a veth of two receive queues read through one af_xdp
# queue counted 3987 of 7451 replayed frames, and nothing said so). The start
# must warn, naming the queues present and read; an interface whose queues
# are all read gets no warning. Namespaces and veth
# as in test_af_packet.sh.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"

setup_veth_namespaces
make_live_trace 2000 50 11
write_counter_pipeline "$work/probe.yaml" "port: \"net_af_xdp0,iface=$capture_interface\"" "window: total" "$work/probe.jsonl"
"$jetstreamd" --check -p "$work/probe.yaml" >/dev/null 2>&1 || skip "this build has no af_xdp driver"

# a second pair whose capture end has two receive queues
wide_capture="jsxr$$"
wide_replay="jsxt$$"
ip link add name "$wide_capture" netns "$capture_namespace" numrxqueues 2 numtxqueues 2 type veth \
	peer name "$wide_replay" netns "$replay_namespace" numrxqueues 2 numtxqueues 2
ip netns exec "$capture_namespace" sysctl -qw "net.ipv6.conf.$wide_capture.disable_ipv6=1"
ip netns exec "$replay_namespace" sysctl -qw "net.ipv6.conf.$wide_replay.disable_ipv6=1"
ip -n "$capture_namespace" link set "$wide_capture" up
ip -n "$replay_namespace" link set "$wide_replay" up

records="$work/records.jsonl"

# capture INTERFACE REPLAY_INTERFACE: one af_xdp queue on INTERFACE while the trace is replayed
capture() {
	write_counter_pipeline "$work/live.yaml" "port: \"net_af_xdp0,iface=$1\"" "window: total" "$records"
	start_notify_listener
	ip netns exec "$capture_namespace" "$jetstreamd" -p "$work/live.yaml" 2>"$work/stderr" &
	running_pid=$!
	wait_ready 20
	ip netns exec "$replay_namespace" tcpreplay --intf1="$2" --pps=5000 "$trace" \
		>"$work/tcpreplay.log" 2>&1 || { cat "$work/tcpreplay.log"; fail "tcpreplay failed"; }
	stop_live_capture
}

echo "checks: two receive queues, one read -> the start warns with the queues present and read"
capture "$wide_capture" "$wide_replay"
grep -qF "warning: port 'net_af_xdp0,iface=$wide_capture': interface '$wide_capture' has 2 receive queues and af_xdp reads 1 (from queue 0): frames the NIC puts on the others go to the kernel, unseen and not counted; write \`queues: 2\` (with \`ethtool -L $wide_capture combined 2\`), or steer all traffic to the queues read" "$work/stderr" ||
	{ cat "$work/stderr"; fail "no warning about the unread receive queue"; }
echo "  ok: warned"

# (not every frame is counted there: af_xdp on veth drops frames its rx ring has no room
# for, which DPDK 22.11's driver does not report; the summary says those drops are unknown)
echo "checks: one receive queue, read -> no such warning"
rm -f "$work/notify.socket"
capture "$capture_interface" "$replay_interface"
if grep -q "receive queues and af_xdp reads" "$work/stderr"; then
	cat "$work/stderr"
	fail "a warning although every receive queue is read"
fi
grep -q "drops unknown at 1 source" "$work/stderr" || { cat "$work/stderr"; fail "the summary does not say af_xdp's drops are unknown"; }
echo "ok: af_xdp warns when receive queues go unread, and not when all are read"
