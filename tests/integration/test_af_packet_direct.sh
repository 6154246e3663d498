#!/usr/bin/env bash
# af_packet with `queues: 2` feeds a two-replica flow_tracker directly: the
# kernel's fanout hash is symmetric over addresses and ports, so queue i can
# feed replica i with no software hash. A per_src_counter on the same source
# needs the source address alone, which the fanout does not keep together: it
# stays on the software partition, and the log says why. Checked, over a veth
# pair in namespaces made by the test (as test_af_packet.sh), replaying a real
# capture of bidirectional TLS flows:
#   - the log names each consumer's mapping;
#   - the status: flows replica i reads only rx replica i, on rx replica i's
#     lcore, and takes exactly what that queue received; count's replicas
#     read both source replicas;
#   - every flow is exported by one replica only, once (a flow split over two
#     queues would be two records), and the flows equal Wireshark's;
#   - per-source counts equal the oracle, every frame is counted, none unread,
#     none moved between queues by the fanout (fanout_rollover 0);
#   - the same through a reload that changes the tracker's timeouts (it takes
#     the old replicas' flows) between two replays: one record per flow, each
#     flow counted twice;
#   - `queue_mapping: software`: the same answers through the software hash,
#     with every consumer replica reading both source replicas;
#   - a kernel that reads two such sources (the example plugin ttl_change on
#     the veth and on a second, quiet one) is not fed directly by either, since
#     two spreadings would split a flow: the log says so, each of its replicas
#     reads all four source replicas and together they take every frame, while
#     the tracker beside it stays direct.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"

[ -d "$traces" ] || skip "$traces not found (the shared test captures are not part of a fresh clone)"
require_jetstreamctl
setup_veth_namespaces

trace="$traces/pcapplusplus_tls2.pcap"
read -r _ frames _ longest < <(records_tool pcap-info "$trace")
check_live_trace "$trace" "$frames" "$longest"
socket="$work/control.sock"
records="$work/records.jsonl"

# write_pipeline MAPPING IDLE_TIMEOUT [SECOND_INTERFACE]: with a second interface, a
# second two-queue source 'rx2' on it and the example plugin ttl_change reading
# both sources, two replicas
write_pipeline() {
	local second_source="" second_consumer="" sink_input="[flows, count]"
	if [ $# -ge 3 ]; then
		second_source="  rx2:
    type: source
    port: \"net_af_packet1,iface=$3\"
    queues: 2"
		second_consumer="  ttl:
    type: ttl_change
    input: [rx, rx2]
    replicas: 2"
		sink_input="[flows, count, ttl]"
	fi
	replace_file "$work/live.yaml" <<EOF
version: 1
kernels:
  rx:
    type: source
    port: "net_af_packet0,iface=$capture_interface"
    queues: 2
    queue_mapping: $1
$second_source
$second_consumer
  flows:
    type: flow_tracker
    input: rx
    replicas: 2
    idle_timeout: $2
    active_timeout: 1d
  count:
    type: per_src_counter
    input: rx
    replicas: 2
    window: total
  out:
    type: sink
    input: $sink_input
    path: "$records"
EOF
	replace_file "$work/settings.yaml" <<EOF
version: 1
control_socket: $socket
metrics: "off"
plugins: [$work/plugins]
pipelines: [live.yaml]
EOF
}

replay() {
	ip netns exec "$replay_namespace" tcpreplay --intf1="$replay_interface" --pps=10000 "$trace" \
		>"$work/tcpreplay.log" 2>&1 || { cat "$work/tcpreplay.log"; fail "tcpreplay failed"; }
	grep -Eq "Successful packets: +$frames\$" "$work/tcpreplay.log" ||
		{ cat "$work/tcpreplay.log"; fail "tcpreplay did not send all $frames frames"; }
}

# status_rows: "KERNEL REPLICA LCORE ITEMS_IN PRODUCER_REPLICAS QUEUE_RECEIVED ROLLOVER" per instance
status_rows() {
	ip netns exec "$capture_namespace" "$jetstreamctl" -s "$socket" status --json >"$work/status.json" ||
		fail "jetstreamctl status failed"
	python3 - "$work/status.json" <<'EOF'
import json, sys
for row in json.load(open(sys.argv[1]))["instances"]:
    producers = ",".join(str(i["producer_replica"]) for i in row["inputs"]) or "-"
    stats = row["stats"]
    print(row["kernel"], row["replica"], row["lcore"], row["items_in"], producers,
          stats.get("queue_received", "-"), stats.get("fanout_rollover", "-"))
EOF
}

# check_wiring MAPPING: the consumers' inputs as MAPPING promises, after the traffic
check_wiring() {
	local mapping="$1" rows
	rows="$(status_rows)"
	echo "$rows" | sed 's/^/    status: /'
	for replica in 0 1; do
		local rx flows count
		rx="$(echo "$rows" | awk -v r="$replica" '$1 == "rx" && $2 == r')"
		flows="$(echo "$rows" | awk -v r="$replica" '$1 == "flows" && $2 == r')"
		count="$(echo "$rows" | awk -v r="$replica" '$1 == "count" && $2 == r')"
		read -r _ _ rx_lcore _ _ rx_queue rx_rollover <<<"$rx"
		read -r _ _ flows_lcore flows_in flows_producers _ _ <<<"$flows"
		read -r _ _ _ _ count_producers _ _ <<<"$count"
		[ "$rx_rollover" = 0 ] || fail "rx replica $replica: fanout_rollover $rx_rollover, expected 0"
		[ "$count_producers" = "0,1" ] || fail "count replica $replica reads rx replicas '$count_producers', expected 0,1"
		if [ "$mapping" = direct ]; then
			[ "$flows_producers" = "$replica" ] ||
				fail "flows replica $replica reads rx replicas '$flows_producers', expected only $replica"
			[ "$flows_lcore" = "$rx_lcore" ] ||
				fail "flows replica $replica runs on lcore $flows_lcore, rx replica $replica on $rx_lcore"
			[ "$flows_in" = "$rx_queue" ] ||
				fail "flows replica $replica took $flows_in packets, its queue received $rx_queue"
		else
			[ "$flows_producers" = "0,1" ] ||
				fail "flows replica $replica reads rx replicas '$flows_producers', expected 0,1"
		fi
	done
	echo "  ok: wiring as '$mapping' promises (direct: replica i reads queue i on its lcore, all it received)"
}

# check_results COPIES: flows and per-source counts are COPIES times the oracle's, one record a flow
check_results() {
	local copies="$1"
	read_live_summary
	check_live_summary "$((frames * copies))" 0
	read -r received processed drops unread < <(accounting_line_figures "$work/stderr" rx) ||
		{ cat "$work/stderr"; fail "no accounting line for source rx"; }
	echo "  accounting: received $received = processed $processed + drops $drops + unread $unread"
	[ "$unread" -eq 0 ] || fail "$unread frames left unread in a queue socket"
	python3 - "$records" <<'EOF' >"$work/split.txt"
import collections, json, sys
keys = collections.Counter()
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r["type"] == "flow":
        ends = sorted([(r["src"], r["sport"]), (r["dst"], r["dport"])])
        keys[(r["proto"], tuple(ends))] += 1
for key, count in keys.items():
    if count > 1:
        print(count, key)
EOF
	[ ! -s "$work/split.txt" ] || { head "$work/split.txt"; fail "flows exported by more than one replica or twice (above)"; }
	python3 "$integration_directory/flows_oracle.py" "$records" | LC_ALL=C sort >"$work/flows.tsv"
	awk -F'\t' -v OFS='\t' -v n="$copies" '{ for (i = 6; i <= NF; i++) $i *= n; print }' \
		"$trace.flows.tsv" | LC_ALL=C sort >"$work/oracle.flows.tsv"
	diff -u "$work/oracle.flows.tsv" "$work/flows.tsv" >"$work/diff" ||
		{ head -n 20 "$work/diff"; fail "flows differ from Wireshark's"; }
	records_tool totals "$records" count >"$work/actual.tsv"
	awk -F'\t' -v OFS='\t' -v n="$copies" '{ $2 *= n; $3 *= n; print }' "$trace.src.tsv" \
		>"$work/oracle.src.tsv"
	diff -u "$work/oracle.src.tsv" "$work/actual.tsv" >"$work/diff" ||
		{ head -n 20 "$work/diff"; fail "per-source counts differ from the oracle"; }
	echo "  ok: $(wc -l <"$work/flows.tsv") flows, one record each, = Wireshark's x$copies; per-source counts = oracle x$copies"
}

command -v cc >/dev/null || skip "needs a C compiler to build the example plugins"
make -C "$repo_root" --no-print-directory -s examples >/dev/null 2>"$work/make.txt" ||
	{ cat "$work/make.txt"; fail "make examples failed"; }
mkdir -m 0755 "$work/plugins"
install -m 0644 "$repo_root/build/examples/ttl_change.so" "$work/plugins/ttl_change.so"

start_notify_listener
start_capture() {
	rm -f "$records"
	: >"$work/notify.log"
	: >"$work/notify.messages"
	ip netns exec "$capture_namespace" "$jetstreamd" -c "$work/settings.yaml" 2>"$work/stderr" &
	running_pid=$!
	wait_ready 20
}

echo "checks: queues: 2 -> flows fed directly, count through the software partition; exact"
write_pipeline direct 1d
start_capture
grep -q "kernel 'flows': queue i of 'rx' feeds replica i directly, with no software hash (af_packet's fanout spreads by the kernel's symmetric flow hash)" "$work/stderr" ||
	{ cat "$work/stderr"; fail "no log line saying flows is fed directly"; }
grep -q "kernel 'count': 'rx' feeds its replicas through the software partition: af_packet's fanout spreads by the kernel's symmetric flow hash, not by source address" "$work/stderr" ||
	{ cat "$work/stderr"; fail "no log line saying why count stays on the software partition"; }
echo "  ok: the log says flows is fed directly and why count is not"
replay
sleep 0.5
check_wiring direct
stop_live_capture
check_results 1

echo "checks: the same through a reload that changes the tracker's idle timeout (take_state)"
write_pipeline direct 1d
start_capture
replay
sleep 0.5
write_pipeline direct 23h
kill -HUP "$running_pid"
wait_notify "READY=1" 2 20
[[ "$(notify_message READY=1 2)" == *"STATUS=generation 2"* ]] ||
	{ cat "$work/stderr"; fail "the reload did not make generation 2: $(notify_message READY=1 2)"; }
replay
sleep 0.5
check_wiring direct
stop_live_capture
check_results 2

echo "checks: queue_mapping: software -> both consumers through the software hash; exact"
write_pipeline software 1d
start_capture
grep -q "kernel 'flows': 'rx' feeds its replicas through the software partition: \`queue_mapping: software\`" "$work/stderr" ||
	{ cat "$work/stderr"; fail "no log line saying flows is on the software partition"; }
replay
sleep 0.5
check_wiring software
stop_live_capture
check_results 1
echo "checks: a kernel reading two two-queue sources -> the software partition; exact"
second_interface="jsrxb$$"
ip -n "$capture_namespace" link add name "$second_interface" type veth peer name "jstxb$$"
for interface in "$second_interface" "jstxb$$"; do
	ip netns exec "$capture_namespace" sysctl -qw "net.ipv6.conf.$interface.disable_ipv6=1"
	ip -n "$capture_namespace" link set "$interface" up
done
write_pipeline direct 1d "$second_interface"
start_capture
grep -q "kernel 'ttl': 'rx' feeds its replicas through the software partition: the kernel reads 2 inputs, which must all be partitioned by the one software hash" "$work/stderr" ||
	{ cat "$work/stderr"; fail "no log line saying the two-input kernel is on the software partition"; }
replay
sleep 0.5
check_wiring direct
rows="$(status_rows)"
ttl_in=0
for replica in 0 1; do
	read -r ttl_producers replica_in < <(echo "$rows" | awk -v r="$replica" '$1 == "ttl" && $2 == r { print $5, $4 }')
	[ "$ttl_producers" = "0,1,0,1" ] ||
		fail "ttl replica $replica reads source replicas '$ttl_producers', expected 0,1,0,1 (both of rx and of rx2)"
	ttl_in=$((ttl_in + replica_in))
done
[ "$ttl_in" -eq "$frames" ] || fail "the ttl replicas took $ttl_in packets, $frames were replayed"
echo "  ok: each ttl replica reads both replicas of rx and of rx2; together they took all $frames frames"
stop_live_capture
check_results 1
echo "ok: af_packet queues feed flow_tracker replicas directly; software partition where needed; exact"
