#!/usr/bin/env bash
# One parse, live and from a file: ten IPv6/UDP frames behind a hop-by-hop
# header, read through a real port (the net_pcap vdev replaying a file) and
# from the same file, are 0/10 malformed both ways. 600-byte options go past
# the 512 bytes live frames used to be parsed within; 2048-byte ones make
# 2142-byte frames, larger than one mbuf, which arrive as chains.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"

cd "$work"

# write_hop_by_hop_trace FILE OPTIONS_BYTES: ten IPv6/UDP frames, sources 2001:db8::1..a.
write_hop_by_hop_trace() {
	python3 - "$1" "$2" <<'PYTHON'
import struct, sys
path, options = sys.argv[1], int(sys.argv[2])
with open(path, "wb") as out:
    out.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
    for i in range(10):
        udp = struct.pack("!HHHH", 1234, 5678, 8 + 32, 0) + bytes(32)
        hop_by_hop = bytes([17, options // 8 - 1]) + bytes(options - 2)  # Pad1 options
        payload = hop_by_hop + udp
        source = bytes.fromhex("20010db8" + "00" * 11) + bytes([i + 1])
        destination = bytes.fromhex("20010db8" + "00" * 11 + "99")
        ip6 = struct.pack("!IHBB", 0x60000000, len(payload), 0, 64) + source + destination
        frame = bytes(6) + bytes([2, 0, 0, 0, 0, 1]) + b"\x86\xdd" + ip6 + payload
        out.write(struct.pack("<IIII", 1700000000 + i, 0, len(frame), len(frame)) + frame)
PYTHON
}

# source_summary STDERR: "packets=N malformed_packets=M" of the source rx.
source_summary() {
	grep -E '^  rx ' "$1" | grep -oE '(^| )(packets|malformed_packets)=[0-9]+' | tr -d ' ' | tr '\n' ' ' | sed 's/ $//'
}

start_notify_listener
runs=0
for options in 600 2048; do
	write_hop_by_hop_trace "hop_by_hop_$options.pcap" "$options"
	echo "checks: 10 IPv6/UDP frames behind a $options-byte hop-by-hop header: 0 malformed from the file and through net_pcap"
	write_counter_pipeline file.yaml "pcap: hop_by_hop_$options.pcap" "window: total" "$work/file.jsonl"
	run_ok file.stderr -p file.yaml
	[ "$(source_summary file.stderr)" = "packets=10 malformed_packets=0" ] ||
		{ cat file.stderr; fail "from the file: $(source_summary file.stderr)"; }

	write_counter_pipeline port.yaml "port: \"net_pcap0,rx_pcap=hop_by_hop_$options.pcap\"" \
		"window: total" "$work/port.jsonl"
	"$jetstreamd" -p port.yaml 2>port.stderr &
	running_pid=$!
	runs=$((runs + 1))
	wait_notify READY=1 "$runs" 20
	# net_pcap replays the file once, then its queue stays empty
	for _ in $(seq 50); do
		grep -q . port.jsonl 2>/dev/null && break
		sleep 0.1
	done
	sleep 0.5
	kill -TERM "$running_pid"
	wait_exit 10
	[ "$exit_status" -eq 0 ] || { cat port.stderr; fail "port run: exit status $exit_status"; }
	[ "$(source_summary port.stderr)" = "packets=10 malformed_packets=0" ] ||
		{ cat port.stderr; fail "through the port: $(source_summary port.stderr), expected packets=10 malformed_packets=0"; }
	sort file.jsonl >file.sorted
	sort port.jsonl | sed 's/"start":[^,]*,"end":[^}]*//' >port.sorted
	sed -i 's/"start":[^,]*,"end":[^}]*//' file.sorted
	cmp -s file.sorted port.sorted || { diff file.sorted port.sorted; fail "per-source records differ"; }
	echo "  ok: packets=10 malformed_packets=0 both ways; the same 10 per-source records"
	rm -f file.jsonl port.jsonl
done
