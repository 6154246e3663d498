#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Write a realistic, deterministic demo trace (classic pcap, Ethernet).

The same options and seed always give the same bytes. The trace mixes IPv4
and IPv6 (TCP, UDP, ICMP, ICMPv6), some 802.1Q and QinQ frames and a few ARP
frames. Sources follow a Zipf law, and one heavy hitter (203.0.113.66 by
default) sends a fixed share of the packets, so a per-second threshold trips
on it and on nothing else. Arrival times are spread over --duration seconds
starting at a whole second, so `window: 1s` gives --duration full windows.

Headers are well formed: every length field and checksum is right (payloads
are zero bytes, so checksums only cover the headers).

With --oracle, FILE.src.tsv is written too: `source<TAB>packets<TAB>bytes`,
one line per source, sorted by the source text, frames without an IP header
left out, the same format as the oracles of the shared test captures. The
bytes are the frames' wire lengths (orig_len, Wireshark's frame.len), also
with --snaplen, which keeps only the first bytes of each frame in the file
(incl_len = min(frame, snaplen)), as a monitoring capture does.

--size-range LOW-HIGH draws every IP frame's length uniformly from
[LOW, HIGH] (then raised to what its headers need, as with --size).
--source-ports N bounds the TCP and UDP source ports, hence the flows.
Without --snaplen, --size-range and --source-ports the output is what it was before these
options existed, byte for byte.

Standard library only.
"""
import argparse
import bisect
import ipaddress
import itertools
import random
import struct
import sys

PCAP_MAGIC_MICROSECONDS = 0xA1B2C3D4
LINKTYPE_ETHERNET = 1
SNAPLEN = 65535

ETHERTYPE_IPV4 = 0x0800
ETHERTYPE_IPV6 = 0x86DD
ETHERTYPE_ARP = 0x0806
ETHERTYPE_VLAN = 0x8100
ETHERTYPE_QINQ = 0x88A8

PROTOCOL_ICMP = 1
PROTOCOL_TCP = 6
PROTOCOL_UDP = 17
PROTOCOL_ICMPV6 = 58

MIN_FRAME = 60     # Ethernet minimum without the FCS (ARP frames are padded to it)
MIN_SIZE = 64      # smallest IP frame written
MAX_FRAME = 1514   # fits a 1500-byte MTU, tags included, so the trace can be replayed on veth

ZEROS = bytes(MAX_FRAME)

# Layer-4 header sizes, and the (protocol, cumulative weight) mixes per IP version.
L4_HEADER = {PROTOCOL_TCP: 20, PROTOCOL_UDP: 8, PROTOCOL_ICMP: 8, PROTOCOL_ICMPV6: 8}
IPV4_MIX = ((PROTOCOL_TCP, 0.70), (PROTOCOL_UDP, 0.95), (PROTOCOL_ICMP, 1.0))
IPV6_MIX = ((PROTOCOL_TCP, 0.60), (PROTOCOL_UDP, 0.90), (PROTOCOL_ICMPV6, 1.0))

TCP_SERVER_PORTS = (443, 443, 443, 80, 22, 8080, 25, 993)
UDP_SERVER_PORTS = (53, 53, 443, 443, 5353, 514, 1194, 3478)


def parse_arguments(argv):
    parser = argparse.ArgumentParser(
        description="Write a deterministic demo pcap (and optionally its per-source oracle).")
    parser.add_argument("--packets", type=int, default=200000, help="frames to write (default 200000)")
    parser.add_argument("--sources", type=int, default=1000,
                        help="distinct Zipf-distributed IP sources besides the heavy hitter (default 1000)")
    parser.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    parser.add_argument("--output", "-o", required=True, help="pcap file to write")
    parser.add_argument("--zipf", type=float, default=0.8,
                        help="Zipf exponent of the source popularity (default 0.8)")
    parser.add_argument("--duration", type=float, default=10.0,
                        help="seconds the trace spans (default 10)")
    parser.add_argument("--start", type=int, default=1700000000,
                        help="time of the first second, Unix seconds (default 1700000000)")
    parser.add_argument("--heavy-hitter", default="203.0.113.66",
                        help="address of the heavy hitter (default 203.0.113.66)")
    parser.add_argument("--heavy-share", type=float, default=0.10,
                        help="share of frames the heavy hitter sends (default 0.10)")
    parser.add_argument("--ipv6-share", type=float, default=0.15,
                        help="share of the sources that are IPv6 (default 0.15)")
    parser.add_argument("--vlan-share", type=float, default=0.05,
                        help="share of frames with an 802.1Q tag, a fifth of them QinQ (default 0.05)")
    parser.add_argument("--arp-share", type=float, default=0.002,
                        help="share of ARP frames (no IP header) (default 0.002)")
    parser.add_argument("--size", type=int, default=0,
                        help=f"every IP frame this long (at least {MIN_SIZE}; a frame whose headers need "
                             "more, such as IPv6 + VLAN + TCP, is as long as its headers); "
                             "default 0: a mix of small and full-size frames")
    parser.add_argument("--size-range", default=None, metavar="LOW-HIGH",
                        help=f"IP frame lengths drawn uniformly from LOW to HIGH bytes (each between {MIN_SIZE} "
                             f"and {MAX_FRAME}); not with --size")
    parser.add_argument("--snaplen", type=int, default=0,
                        help="keep at most this many bytes of each frame in the file (incl_len), the "
                             "wire length in orig_len, as a capture with `tcpdump -s SNAPLEN` writes "
                             "(at least 60); default 0: whole frames")
    parser.add_argument("--source-ports", type=int, default=0,
                        help="TCP and UDP source ports drawn from 1024 to 1024 + N - 1, so that a trace "
                             "has few flows (5-tuples); default 0: 1024-65535, nearly a flow per frame")
    parser.add_argument("--oracle", action="store_true",
                        help="also write OUTPUT.src.tsv: source, packets, bytes per IP source")
    arguments = parser.parse_args(argv)
    if arguments.packets < 0 or arguments.sources < 1:
        parser.error("--packets must be >= 0 and --sources >= 1")
    for name in ("heavy_share", "ipv6_share", "vlan_share", "arp_share"):
        if not 0.0 <= getattr(arguments, name) <= 1.0:
            parser.error(f"--{name.replace('_', '-')} must be between 0 and 1")
    if arguments.heavy_share + arguments.arp_share > 1.0:
        parser.error("--heavy-share plus --arp-share must not exceed 1")
    if arguments.size and not MIN_SIZE <= arguments.size <= MAX_FRAME:
        parser.error(f"--size must be between {MIN_SIZE} and {MAX_FRAME}")
    if arguments.duration <= 0:
        parser.error("--duration must be positive")
    arguments.size_low = arguments.size_high = 0
    if arguments.size_range is not None:
        if arguments.size:
            parser.error("--size and --size-range exclude each other")
        bounds = arguments.size_range.split("-")
        if len(bounds) != 2 or not all(bound.isdigit() for bound in bounds):
            parser.error("--size-range must be LOW-HIGH, e.g. 64-664")
        arguments.size_low, arguments.size_high = int(bounds[0]), int(bounds[1])
        if not MIN_SIZE <= arguments.size_low <= arguments.size_high <= MAX_FRAME:
            parser.error(f"--size-range must have {MIN_SIZE} <= LOW <= HIGH <= {MAX_FRAME}")
    if not 0 <= arguments.source_ports <= 65536 - 1024:
        parser.error("--source-ports must be between 0 and 64512")
    if arguments.snaplen and not MIN_FRAME <= arguments.snaplen <= SNAPLEN:
        parser.error(f"--snaplen must be between {MIN_FRAME} and {SNAPLEN}")
    return arguments


class Source:
    """One IP source: its address, as text and packed, and its MAC address."""

    __slots__ = ("text", "version", "address", "mac")

    def __init__(self, address, mac):
        self.text = str(address)
        self.version = address.version
        self.address = address.packed
        self.mac = mac


def make_sources(rng, count, ipv6_share, heavy_hitter):
    """Distinct addresses in documentation and private ranges, heavy hitter excluded."""
    heavy = ipaddress.ip_address(heavy_hitter)
    ipv4_networks = [ipaddress.ip_network(n) for n in
                     ("198.51.100.0/24", "192.0.2.0/24", "10.0.0.0/12", "172.16.0.0/16", "100.64.0.0/16")]
    ipv6_networks = [ipaddress.ip_network(n) for n in
                     ("2001:db8::/48", "2001:db8:1::/64", "fd00:1234::/64")]
    seen = {heavy}
    sources = []
    while len(sources) < count:
        networks = ipv6_networks if rng.random() < ipv6_share else ipv4_networks
        network = networks[rng.randrange(len(networks))]
        if network.version == 6 and rng.random() < 0.3:
            # some short, well-compressible addresses such as 2001:db8::1a
            offset = rng.randrange(1, 4096)
        else:
            offset = rng.randrange(1, network.num_addresses - 1)
        address = network[offset]
        if address in seen:
            continue
        seen.add(address)
        sources.append(Source(address, random_mac(rng)))
    return Source(heavy, random_mac(rng)), sources


def random_mac(rng):
    # locally administered, unicast
    return bytes([0x02, rng.randrange(256), rng.randrange(256), rng.randrange(256),
                  rng.randrange(256), rng.randrange(256)])


def make_destinations(rng):
    ipv4 = [ipaddress.ip_address(f"203.0.113.{i}").packed for i in range(10, 30)]
    ipv6 = [ipaddress.ip_address(f"2001:db8:ffff::{i:x}").packed for i in range(1, 21)]
    macs = [random_mac(rng) for _ in range(4)]  # a few routers
    return ipv4, ipv6, macs


def frame_size(rng):
    """Frame length without FCS: bimodal (small ACK-like and full-size), some in between."""
    draw = rng.random()
    if draw < 0.45:
        return rng.randint(MIN_SIZE, 100)
    if draw < 0.80:
        return rng.randint(1400, MAX_FRAME)
    return rng.randint(101, 1399)


def checksum(data, initial=0):
    """Internet checksum (RFC 1071) of @data (even length) plus @initial, a partial sum."""
    total = initial + sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total > 0xFFFF:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def pseudo_header_sum(source, destination, protocol, length):
    """Partial sum of the IPv4 or IPv6 pseudo-header of a TCP, UDP or ICMPv6 segment."""
    addresses = source + destination
    return sum(struct.unpack(f"!{len(addresses) // 2}H", addresses)) + protocol + (length & 0xFFFF) + (length >> 16)


def pick(mix, draw):
    for protocol, cumulative in mix:
        if draw < cumulative:
            return protocol
    return mix[-1][0]


class FrameBuilder:
    """Builds frames into one reusable buffer with struct.pack_into."""

    def __init__(self, source_ports=0):
        self.buffer = bytearray(MAX_FRAME)
        # TCP and UDP source ports are drawn from [1024, port_end)
        self.port_end = 1024 + source_ports if source_ports else 65536

    def ethernet(self, destination_mac, source_mac, tags, ethertype):
        buffer = self.buffer
        buffer[0:6] = destination_mac
        buffer[6:12] = source_mac
        offset = 12
        for tpid, vlan_id in tags:
            struct.pack_into("!HH", buffer, offset, tpid, vlan_id)
            offset += 4
        struct.pack_into("!H", buffer, offset, ethertype)
        return offset + 2

    def ip_frame(self, rng, length, source, destination, destination_mac, tags, protocol, identifier):
        buffer = self.buffer
        ethertype = ETHERTYPE_IPV4 if source.version == 4 else ETHERTYPE_IPV6
        offset = self.ethernet(destination_mac, source.mac, tags, ethertype)
        ip_header = 20 if source.version == 4 else 40
        length = max(length, offset + ip_header + L4_HEADER[protocol])
        ip_payload = length - offset - ip_header
        ip_offset = offset
        if source.version == 4:
            struct.pack_into("!BBHHHBBH4s4s", buffer, offset, 0x45, 0, ip_header + ip_payload,
                             identifier & 0xFFFF, 0x4000, 64, protocol, 0, source.address, destination)
            struct.pack_into("!H", buffer, offset + 10, checksum(buffer[offset:offset + 20]))
        else:
            flow_label = identifier & 0xFFFFF
            struct.pack_into("!IHBB16s16s", buffer, offset, (6 << 28) | flow_label, ip_payload,
                             protocol, 64, source.address, destination)
        offset += ip_header
        if protocol == PROTOCOL_TCP:
            flags = 0x02 if rng.random() < 0.05 else (0x18 if ip_payload > 20 else 0x10)
            struct.pack_into("!HHIIBBHHH", buffer, offset, rng.randrange(1024, self.port_end),
                             TCP_SERVER_PORTS[identifier & 7], rng.getrandbits(32), rng.getrandbits(32),
                             5 << 4, flags, 64240, 0, 0)
            checksum_at = offset + 16
        elif protocol == PROTOCOL_UDP:
            struct.pack_into("!HHHH", buffer, offset, rng.randrange(1024, self.port_end),
                             UDP_SERVER_PORTS[identifier & 7], ip_payload, 0)
            checksum_at = offset + 6
        else:
            # echo request: ICMP type 8, ICMPv6 type 128
            struct.pack_into("!BBHHH", buffer, offset, 8 if protocol == PROTOCOL_ICMP else 128,
                             0, 0, identifier & 0xFFFF, identifier >> 16 & 0xFFFF)
            checksum_at = offset + 2
        header_end = offset + L4_HEADER[protocol]
        # The payload is zeros: the checksum covers the pseudo-header and the layer-4 header only.
        initial = 0 if protocol == PROTOCOL_ICMP else pseudo_header_sum(
            source.address, destination, protocol, ip_payload)
        value = checksum(buffer[offset:header_end], initial)
        if protocol == PROTOCOL_UDP and value == 0:
            value = 0xFFFF  # 0 means "no checksum" in UDP
        struct.pack_into("!H", buffer, checksum_at, value)
        offset = header_end
        buffer[offset:length] = ZEROS[:length - offset]
        return bytes(buffer[:length])

    def arp_frame(self, source_mac, sender_ip, target_ip):
        buffer = self.buffer
        offset = self.ethernet(b"\xff" * 6, source_mac, (), ETHERTYPE_ARP)
        struct.pack_into("!HHBBH6s4s6s4s", buffer, offset, 1, ETHERTYPE_IPV4, 6, 4, 1,
                         source_mac, sender_ip, bytes(6), target_ip)
        offset += 28
        buffer[offset:MIN_FRAME] = ZEROS[:MIN_FRAME - offset]
        return bytes(buffer[:MIN_FRAME])


def zipf_cumulative_weights(count, exponent):
    return list(itertools.accumulate(1.0 / (rank ** exponent) for rank in range(1, count + 1)))


def generate(arguments, stream):
    """Write the pcap to @stream; return {source text: [packets, bytes]}."""
    rng = random.Random(arguments.seed)
    heavy, sources = make_sources(rng, arguments.sources, arguments.ipv6_share, arguments.heavy_hitter)
    ipv4_destinations, ipv6_destinations, router_macs = make_destinations(rng)
    cumulative = zipf_cumulative_weights(len(sources), arguments.zipf)
    total_weight = cumulative[-1]
    builder = FrameBuilder(arguments.source_ports)
    counts = {}

    # Arrival times: uniform over [start, start + duration), sorted, in microseconds.
    duration_us = max(1, int(arguments.duration * 1_000_000))
    times = sorted(rng.randrange(duration_us) for _ in range(arguments.packets))
    start_us = arguments.start * 1_000_000

    heavy_share = arguments.heavy_share
    arp_limit = heavy_share + arguments.arp_share
    vlan_share = arguments.vlan_share
    size_low, size_high = arguments.size_low, arguments.size_high
    snaplen = arguments.snaplen or SNAPLEN
    stream.write(struct.pack("<IHHiIII", PCAP_MAGIC_MICROSECONDS, 2, 4, 0, 0, snaplen, LINKTYPE_ETHERNET))
    chunk = []
    for index, time_us in enumerate(times):
        draw = rng.random()
        if draw < heavy_share:
            source = heavy
        elif draw < arp_limit:
            source = None
        else:
            source = sources[bisect.bisect_left(cumulative, rng.random() * total_weight)]
        if source is None:
            frame = builder.arp_frame(router_macs[index & 3], bytes((10, 0, 0, 1 + (index & 63))),
                                      bytes((10, 0, 0, 254)))
        else:
            tags = ()
            if vlan_share and rng.random() < vlan_share:
                vlan_id = 100 + (index & 7)
                tags = ((ETHERTYPE_VLAN, vlan_id),) if rng.random() < 0.8 else \
                    ((ETHERTYPE_QINQ, 10), (ETHERTYPE_VLAN, vlan_id))
            if source.version == 4:
                protocol = pick(IPV4_MIX, rng.random())
                destination = ipv4_destinations[index % len(ipv4_destinations)]
            else:
                protocol = pick(IPV6_MIX, rng.random())
                destination = ipv6_destinations[index % len(ipv6_destinations)]
            if size_high:
                length = rng.randint(size_low, size_high)
            else:
                length = arguments.size or frame_size(rng)
            frame = builder.ip_frame(rng, length, source, destination,
                                     router_macs[index & 3], tags, protocol, rng.getrandbits(32))
            entry = counts.get(source.text)
            if entry is None:
                counts[source.text] = [1, len(frame)]
            else:
                entry[0] += 1
                entry[1] += len(frame)
        timestamp = start_us + time_us
        captured = min(len(frame), snaplen)
        chunk.append(struct.pack("<IIII", timestamp // 1_000_000, timestamp % 1_000_000,
                                 captured, len(frame)))
        chunk.append(frame if captured == len(frame) else frame[:captured])
        if len(chunk) >= 8192:
            stream.write(b"".join(chunk))
            chunk.clear()
    stream.write(b"".join(chunk))
    return counts


def write_oracle(path, counts):
    with open(path, "w", encoding="ascii") as oracle:
        for source in sorted(counts):
            packets, octets = counts[source]
            oracle.write(f"{source}\t{packets}\t{octets}\n")


def main(argv):
    arguments = parse_arguments(argv)
    with open(arguments.output, "wb") as stream:
        counts = generate(arguments, stream)
    if arguments.oracle:
        write_oracle(arguments.output + ".src.tsv", counts)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
