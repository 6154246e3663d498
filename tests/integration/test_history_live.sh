#!/usr/bin/env bash
# A dump asked for with `jetstreamctl dump` during a live capture: a generated
# trace is replayed with tcpreplay into one end of a veth pair (both ends in
# network namespaces this test makes), jetstreamd captures the other end into
# a history kernel, and during the replay a dump of one host with a range
# reaching back before the replay and past its end is asked for with --wait.
# The pcapng file must hold exactly the frames `tcpdump -r` selects from the
# trace for that host, byte for byte and in order (times are the capture's
# clock, so only their order is checked), and the counter on the same source
# must still equal the oracle. Needs root, `ip netns`, tcpreplay and tcpdump.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"

require_jetstreamctl
command -v tcpdump >/dev/null || skip "tcpdump is not installed"
setup_veth_namespaces

make_live_trace 4000 40 11

# The busiest source of the trace: its frames are spread over the whole replay.
host="$(sort -t $'\t' -k2,2nr "$trace.src.tsv" | head -n 1 | cut -f1)"
tcpdump -n -r "$trace" -w "$work/expected.pcap" "host $host" 2>/dev/null
expected_frames="$(python3 "$integration_directory/pcap_packets.py" "$work/expected.pcap" | wc -l)"
[ "$expected_frames" -gt 50 ] || fail "host $host has only $expected_frames frames in the trace"

socket="$work/control.sock"
records="$work/records.jsonl"
mkdir -p "$work/dumps"
cat >"$work/settings.yaml" <<SETTINGS
version: 1
control_socket: $socket
metrics: off
SETTINGS
cat >"$work/live.yaml" <<PIPELINE
version: 1
kernels:
  rx:
    type: source
    port: "net_af_packet0,iface=$capture_interface"
  held:
    type: history
    input: rx
    memory: 64M
    dump_dir: "$work/dumps"
$(pipeline_counter total rx total)
  out:
    type: sink
    input: total
    format: jsonl
    path: "$records"
PIPELINE

echo "checks: during a 2 s replay, 'jetstreamctl dump --filter \"host $host\" --before 60s --after 4s"
echo "        --wait' writes exactly tcpdump's $expected_frames frames of that host, in order, byte for"
echo "        byte; a second dump to the same file and a bad expression are refused; counts = the oracle"
start_notify_listener
ip netns exec "$capture_namespace" "$jetstreamd" -c "$work/settings.yaml" -p "$work/live.yaml" \
	2>"$work/stderr" &
running_pid=$!
wait_ready 20
ip netns exec "$replay_namespace" tcpreplay --intf1="$replay_interface" --pps=2000 "$trace" \
	>"$work/tcpreplay.log" 2>&1 &
replay_pid=$!
sleep 1
status=0
# The range ends 4 s after the request: --wait must return soon after, even with no later packet.
timeout 20 "$jetstreamctl" -s "$socket" dump --filter "host $host" --before 60s --after 4s \
	--out "$work/host.pcapng" --wait >"$work/dump.out" 2>"$work/dump.err" || status=$?
[ "$status" -ne 124 ] || fail "jetstreamctl dump --wait did not return within 20 s (the range ended after 4 s)"
wait "$replay_pid" || { cat "$work/tcpreplay.log"; fail "tcpreplay failed"; }
grep -Eq "Successful packets: +$frames\$" "$work/tcpreplay.log" ||
	{ cat "$work/tcpreplay.log"; fail "tcpreplay did not send all $frames frames"; }
[ "$status" -eq 0 ] || {
	cat "$work/dump.out" "$work/dump.err"
	sed 's/^/    /' "$work/stderr"
	fail "jetstreamctl dump --wait exited $status"
}
grep -qx "$work/host.pcapng: done, $expected_frames packets" "$work/dump.out" ||
	{ cat "$work/dump.out" "$work/dump.err"; fail "the dump did not report 'done, $expected_frames packets'"; }
echo "  ok: $(cat "$work/dump.out")"
python3 "$integration_directory/pcap_packets.py" "$work/expected.pcap" --no-time >"$work/expected.txt"
python3 "$integration_directory/pcap_packets.py" "$work/host.pcapng" --no-time >"$work/actual.txt"
diff -u "$work/expected.txt" "$work/actual.txt" >"$work/diff" ||
	{ head -n 20 "$work/diff"; fail "the dump's frames differ from tcpdump's selection (diff expected actual)"; }
python3 "$integration_directory/pcap_packets.py" "$work/host.pcapng" | sort -c -s -n -k1,1 ||
	fail "the dump's timestamps are not in order"
tshark -r "$work/host.pcapng" -T fields -e frame.len >"$work/tshark.txt" 2>"$work/tshark.err" ||
	{ cat "$work/tshark.err"; fail "tshark cannot read the dump"; }
[ "$(wc -l <"$work/tshark.txt")" -eq "$expected_frames" ] ||
	fail "tshark reads $(wc -l <"$work/tshark.txt") frames in the dump, expected $expected_frames"
echo "  ok: the dump holds tcpdump's $expected_frames frames of $host, byte for byte, in order; tshark reads it"

# A second dump to the same file is refused: an existing file is never overwritten.
status=0
ctl dump --filter "host $host" --before 1s --after 0s --out "$work/host.pcapng" >/dev/null \
	2>"$work/again.err" || status=$?
[ "$status" -eq 1 ] && grep -q "exists" "$work/again.err" ||
	{ cat "$work/again.err"; fail "a dump to an existing file: exit $status, expected 1 saying it exists"; }
echo "  ok: a dump to an existing file is refused: $(cat "$work/again.err")"
# A bad expression: refused with libpcap's message.
status=0
ctl dump --filter "host 192.0.2.999" >/dev/null 2>"$work/bad.err" || status=$?
[ "$status" -eq 1 ] && grep -q "192.0.2.999" "$work/bad.err" ||
	{ cat "$work/bad.err"; fail "a bad expression: exit $status, expected 1 with libpcap's message"; }
echo "  ok: a bad expression is refused: $(cat "$work/bad.err")"
# A range written wrong: the pipeline files' duration parser refuses it.
status=0
ctl dump --before soon >/dev/null 2>"$work/duration.err" || status=$?
[ "$status" -eq 1 ] && grep -q "'soon'" "$work/duration.err" ||
	{ cat "$work/duration.err"; fail "--before soon: exit $status, expected 1 naming the value"; }
echo "  ok: a bad duration is refused: $(cat "$work/duration.err")"

stop_live_capture
read_live_summary
records_tool totals "$records" total >"$work/totals.tsv"
diff -u "$trace.src.tsv" "$work/totals.tsv" >"$work/diff" ||
	{ head -n 20 "$work/diff"; fail "per-source counts differ from the oracle"; }
check_live_summary "$frames" "$arp_frames"
echo "ok: a dump asked for during a live capture holds exactly the host's frames"
