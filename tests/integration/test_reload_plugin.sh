#!/usr/bin/env bash
# A reload replaces a plugin's code while packets flow: the example
# ttl_change is rebuilt with another alert name, the file is replaced and
# SIGHUP sent during a paced replay. The new code takes the flows over (both
# builds declare the same state_version), no packet is lost or counted twice,
# both builds' alerts are in the records, and the old code is unloaded once
# its instance has retired (its memfd mapping leaves /proc/PID/maps).
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"

command -v cc >/dev/null || skip "needs a C compiler to build the example plugins"
make -C "$repo_root" --no-print-directory -s examples >/dev/null 2>"$work/make.txt" ||
	{ cat "$work/make.txt"; fail "make examples failed"; }
cd "$work"

# One UDP flow whose every packet has another TTL than the one before (64, 60, 64, ...):
# every packet but the first is a TTL change of its direction.
python3 - <<'EOF'
import struct

def frame(ttl):
    payload = b"x" * 18
    udp = struct.pack("!HHHH", 4000, 53, 8 + len(payload), 0) + payload
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 1, 0, ttl, 17, 0,
                     bytes([10, 9, 0, 1]), bytes([10, 9, 0, 2]))
    return b"\x02\x00\x00\x00\x00\x02" + b"\x02\x00\x00\x00\x00\x01" + b"\x08\x00" + ip + udp

with open("ttl.pcap", "wb") as out:
    out.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
    for index, ttl in enumerate((64, 60)):
        data = frame(ttl)
        out.write(struct.pack("<IIII", 1700000000, index * 100, len(data), len(data)) + data)
EOF

passes=6000 # 12000 packets at 4000 pps: 3 s, the reload about a third of the way
mkdir -m 0755 plugins
install -m 0644 "$repo_root/build/examples/ttl_change.so" plugins/ttl_change.so
cat >settings.yaml <<EOF
version: 1
plugins: [plugins]
EOF
cat >pipeline.yaml <<EOF
version: 1
kernels:
  rx:
    type: source
    pcap: $work/ttl.pcap
    loop: $passes
    rate_pps: 4000
  ttl:
    type: ttl_change
    input: rx
  out:
    type: sink
    input: ttl
    path: $work/alerts.jsonl
EOF

# plugin_copies PID: how many copies of the plugin the daemon maps now (one memfd inode each).
plugin_copies() {
	awk '/memfd:jetstream-plugin:ttl_change.so/ { print $5 }' "/proc/$1/maps" | sort -u | wc -l
}

echo "checks: ttl_change rebuilt (alert name ttl_change_v2) and reloaded during a paced replay"
start_notify_listener
"$jetstreamd" -c settings.yaml -p pipeline.yaml 2>stderr.txt &
running_pid=$!
wait_notify READY=1 1 30
[ "$(plugin_copies "$running_pid")" -eq 1 ] || { cat stderr.txt; fail "not one copy of the plugin mapped"; }
sleep 1
install -m 0644 "$repo_root/build/examples/ttl_change_v2.so" plugins/.ttl_change.so.new
mv -f plugins/.ttl_change.so.new plugins/ttl_change.so
kill -HUP "$running_pid"
wait_notify READY=1 2 30
grep -q "reload: generation 2 running: kept rx, out; changed ttl" stderr.txt ||
	{ cat stderr.txt; fail "the reload did not hand the flows to the new code"; }
deadline=$((SECONDS + 20))
until grep -q "plugin 'ttl_change' unloaded" stderr.txt; do
	kill -0 "$running_pid" 2>/dev/null || { cat stderr.txt; fail "the daemon ended before the old code was unloaded"; }
	[ "$SECONDS" -lt "$deadline" ] || { cat stderr.txt; fail "the old code was not unloaded within 20 s"; }
	sleep 0.05
done
copies=$(plugin_copies "$running_pid")
[ "$copies" -eq 1 ] || { cat stderr.txt; fail "$copies copies of the plugin mapped after the switch (expected 1)"; }
echo "  ok: reloaded as 'changed ttl'; the old code unloaded while the replay went on, one copy mapped"
wait_exit 60
[ "$exit_status" -eq 0 ] || { cat stderr.txt; fail "exit status $exit_status"; }

packets=$((2 * passes))
read_by_rx=$(records_tool summary stderr.txt rx.packets)
into_ttl=$(records_tool summary stderr.txt ttl.in)
[ "$read_by_rx" -eq "$packets" ] || { cat stderr.txt; fail "rx read $read_by_rx packets, expected $packets"; }
[ "$into_ttl" -eq "$packets" ] || { cat stderr.txt; fail "ttl received $into_ttl packets, expected $packets"; }
old_alerts=$(grep -c '"name":"ttl_change",' alerts.jsonl || true)
new_alerts=$(grep -c '"name":"ttl_change_v2",' alerts.jsonl || true)
lines=$(wc -l <alerts.jsonl)
[ "$old_alerts" -gt 0 ] && [ "$new_alerts" -gt 0 ] ||
	fail "alerts of both builds expected: $old_alerts of ttl_change, $new_alerts of ttl_change_v2"
[ $((old_alerts + new_alerts)) -eq "$lines" ] || fail "$lines lines, only $((old_alerts + new_alerts)) alerts"
# the flow moved to the new code: its first packet there is a change too, not a new flow
[ "$lines" -eq $((packets - 1)) ] ||
	fail "$lines alerts for $packets packets of one flow (expected $((packets - 1)): one per packet but the first)"
python3 - alerts.jsonl <<'EOF' || fail "the alerts do not alternate 64/60 in order"
import json, sys
for number, line in enumerate(open(sys.argv[1]), 1):
    alert = json.loads(line)
    expected = (64, 60) if number % 2 == 1 else (60, 64)
    if (alert["previous"], alert["value"]) != expected:
        sys.exit(f"line {number}: previous {alert['previous']} value {alert['value']}, expected {expected}")
EOF
echo "  ok: $packets packets read and received; $((packets - 1)) alerts in order, $old_alerts from the old build, $new_alerts from the new"
