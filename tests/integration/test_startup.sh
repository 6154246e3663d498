#!/usr/bin/env bash
# A short offline run's start: the packet pool of a run whose every source is
# a pcap file read once holds what the files can fill (1023 mbufs at least,
# the default 16383 at most) when mempool_size is left out, and EAL gets 128 MB
# when memory and ring_size are left out too; a written mempool_size, memory or
# ring_size, a file read twice or a large file (alone or in a list) keep theirs. Every run
# counts every packet. The binary loads no DPDK library at all (DPDK is linked
# in), and --check knows the drivers a real start needs.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"

cd "$work"
failures=0

# expect_pool NAME MBUFS MEMORY PACKETS [SETTINGS_LINE]: NAME.yaml runs with log_level debug
# (and SETTINGS_LINE), exits 0, logs a pool of MBUFS mbufs and EAL memory of MEMORY MB, and
# counts PACKETS packets in total.
expect_pool() {
	local name="$1" mbufs="$2" memory="$3" packets="$4" settings_line="${5:-}" counted
	printf 'log_level: debug\ncontrol_socket: off\nmetrics: off\n%s\n' "$settings_line" >"$name.settings.yaml"
	rm -f "$name.jsonl"
	run_ok "$name.stderr" -c "$name.settings.yaml" -p "$name.yaml"
	counted=$(python3 -c 'import json, sys; print(sum(json.loads(l)["pkts"] for l in open(sys.argv[1])))' \
		"$name.jsonl")
	if grep -q "^jetstreamd: debug: packet pool: $mbufs mbufs" "$name.stderr" &&
		grep -qx "jetstreamd: debug: EAL memory: $memory MB" "$name.stderr" &&
		[ "$counted" -eq "$packets" ]; then
		echo "  ok: $name: a pool of $mbufs mbufs in $memory MB, $counted packets counted"
	else
		echo "  FAIL: $name: expected a pool of $mbufs mbufs in $memory MB and $packets packets, counted $counted"
		grep "packet pool\|EAL memory" "$name.stderr" | sed 's/^/    /'
		failures=$((failures + 1))
	fi
}

python3 "$repo_root/scripts/gen_trace.py" --packets 10 --sources 5 --arp-share 0 --output small.pcap >/dev/null
python3 "$repo_root/scripts/gen_trace.py" --packets 3000 --sources 50 --arp-share 0 --output large.pcap >/dev/null

echo "checks: the pool of a finite pcap run, sized to its files unless mempool_size is written"
write_counter_pipeline small.yaml "pcap: small.pcap" "window: total" "$work/small.jsonl"
expect_pool small 1023 128 10
write_counter_pipeline written.yaml "pcap: small.pcap" "window: total" "$work/written.jsonl"
expect_pool written 2047 512 10 "mempool_size: 2047"
write_counter_pipeline twice.yaml $'pcap: small.pcap\nloop: 2' "window: total" "$work/twice.jsonl"
expect_pool twice 16383 512 20
# 3000 frames of about 710 bytes: more than 16383 mbufs by the file's size
write_counter_pipeline large.yaml "pcap: large.pcap" "window: total" "$work/large.jsonl"
expect_pool large 16383 512 3000
# a list: every file counts (the first alone gave 1023 mbufs and 128 MB for a list whose second is large)
write_counter_pipeline list.yaml "pcap: [small.pcap, large.pcap]" "window: total" "$work/list.jsonl"
expect_pool list 16383 512 3010
# memory or ring_size written: EAL's memory stays as written or at its default
write_counter_pipeline memory.yaml "pcap: small.pcap" "window: total" "$work/memory.jsonl"
expect_pool memory 1023 256 10 "memory: 256M"
write_counter_pipeline rings.yaml "pcap: small.pcap" "window: total" "$work/rings.jsonl"
expect_pool rings 1023 512 10 "ring_size: 4096"
# a pool smaller than the file: the source waits for mbufs and still counts every packet
write_counter_pipeline tight.yaml "pcap: large.pcap" "window: total" "$work/tight.jsonl"
expect_pool tight 1023 512 3000 "mempool_size: 1023"

echo "checks: no DPDK shared library, and --check knows the drivers"
if ldd "$jetstreamd" | grep -q 'librte_'; then
	echo "  FAIL: $jetstreamd links DPDK shared libraries:"
	ldd "$jetstreamd" | grep 'librte_' | sed 's/^/    /'
	failures=$((failures + 1))
else
	echo "  ok: no librte_*.so linked"
fi
for device in "net_null0" "net_ring0" "net_pcap0,rx_pcap=small.pcap" "net_af_xdp0,iface=lo" \
	"net_af_packet0,iface=lo" "0000:3b:00.0"; do
	write_counter_pipeline device.yaml "port: \"$device\"" "window: 1s" "$work/device.jsonl"
	if "$jetstreamd" --check -p device.yaml >device.out 2>&1; then
		echo "  ok: --check passes port: \"$device\""
	else
		echo "  FAIL: --check refused port: \"$device\":"
		sed 's/^/    /' device.out
		failures=$((failures + 1))
	fi
done

[ "$failures" -eq 0 ] || fail "$failures start-up cases gave an unexpected result"
echo "ok: a finite pcap run's pool fits its files; DPDK and its drivers are in the binary"
