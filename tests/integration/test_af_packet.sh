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

[ "$(id -u)" -eq 0 ] || skip "needs root (network namespaces, veth, raw sockets)"
command -v ip >/dev/null || skip "the ip command (iproute2) is not installed"
command -v tcpreplay >/dev/null || skip "tcpreplay is not installed"

suffix="$$"
capture_namespace="jetstream-rx-$suffix"
replay_namespace="jetstream-tx-$suffix"
capture_interface="jsrx$suffix"  # the end jetstreamd reads
replay_interface="jstx$suffix"   # the end tcpreplay writes

ip netns add "$capture_namespace" 2>"$work/netns.err" ||
	skip "cannot create a network namespace: $(cat "$work/netns.err")"
at_exit "ip netns delete '$capture_namespace' 2>/dev/null"
ip netns add "$replay_namespace"
at_exit "ip netns delete '$replay_namespace' 2>/dev/null"
for namespace in "$capture_namespace" "$replay_namespace"; do
	# interfaces made afterwards take the defaults: no IPv6, so no DAD or router solicitation
	ip netns exec "$namespace" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 \
		net.ipv6.conf.default.disable_ipv6=1
done
ip link add name "$capture_interface" netns "$capture_namespace" type veth \
	peer name "$replay_interface" netns "$replay_namespace"
ip netns exec "$capture_namespace" sysctl -qw "net.ipv6.conf.$capture_interface.disable_ipv6=1"
ip netns exec "$replay_namespace" sysctl -qw "net.ipv6.conf.$replay_interface.disable_ipv6=1"
ip -n "$capture_namespace" link set "$capture_interface" up
ip -n "$replay_namespace" link set "$replay_interface" up
echo "setup: veth $replay_interface (netns $replay_namespace) -> $capture_interface (netns $capture_namespace), no IPv6, no address"

# No VLAN tags: the kernel may take a tag off the frame into metadata, changing its length.
trace="$work/trace.pcap"
python3 "$repo_root/scripts/gen_trace.py" --packets 3000 --sources 50 --seed 3 --vlan-share 0 \
	--output "$trace" --oracle
read -r _ frames _ longest < <(records_tool pcap-info "$trace")
[ "$longest" -le 1514 ] || fail "the trace has a $longest-byte frame, more than the veth MTU allows"
arp_frames=$((frames - $(awk -F'\t' '{ sum += $2 } END { print sum + 0 }' "$trace.src.tsv")))
echo "trace: $frames frames ($arp_frames ARP), $(wc -l <"$trace.src.tsv") IP sources, longest frame $longest bytes"

# Two counters on the one source: over the whole run, and per wall-clock second.
records="$work/records.jsonl"
cat >"$work/live.yaml" <<EOF
version: 1
kernels:
  rx:
    type: source
    port: "net_af_packet0,iface=$capture_interface"
  total:
    type: per_src_counter
    input: rx
    window: total
  per_second:
    type: per_src_counter
    input: rx
    window: 1s
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
sleep 0.5 # frames still in the af_packet ring are drained on stop, but let them arrive
kill -TERM "$running_pid"
wait_exit 20
[ "$exit_status" -ne 255 ] || fail "jetstreamd still runs 20 s after SIGTERM"
[ "$exit_status" -eq 0 ] || { cat "$work/stderr"; fail "exit status $exit_status after SIGTERM, expected 0"; }
echo "  ok: exit status 0 after SIGTERM"

packets="$(records_tool summary "$work/stderr" packets)" || { cat "$work/stderr"; fail "no exit summary"; }
non_ip="$(records_tool summary "$work/stderr" rx.non_ip_packets)"
dropped="$(records_tool summary "$work/stderr" dropped)"
echo "  summary: $packets packets, $non_ip non-IP, $dropped dropped"
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
[ "$packets" = "$frames" ] || fail "the summary counts $packets packets, $frames were replayed"
[ "$non_ip" = "$arp_frames" ] || fail "the summary counts $non_ip non-IP packets, the trace has $arp_frames ARP frames"
[ "$dropped" = 0 ] || fail "$dropped packets dropped"
echo "  ok: the summary counts all $frames frames ($arp_frames non-IP) and 0 dropped"
echo "ok: live af_packet capture counts every replayed frame exactly"
