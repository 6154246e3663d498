#!/usr/bin/env bash
# A dump asked for with `jetstreamctl dump` during a live capture: a generated
# trace is replayed with tcpreplay into one end of a veth pair (both ends in
# network namespaces this test makes), jetstreamd captures the other end into
# a history kernel, and halfway through the replay a dump of one host with a
# range reaching back before the replay and past its end is asked for with
# --wait. The pcapng file must hold exactly the frames `tcpdump -r` selects
# from the trace for that host, byte for byte and in order (times are the
# capture's clock, so only their order is compared), and the counter on the
# same source must still equal the oracle. Needs root, `ip netns`, tcpreplay.
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
cat >"$work/settings.yaml" <<EOF
version: 1
control_socket: $socket
metrics: off
