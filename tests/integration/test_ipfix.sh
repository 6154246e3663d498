#!/usr/bin/env bash
# IPFIX export (format ipfix) of every shared capture's flows, read back by
# real collectors: over UDP by nfcapd (nfdump), whose records give per 5-tuple
# and direction exactly the packets of X.flows.tsv; over TCP into a file that
# libfixbuf's ipfixDump decodes: packets and layer-2 bytes (frame.len) per
# direction exactly as X.flows.tsv, one record per direction and as RFC 5103
# biflow records (one per flow, reverse elements); each message in observation domain 7 with
# the sequence number RFC 7011 asks (data records sent before it).
# nfdump shows no bytes: it reads octetDeltaCount, which is not exported
# (flow records carry frame lengths only; see README "IPFIX export").
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"

[ -d "$traces" ] || skip "$traces not found (the shared test captures are not part of a fresh clone)"
for tool in nfcapd nfdump ipfixDump ss; do
	command -v "$tool" >/dev/null || skip "$tool not installed (scripts/deps.sh installs nfdump and libfixbuf-tools)"
done
helper="$integration_directory/ipfix_flows.py"

# write_pipeline CAPTURE COLLECTOR TRANSPORT [BIFLOW]: flow_tracker into an ipfix sink.
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
EOT
}

# export_ok: run the pipeline; fail unless it exits 0 having dropped nothing.
export_ok() {
	run_ok "$work/stderr" -p "$work/pipeline.yaml"
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
	cut -f1-6,8 "$2" >"$work/oracle_packets.tsv"
	compare "$work/oracle_packets.tsv" "$work/udp.tsv"
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
	[ "${3:-false}" = false ] || biflow_one_record_per_flow
}

# biflow_one_record_per_flow: as many IPFIX records in the dump as flow_tracker made flows.
biflow_one_record_per_flow() {
	local flows records
	flows=$(sed -n 's/^ *flows  *flow_tracker .* records=\([0-9]*\) .*/\1/p' "$work/stderr")
	records=$(grep -c '^--- data record' "$work/dump.txt" || true)
	[ "$records" -eq "$flows" ] || { echo "    $records biflow records for $flows flows"; return 1; }
}

echo "checks: per 5-tuple and direction, nfcapd/nfdump (UDP) get the packets of X.flows.tsv,"
echo "        ipfixDump (TCP) gets packets and frame.len bytes, also from biflow records (RFC 5103"
echo "        reverse elements, one per flow); domain 7, sequence numbers right"
mismatches=0
for oracle in "$traces"/*.flows.tsv; do
	capture="${oracle%.flows.tsv}"
	results=""
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

echo "checks: with no TCP collector listening, every record is counted as dropped and the exit status is 1"
capture="$traces/pcapplusplus_tls2.pcap" # 334 flows, both directions
over_tcp "$capture" "$capture.flows.tsv" || fail "the TCP export of $capture differs from its oracle"
sent=$(sed -n 's/^ *out  *sink .* records=\([0-9]*\) .*/\1/p' "$work/stderr")
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
write_pipeline "$capture" "127.0.0.1:$port" tcp
status=0
run_jetstreamd "$work/stderr" -p "$work/pipeline.yaml" || status=$?
[ "$status" -eq 1 ] || { sed 's/^/    /' "$work/stderr"; fail "exit status $status, expected 1"; }
grep -q " out  *sink .* records=0 dropped_records=$sent " "$work/stderr" ||
	{ sed 's/^/    /' "$work/stderr"; fail "expected records=0 dropped_records=$sent"; }
grep -q "Connection refused; $sent records not sent (dropped_records)" "$work/stderr" ||
	{ sed 's/^/    /' "$work/stderr"; fail "the exit reason does not give the error and the count"; }
echo "ok: $sent records counted as dropped, exit status 1 with the reason"

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
