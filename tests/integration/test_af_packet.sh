#!/usr/bin/env bash
# Live capture through DPDK's af_packet driver: a generated trace is replayed
# with tcpreplay into one end of a veth pair, jetstreamd captures the other
# end, and after SIGTERM the per-source counts must equal the trace's oracle
# exactly. Both ends live in network namespaces made by this test (removed on
# every exit path), with IPv6 off and no address, so the kernel sends nothing
# of its own and no traffic leaves them. Needs root, `ip netns` and tcpreplay.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"

setup_veth_namespaces

make_live_trace 3000 50 3

# Two counters on the one source: over the whole run, and per wall-clock second.
records="$work/records.jsonl"
cat >"$work/live.yaml" <<EOF
version: 1
kernels:
  rx:
    type: source
    port: "net_af_packet0,iface=$capture_interface"
$(pipeline_counter total rx total)
$(pipeline_counter per_second rx 1s)
  out:
    type: sink
    input: [total, per_second]
    format: jsonl
    path: "$records"
EOF

echo "checks: tcpreplay --pps=2000 into the veth, SIGTERM -> exit 0, per-source counts (in total and"
echo "        summed over wall-clock seconds) = the oracle"
start_notify_listener
ip netns exec "$capture_namespace" "$jetstreamd" -p "$work/live.yaml" 2>"$work/stderr" &
running_pid=$!
wait_ready 20
ip netns exec "$replay_namespace" tcpreplay --intf1="$replay_interface" --pps=2000 "$trace" \
	>"$work/tcpreplay.log" 2>&1 || { cat "$work/tcpreplay.log"; fail "tcpreplay failed"; }
grep -Eq "Successful packets: +$frames\$" "$work/tcpreplay.log" ||
	{ cat "$work/tcpreplay.log"; fail "tcpreplay did not send all $frames frames"; }
echo "  ok: tcpreplay sent $frames frames"
stop_live_capture

read_live_summary
records_tool totals "$records" total >"$work/actual.tsv"
diff -u "$trace.src.tsv" "$work/actual.tsv" >"$work/diff" ||
	{ sed 's/^/    /' "$work/stderr"; head -n 30 "$work/diff"; fail "captured per-source counts differ from the oracle (diff oracle actual above)"; }
echo "  ok: window: total: $(wc -l <"$work/actual.tsv") sources, packets and bytes equal the oracle exactly"
windows="$(records_tool windows "$records" 1000000000 per_second)" || { echo "$windows"; fail "bad live windows"; }
echo "  ok: window: 1s: $windows"
records_tool totals "$records" per_second >"$work/per_second.tsv"
diff -u "$trace.src.tsv" "$work/per_second.tsv" >"$work/diff" ||
	{ head -n 30 "$work/diff"; fail "per-second counts summed per source differ from the oracle"; }
echo "  ok: window: 1s: summed per source, equal to the oracle exactly"
check_live_summary "$frames" "$arp_frames"
echo "ok: live af_packet capture counts every replayed frame exactly"
