#!/usr/bin/env bash
# af_packet at a brisk rate, in agent mode: 100,000 frames replayed at
# 150,000 pps must all be counted. The driver's default socket ring (512
# frames) overflowed on such bursts, and DPDK 22.11's af_packet driver reports
# none of those drops, so the daemon sizes the ring itself; this test failed
# before it did. Namespaces, veth and cleanup as in test_af_packet.sh.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"

setup_veth_namespaces

make_live_trace 100000 200 5

records="$work/records.jsonl"
printf 'version: 1\nidle: sleep\n' >"$work/settings.yaml"
cat >"$work/live.yaml" <<EOF
version: 1
kernels:
  rx:
    type: source
    port: "net_af_packet0,iface=$capture_interface"
$(pipeline_counter total rx total)
  out:
    type: sink
    input: total
    path: "$records"
EOF

echo "checks: tcpreplay --pps=150000, idle: sleep -> every frame counted, per-source counts = oracle"
start_notify_listener
ip netns exec "$capture_namespace" "$jetstreamd" -c "$work/settings.yaml" -p "$work/live.yaml" \
	2>"$work/stderr" &
running_pid=$!
wait_ready 20
ip netns exec "$replay_namespace" tcpreplay --intf1="$replay_interface" --pps=150000 "$trace" \
	>"$work/tcpreplay.log" 2>&1 || { cat "$work/tcpreplay.log"; fail "tcpreplay failed"; }
grep -Eq "Successful packets: +$frames\$" "$work/tcpreplay.log" ||
	{ cat "$work/tcpreplay.log"; fail "tcpreplay did not send all $frames frames"; }
echo "  ok: tcpreplay sent $frames frames"
stop_live_capture
read_live_summary
check_live_summary "$frames" "$arp_frames"
records_tool totals "$records" total >"$work/actual.tsv"
diff -u "$trace.src.tsv" "$work/actual.tsv" >"$work/diff" ||
	{ head -n 30 "$work/diff"; fail "captured per-source counts differ from the oracle"; }
echo "  ok: $(wc -l <"$work/actual.tsv") sources, packets and bytes equal the oracle exactly"
