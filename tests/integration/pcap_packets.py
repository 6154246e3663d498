#!/usr/bin/env python3
"""Print one line per packet of a classic pcap or a pcapng file:
`TIME_NS WIRE_LENGTH CAPTURED_LENGTH SHA1_OF_THE_CAPTURED_BYTES`, so that two
files (a dump and tcpdump's selection from the trace) compare with diff.

  pcap_packets.py FILE [--no-time]   --no-time leaves the time out (live dumps
                                     carry the capture's clock, not the trace's)
  pcap_packets.py --comments FILE    the pcapng section header's comments, one per line

pcapng: section header, interface description (if_tsresol read, default
microseconds), enhanced and simple packet blocks; both byte orders."""
import hashlib
import struct
import sys


def classic(data):
    magic = struct.unpack("<I", data[:4])[0]
    order = "<" if magic in (0xA1B2C3D4, 0xA1B23C4D) else ">"
    nanoseconds = magic in (0xA1B23C4D, 0x4D3CB2A1)
    offset = 24
    while offset + 16 <= len(data):
        seconds, fraction, captured, wire = struct.unpack(order + "IIII", data[offset:offset + 16])
        frame = data[offset + 16:offset + 16 + captured]
        offset += 16 + captured
        yield seconds * 10**9 + (fraction if nanoseconds else fraction * 1000), wire, frame


def options(body, order):
    """Yield (code, value) of a pcapng options list."""
    offset = 0
    while offset + 4 <= len(body):
        code, length = struct.unpack(order + "HH", body[offset:offset + 4])
        if code == 0:
            return
        yield code, body[offset + 4:offset + 4 + length]
        offset += 4 + (length + 3) // 4 * 4


def blocks(data):
    """Yield (byte order, block type, body) of a pcapng file."""
    offset, order = 0, "<"
    while offset + 12 <= len(data):
        if struct.unpack("<I", data[offset:offset + 4])[0] == 0x0A0D0D0A:
            order = "<" if data[offset + 8:offset + 12] == b"\x4d\x3c\x2b\x1a" else ">"
        block_type, length = struct.unpack(order + "II", data[offset:offset + 8])
        if length < 12:
            sys.exit("truncated pcapng block")
        yield order, block_type, data[offset + 8:offset + length - 4]
        offset += length


def pcapng(data):
    resolutions = []
    for order, block_type, body in blocks(data):
        if block_type == 0x0A0D0D0A:
            resolutions = []
        elif block_type == 1:
            resolution = 10**6
            for code, value in options(body[8:], order):
                if code == 9:
                    exponent = value[0]
                    resolution = 2 ** (exponent & 0x7F) if exponent & 0x80 else 10**exponent
            resolutions.append(resolution)
        elif block_type == 6:
            interface, high, low, captured, wire = struct.unpack(order + "IIIII", body[:20])
            ticks = (high << 32) | low
            yield ticks * 10**9 // resolutions[interface], wire, body[20:20 + captured]


def comments(data):
    for order, block_type, body in blocks(data):
        if block_type == 0x0A0D0D0A:
            for code, value in options(body[16:], order):
                if code == 1:
                    print(value.decode("utf-8", "replace").rstrip("\0 "))


def main(argv):
    if argv[1] == "--comments":
        with open(argv[2], "rb") as stream:
            comments(stream.read())
        return
    with open(argv[1], "rb") as stream:
        data = stream.read()
    packets = pcapng(data) if data[:4] == b"\x0a\x0d\x0d\x0a" else classic(data)
    for time_ns, wire, frame in packets:
        digest = hashlib.sha1(frame).hexdigest()
        if "--no-time" in argv:
            print(wire, len(frame), digest)
        else:
            print(time_ns, wire, len(frame), digest)


if __name__ == "__main__":
    main(sys.argv)
