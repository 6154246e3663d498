#!/usr/bin/env bash
# IPFIX export (format ipfix) of every shared capture's flows, read back by
# real collectors: over UDP by nfcapd (nfdump), whose records give per 5-tuple
# and direction exactly the packets of X.flows.tsv and, as ibyt
# (octetDeltaCount), the IP-level bytes tshark computes from ip.len/ipv6.plen
# (ip_bytes_oracle.py); over TCP into a file that libfixbuf's ipfixDump
# decodes (nfcapd has no TCP listener): packets, layer-2 bytes (frame.len) and
# octetDeltaCount per direction exactly, one record per direction and as
# RFC 5103 biflow records (one per flow, reverse elements); each message in
# observation domain 7 with the sequence number RFC 7011 asks (data records
# sent before it). The jsonl flow lines' ip_bytes/rev_ip_bytes are
# checked against the same tshark figures.
# Then the delivery contract: a TCP collector that accepts and never reads
# (the daemon still stops within drain_timeout, counting what it could not
# send; when_full: drop drops the newest), no TCP collector, no UDP
# collector (ICMP port unreachable: retried, then counted), the template
# refresh over UDP.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"

[ -d "$traces" ] || skip "$traces not found (the shared test captures are not part of a fresh clone)"
for tool in nfcapd nfdump ipfixDump ss tshark; do
	command -v "$tool" >/dev/null || skip "$tool not installed (scripts/deps.sh installs nfdump, libfixbuf-tools and tshark)"
done
helper="$integration_directory/ipfix_flows.py"

# write_pipeline CAPTURE COLLECTOR TRANSPORT [BIFLOW]: flow_tracker into an ipfix sink
# (with the lines of $sink_extra added to the sink).
sink_extra=""
write_pipeline() {
	cat >"$work/pipeline.yaml" <<EOT
version: 1
kernels:
  rx:
    type: source
    pcap: "$1"
  flows:
    type: flow_tracker
    input: rx
    idle_timeout: 1d
    active_timeout: 1d
  out:
    type: sink
    input: flows
    format: ipfix
    collector: "$2"
    transport: $3
    observation_domain: 7
    biflow: ${4:-false}
$sink_extra
EOT
}

# The delivery contract's statistics of an ipfix sink, in order.
contract_stats="records dropped_records dropped_sink_full dropped_refused dropped_drain_timeout batches retries bytes buffer_bytes buffer_max_bytes last_error_seconds"

# sink_stat NAME: the figure NAME of sink `out` in the last run's summary.
sink_stat() {
	sed -n "s/^ *out  *sink .* $1=\([0-9]*\).*/\1/p" "$work/stderr"
}

# export_ok: run the pipeline; fail unless it exits 0 having dropped nothing and
# reports the contract's statistics, in order.
export_ok() {
	local pattern="" name
	run_ok "$work/stderr" -p "$work/pipeline.yaml"
	for name in $contract_stats; do pattern+=" $name=[0-9]*"; done
	grep -q " out  *sink .*$pattern\$" "$work/stderr" ||
		{ sed 's/^/    /' "$work/stderr"; fail "the sink's statistics are not the contract's: $contract_stats"; }
	grep -q ' out  *sink .* dropped_records=0 ' "$work/stderr" ||
		{ sed 's/^/    /' "$work/stderr"; fail "the sink dropped records"; }
}

# compare ORACLE ROWS: rows equal, as sorted text.
compare() {
	LC_ALL=C sort "$1" >"$work/expected.tsv"
	LC_ALL=C sort "$2" >"$work/got.tsv"
	if diff -q "$work/expected.tsv" "$work/got.tsv" >/dev/null; then
		return 0
	fi
	{ diff "$work/expected.tsv" "$work/got.tsv" || true; } | head -10 | sed 's/^/    /'
	return 1
}

# over_udp CAPTURE ORACLE: nfcapd receives the export; nfdump's packets per direction.
over_udp() {
	local directory="$work/nfcapd" port pid
	rm -rf "$directory" && mkdir -p "$directory"
	port=$(python3 -c 'import socket; s = socket.socket(type=socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	nfcapd -b 127.0.0.1 -p "$port" -w "$directory" -t 3600 -B 4194304 >"$work/nfcapd.log" 2>&1 &
	pid=$!
	# KILL: a SIGTERM nfcapd gets while it starts up can be lost, leaving it running
	at_exit "kill -KILL $pid 2>/dev/null"
	# ready once its port is bound (its own log may stay in a stdio buffer)
	for _ in $(seq 100); do
		[ -n "$(ss -Huln "sport = :$port")" ] && break
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	[ -n "$(ss -Huln "sport = :$port")" ] || fail "nfcapd did not start: $(cat "$work/nfcapd.log")"
	write_pipeline "$1" "127.0.0.1:$port" udp
	export_ok
	sleep 0.5 # the last datagrams reach nfcapd
	kill -TERM "$pid" # nfcapd writes its file on SIGTERM
	for _ in $(seq 100); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -0 "$pid" 2>/dev/null && fail "nfcapd did not stop within 10 s of SIGTERM"
	wait "$pid" || true
	nfdump -R "$directory" -o csv >"$work/nfdump.csv" || fail "nfdump cannot read $directory"
	python3 "$helper" nfdump "$work/nfdump.csv" >"$work/udp.tsv"
	compare "$work/ip_oracle.tsv" "$work/udp.tsv"
}

# over_tcp CAPTURE ORACLE [BIFLOW]: a TCP listener keeps the stream; ipfixDump decodes it.
over_tcp() {
	local pid
	rm -f "$work/port" "$work/stream.ipfix"
	python3 "$helper" listen tcp "$work/port" "$work/stream.ipfix" &
	pid=$!
	at_exit "kill $pid 2>/dev/null"
	for _ in $(seq 50); do
		[ -s "$work/port" ] && break
		sleep 0.1
	done
	[ -s "$work/port" ] || fail "the TCP listener did not start"
	write_pipeline "$1" "127.0.0.1:$(cat "$work/port")" tcp "${3:-false}"
	export_ok
	wait "$pid" || fail "the TCP listener failed" # it ends when the exporter closes
	ipfixDump --in "$work/stream.ipfix" >"$work/dump.txt" || fail "ipfixDump cannot decode the stream"
	python3 "$helper" ipfixdump "$work/dump.txt" 7 >"$work/tcp.tsv" ||
		fail "message headers are wrong (above)"
	compare "$2" "$work/tcp.tsv" || return 1
	python3 "$helper" ipfixdump "$work/dump.txt" 7 octetDeltaCount >"$work/tcp_octets.tsv"
	compare "$work/ip_oracle.tsv" "$work/tcp_octets.tsv" || return 1
	[ "${3:-false}" = false ] || biflow_one_record_per_flow
}

# biflow_one_record_per_flow: as many IPFIX records in the dump as flow_tracker made flows.
biflow_one_record_per_flow() {
	local flows records
	flows=$(sed -n 's/^ *flows  *flow_tracker .* records=\([0-9]*\) .*/\1/p' "$work/stderr")
	records=$(grep -c '^--- data record' "$work/dump.txt" || true)
	[ "$records" -eq "$flows" ] || { echo "    $records biflow records for $flows flows"; return 1; }
}

# jsonl_ip_bytes CAPTURE: the jsonl flow lines' ip_bytes and rev_ip_bytes per 5-tuple and direction.
jsonl_ip_bytes() {
	cat >"$work/jsonl.yaml" <<EOT
version: 1
kernels:
  rx:
    type: source
    pcap: "$1"
  flows:
    type: flow_tracker
    input: rx
    idle_timeout: 1d
    active_timeout: 1d
  out:
    type: sink
    input: flows
    path: "$work/flows.jsonl"
EOT
	rm -f "$work/flows.jsonl"
	run_ok "$work/jsonl.stderr" -p "$work/jsonl.yaml"
	python3 "$integration_directory/flows_oracle.py" --ip-bytes "$work/flows.jsonl" >"$work/jsonl.tsv"
	compare "$work/ip_oracle.tsv" "$work/jsonl.tsv"
}

echo "checks: per 5-tuple and direction, nfcapd/nfdump (UDP) get the packets of X.flows.tsv and"
echo "        the IP bytes of tshark's ip.len/ipv6.plen (octetDeltaCount); ipfixDump (TCP) gets"
echo "        packets, frame.len bytes and IP bytes, also from biflow records (RFC 5103 reverse"
echo "        elements, one per flow); domain 7, sequence numbers right; jsonl ip_bytes the same"
mismatches=0
for oracle in "$traces"/*.flows.tsv; do
	capture="${oracle%.flows.tsv}"
	results=""
	python3 "$integration_directory/ip_bytes_oracle.py" "$capture" "$oracle" >"$work/ip_oracle.tsv" ||
		fail "tshark's 5-tuples or packets of $capture differ from $oracle (above)"
	if jsonl_ip_bytes "$capture"; then results+="jsonl: match; "; else
		results+="jsonl: MISMATCH; "; mismatches=$((mismatches + 1)); fi
	if over_udp "$capture" "$oracle"; then results+="udp/nfdump: match; "; else
		results+="udp/nfdump: MISMATCH; "; mismatches=$((mismatches + 1)); fi
	if over_tcp "$capture" "$oracle"; then results+="tcp/ipfixDump: match; "; else
		results+="tcp/ipfixDump: MISMATCH; "; mismatches=$((mismatches + 1)); fi
	if over_tcp "$capture" "$oracle" true; then results+="biflow: match"; else
		results+="biflow: MISMATCH"; mismatches=$((mismatches + 1)); fi
	printf '  %-45s %s\n' "$(basename "$capture")" "$results"
done
[ "$mismatches" -eq 0 ] || fail "$mismatches exports differ from their oracle"
echo "ok: every capture's flows reach both collectors exactly"

echo "checks: with no TCP collector listening, connects are retried until drain_timeout (1s), then"
echo "        every record is counted as dropped_drain_timeout and the exit status is 1"
capture="$traces/pcapplusplus_tls2.pcap" # 334 flows, both directions
python3 "$integration_directory/ip_bytes_oracle.py" "$capture" "$capture.flows.tsv" >"$work/ip_oracle.tsv" ||
	fail "tshark's 5-tuples or packets of $capture differ from its oracle (above)"
over_tcp "$capture" "$capture.flows.tsv" || fail "the TCP export of $capture differs from its oracle"
sent=$(sink_stat records)
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
sink_extra="    drain_timeout: 1s"
write_pipeline "$capture" "127.0.0.1:$port" tcp
status=0
run_jetstreamd "$work/stderr" -p "$work/pipeline.yaml" || status=$?
[ "$status" -eq 1 ] || { sed 's/^/    /' "$work/stderr"; fail "exit status $status, expected 1"; }
grep -q " out  *sink .* records=0 dropped_records=$sent dropped_sink_full=0 dropped_refused=0 dropped_drain_timeout=$sent " "$work/stderr" ||
	{ sed 's/^/    /' "$work/stderr"; fail "expected records=0 dropped_records=$sent, all dropped_drain_timeout"; }
[ "$(sink_stat retries)" -ge 3 ] || fail "$(sink_stat retries) retries in 1 s (100 ms, 200 ms, 400 ms...: at least 3)"
grep -q "Connection refused; $sent records not sent (dropped_records)" "$work/stderr" ||
	{ sed 's/^/    /' "$work/stderr"; fail "the exit reason does not give the error and the count"; }
echo "ok: $sent records counted as dropped_drain_timeout after $(sink_stat retries) retries, exit status 1 with the reason"

echo "checks: UDP to a port with no collector: the ICMP port unreachable fails a later send"
echo "        (connected socket), which is retried; what is never sent counts as dropped_drain_timeout"
sink_extra="    drain_timeout: 1s"
write_pipeline "$capture" "127.0.0.1:$port" udp
status=0
run_jetstreamd "$work/stderr" -p "$work/pipeline.yaml" || status=$?
[ "$status" -eq 1 ] || { sed 's/^/    /' "$work/stderr"; fail "exit status $status, expected 1 (records refused)"; }
delivered=$(sink_stat records)
dropped=$(sink_stat dropped_drain_timeout)
[ $((delivered + dropped)) -eq "$sent" ] && [ "$dropped" -gt 0 ] ||
	{ sed 's/^/    /' "$work/stderr"; fail "records=$delivered + dropped_drain_timeout=$dropped, expected a sum of $sent with some dropped"; }
[ "$(sink_stat retries)" -ge 1 ] || fail "no retry counted"
grep -q "send: Connection refused; $dropped records not sent (dropped_records)" "$work/stderr" ||
	{ sed 's/^/    /' "$work/stderr"; fail "the exit reason does not say the collector refused"; }
echo "ok: records=$delivered (datagrams the kernel took) + dropped_drain_timeout=$dropped = $sent"

# start_stalled_collector: a TCP collector that accepts and never reads, on $stalled_port.
start_stalled_collector() {
	rm -f "$work/stall_port" "$work/stall_port.connections"
	python3 "$helper" stall "$work/stall_port" &
	at_exit "kill $! 2>/dev/null"
	for _ in $(seq 50); do
		[ -s "$work/stall_port" ] && break
		sleep 0.1
	done
	[ -s "$work/stall_port" ] || fail "the stalled collector did not start"
	stalled_port=$(cat "$work/stall_port")
}

# write_flood_pipeline WHEN_FULL BUFFER: 300000 one-packet flows (about 20 MB of IPFIX) to $stalled_port.
write_flood_pipeline() {
	cat >"$work/pipeline.yaml" <<EOT
version: 1
kernels:
  rx:
    type: source
    synthetic: {packets: 300000, sources: 300000}
  flows:
    type: flow_tracker
    input: rx
  out:
    type: sink
    input: flows
    format: ipfix
    collector: "127.0.0.1:$stalled_port"
    transport: tcp
    buffer: $2
    when_full: $1
    drain_timeout: 7s
EOT
}

# run_flood: run it; fail unless it ends within drain_timeout + 5 s with exit status 1.
run_flood() {
	local started elapsed status=0
	started=$(date +%s%N)
	run_jetstreamd "$work/stderr" -p "$work/pipeline.yaml" || status=$?
	elapsed=$((($(date +%s%N) - started) / 1000000))
	[ "$status" -eq 1 ] || { sed 's/^/    /' "$work/stderr"; fail "exit status $status, expected 1"; }
	[ "$elapsed" -le 12000 ] || fail "the daemon took $elapsed ms to stop, more than drain_timeout (7 s) + 5 s"
	flows=$(sed -n 's/^ *flows  *flow_tracker .* records=\([0-9]*\) .*/\1/p' "$work/stderr")
	echo "    stopped in $elapsed ms: $(grep -o ' records=[0-9]* dropped_records.*' "$work/stderr" | tail -1)"
}

echo "checks: a TCP collector that accepts and never reads: each message has 5 s, then the"
echo "        connection is dropped (retries) and made again; the daemon stops within"
echo "        drain_timeout (7s) + 5 s and every record is counted, sent or dropped"
start_stalled_collector
write_flood_pipeline block 64M
run_flood
[ "$(sink_stat retries)" -ge 1 ] || fail "no retry counted for the stalled connection"
[ "$(sink_stat dropped_drain_timeout)" -gt 0 ] || fail "nothing counted as dropped_drain_timeout"
[ $(($(sink_stat records) + $(sink_stat dropped_drain_timeout))) -eq "$flows" ] ||
	fail "records + dropped_drain_timeout is not the $flows flow records (one IPFIX record each)"
[ "$(sink_stat dropped_sink_full)" -eq 0 ] || fail "when_full: block dropped records"
grep -q "the collector took no data for 5 s" "$work/stderr" || fail "the stall is not logged"
last_error=$(sink_stat last_error_seconds)
[ "$last_error" -gt $(($(date +%s) - 60)) ] && [ "$last_error" -le "$(date +%s)" ] ||
	fail "last_error_seconds=$last_error is not the time of the last failure"
[ "$(cat "$work/stall_port.connections")" -ge 2 ] || fail "the exporter did not connect again"
echo "ok: stopped in time, $(sink_stat retries) retries, records + dropped_drain_timeout = $flows"

echo "checks: the same with when_full: drop and a 16k buffer: the newest records are dropped"
echo "        (dropped_sink_full) rather than held in the rings"
write_flood_pipeline drop 16k
run_flood
[ "$(sink_stat dropped_sink_full)" -gt 0 ] || fail "nothing counted as dropped_sink_full"
[ "$(sed -n 's/^ *out  *sink .* backpressure \([0-9]*\) .*/\1/p' "$work/stderr")" -eq 0 ] ||
	fail "when_full: drop held records back (backpressure)"
[ $(($(sink_stat records) + $(sink_stat dropped_sink_full) + $(sink_stat dropped_drain_timeout))) -eq "$flows" ] ||
	fail "records + dropped_sink_full + dropped_drain_timeout is not the $flows flow records"
[ "$(sink_stat dropped_records)" -eq $(($(sink_stat dropped_sink_full) + $(sink_stat dropped_drain_timeout))) ] ||
	fail "dropped_records is not the sum of its reasons"
echo "ok: dropped_sink_full=$(sink_stat dropped_sink_full), no backpressure"

sink_extra=""
echo "checks: over UDP the templates are sent again every template_refresh (1s here, during a 3 s run)"
rm -f "$work/port" "$work/datagrams.ipfix"
python3 "$helper" listen udp "$work/port" "$work/datagrams.ipfix" &
listener=$!
at_exit "kill $listener 2>/dev/null"
for _ in $(seq 50); do
	[ -s "$work/port" ] && break
	sleep 0.1
done
[ -s "$work/port" ] || fail "the UDP listener did not start"
cat >"$work/pipeline.yaml" <<EOT
version: 1
kernels:
  rx:
    type: source
    synthetic: {packets: 3000, rate_pps: 1000, sources: 16}
  flows:
    type: flow_tracker
    input: rx
    active_timeout: 500ms
  out:
    type: sink
    input: flows
    format: ipfix
    collector: "127.0.0.1:$(cat "$work/port")"
    template_refresh: 1s
EOT
export_ok
sleep 0.5
kill "$listener"
ipfixDump --in "$work/datagrams.ipfix" >"$work/dump.txt" || fail "ipfixDump cannot decode the datagrams"
template_messages=$(grep -c 'Msg Stats: 2 Template Records' "$work/dump.txt" || true)
python3 "$helper" ipfixdump "$work/dump.txt" 1 >/dev/null || fail "message headers are wrong (above)"
packets=$(grep -o 'packetDeltaCount : [0-9]*' "$work/dump.txt" | awk '{sum += $3} END {print sum}')
[ "$packets" -eq 3000 ] || fail "the records hold $packets packets, expected 3000"
[ "$template_messages" -ge 3 ] && [ "$template_messages" -le 5 ] ||
	fail "$template_messages messages with the two templates in a 3 s run, expected 3 to 5"
echo "ok: $template_messages template messages in 3 s; the records hold the 3000 packets"
