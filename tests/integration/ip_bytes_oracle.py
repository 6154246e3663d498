#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""IP-level bytes per bidirectional 5-tuple and direction, computed by tshark.

    ip_bytes_oracle.py CAPTURE FLOWS_TSV > rows.tsv

Rows as in ../shared/traces/X.flows.tsv (a, a_port, b, b_port, proto,
pkts a->b, IP bytes a->b, pkts b->a, IP bytes b->a), the bytes being what
RFC 7012 octetDeltaCount counts: per packet the outermost IPv4 header's
total length (ip.len), or 40 + the IPv6 payload length (ipv6.plen), as the
header says, whatever the capture cut. The frames counted follow the
oracle's rules (../shared/traces/README.md): the outermost IP header
followed directly (after IPv6 extension headers) by TCP or UDP with both
ports captured, no reassembly; endpoint a is the smaller. The row set and
the packets must equal FLOWS_TSV's, or this exits 1 saying where they differ.
"""
import collections
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from flows_oracle import endpoint  # noqa: E402 (the oracle's order of endpoints)
import tshark_fields  # noqa: E402

FIELDS = ["frame.protocols", "ip.src", "ip.dst", "ip.len", "ipv6.src", "ipv6.dst", "ipv6.plen",
          "tcp.srcport", "tcp.dstport", "udp.srcport", "udp.dstport"]
PROTOCOLS = {"tcp": 6, "udp": 17}


def frames(capture):
    """Yield each frame's fields (the first occurrence: the outermost header's)."""
    return tshark_fields.frames(capture, FIELDS)


def counted(frame):
    """(source, source port, destination, destination port, proto, IP bytes), or None."""
    layers = frame["frame.protocols"].split(":")
    outer = next((i for i, layer in enumerate(layers) if layer in ("ip", "ipv6")), None)
    if outer is None:
        return None
    after = outer + 1
    while after < len(layers) and layers[after].startswith("ipv6."):  # extension headers
        after += 1
    transport = layers[after] if after < len(layers) else None
    if transport not in PROTOCOLS:
        return None
    source_port = frame[transport + ".srcport"]
    destination_port = frame[transport + ".dstport"]
    if not source_port or not destination_port:
        return None  # cut before the ports
    if layers[outer] == "ip":
        source, destination, length = frame["ip.src"], frame["ip.dst"], int(frame["ip.len"])
    else:
        source, destination = frame["ipv6.src"], frame["ipv6.dst"]
        length = 40 + int(frame["ipv6.plen"])
    return (source, int(source_port), destination, int(destination_port), PROTOCOLS[transport],
            length)


def rows(capture):
    sums = collections.defaultdict(lambda: [0, 0, 0, 0])
    for frame in frames(capture):
        packet = counted(frame)
        if packet is None:
            continue
        source = endpoint(packet[0], packet[1])
        destination = endpoint(packet[2], packet[3])
        forward = source[0] < destination[0]
        a, b = (source, destination) if forward else (destination, source)
        counts = sums[(a[0], a[1], b[0], b[1], packet[4])]
        counts[0 if forward else 2] += 1
        counts[1 if forward else 3] += packet[5]
    result = []
    for (a_sort, a, b_sort, b, proto), counts in sums.items():
        result.append([a, str(a_sort[2]), b, str(b_sort[2]), str(proto)] + list(map(str, counts)))
    return sorted(result)


def main(capture, oracle):
    computed = rows(capture)
    with open(oracle, encoding="utf-8") as lines:
        expected = {tuple(line.rstrip("\n").split("\t")[i] for i in (0, 1, 2, 3, 4, 5, 7))
                    for line in lines if line.strip()}
    got = {tuple(row[i] for i in (0, 1, 2, 3, 4, 5, 7)) for row in computed}
    if got != expected:
        for row in sorted(expected - got)[:5]:
            print("in the flows oracle only: " + " ".join(row), file=sys.stderr)
        for row in sorted(got - expected)[:5]:
            print("from tshark only: " + " ".join(row), file=sys.stderr)
        sys.exit(1)
    sys.stdout.write("".join("\t".join(row) + "\n" for row in computed))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
