#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Build the seed corpora of the fuzz targets (tests/fuzz/corpus/).

  tests/fuzz/make_corpus.py [TRACES_DIRECTORY]   (default /work/shared/traces)

packet/: a few hundred distinct frames of the shared traces, picked so that
each header shape (EtherType chain, IP protocol, size class) is represented,
plus handcrafted edge cases (VLAN/QinQ, IPv6 extension chains, fragments,
truncations). config/: the repository's pipelines and settings, plus
hand-written variations (config_seeds/). Files are named by the SHA-1 of
their content, as libFuzzer names corpus entries, so a rerun adds nothing twice.
Without the traces, only the handcrafted frames are written.
"""
import hashlib
import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
FRAMES_PER_SHAPE = 3
FRAMES_MAX = 300


def write_entry(directory, data):
    os.makedirs(directory, exist_ok=True)
    path = os.path.join(directory, hashlib.sha1(data).hexdigest())
    with open(path, "wb") as file:
        file.write(data)


def pcap_frames(data):
    magic = struct.unpack("<I", data[:4])[0]
    order = "<" if magic in (0xA1B2C3D4, 0xA1B23C4D) else ">"
    offset = 24
    while offset + 16 <= len(data):
        _, _, captured, _ = struct.unpack(order + "IIII", data[offset:offset + 16])
        yield data[offset + 16:offset + 16 + captured]
        offset += 16 + captured


def pcapng_frames(data):
    order = "<"
    offset = 0
    while offset + 12 <= len(data):
        block_type = struct.unpack(order + "I", data[offset:offset + 4])[0]
        if block_type == 0x0A0D0D0A:  # section header: its byte-order magic follows the length
            order = "<" if data[offset + 8:offset + 12] == b"\x4d\x3c\x2b\x1a" else ">"
        length = struct.unpack(order + "I", data[offset + 4:offset + 8])[0]
        if length < 12:
            return
        if block_type == 6:  # enhanced packet block
            captured = struct.unpack(order + "I", data[offset + 20:offset + 24])[0]
            yield data[offset + 28:offset + 28 + captured]
        elif block_type == 3:  # simple packet block
            yield data[offset + 12:offset + length - 4]
        offset += length


def frames_of(path):
    with open(path, "rb") as file:
        data = file.read()
    if data[:4] == b"\x0a\x0d\x0d\x0a":
        return pcapng_frames(data)
    return pcap_frames(data)


def shape(frame):
    """What the parser's path through a frame depends on, roughly."""
    offset, ethernet_types = 12, []
    while offset + 2 <= len(frame) and len(ethernet_types) < 4:
        ethernet_type = frame[offset:offset + 2]
        ethernet_types.append(ethernet_type)
        if ethernet_type not in (b"\x81\x00", b"\x88\xa8", b"\x91\x00"):
            break
        offset += 4
    protocol = None
    if ethernet_types and ethernet_types[-1] == b"\x08\x00" and len(frame) > offset + 11:
        protocol = (frame[offset + 11], frame[offset + 8] & 0x3F, frame[offset + 2] & 0x0F)
    elif ethernet_types and ethernet_types[-1] == b"\x86\xdd" and len(frame) > offset + 8:
        protocol = (frame[offset + 8],)
    return (tuple(ethernet_types), protocol, min(len(frame), 2000) // 250)


def trace_frames(traces):
    picked, per_shape = {}, {}
    for name in sorted(os.listdir(traces)):
        if not (name.endswith(".pcap") or name.endswith(".pcapng")):
            continue
        for frame in frames_of(os.path.join(traces, name)):
            key = shape(frame)
            if per_shape.get(key, 0) < FRAMES_PER_SHAPE and frame not in picked:
                per_shape[key] = per_shape.get(key, 0) + 1
                picked[frame] = True
    return list(picked)[:FRAMES_MAX]


# ---- handcrafted frames ----

MACS = bytes.fromhex("020000000001020000000002")


def ipv4(protocol, payload, fragment=0, options=b""):
    header_length = 20 + len(options)
    header = struct.pack(">BBHHHBBH4s4s", 0x40 | header_length // 4, 0, header_length + len(payload),
                         1, fragment, 64, protocol, 0, bytes([192, 0, 2, 1]), bytes([198, 51, 100, 7]))
    return header + options + payload


def ipv6(next_header, payload):
    return (struct.pack(">IHBB", 0x60000000, len(payload), next_header, 64)
            + bytes.fromhex("20010db8000000000000000000000001")
            + bytes.fromhex("20010db8000000000000000000000002") + payload)


def ethernet(ethernet_type, payload, tags=()):
    frame = MACS
    for tag_type, tag in tags:
        frame += struct.pack(">HH", tag_type, tag)
    return frame + struct.pack(">H", ethernet_type) + payload


TCP = struct.pack(">HHIIBBHHH", 49152, 443, 1, 0, 0x50, 0x02, 65535, 0, 0)
UDP = struct.pack(">HHHH", 5353, 53, 8, 0)
SCTP = struct.pack(">HHII", 2905, 2905, 0, 0)
ICMP = bytes([8, 0, 0, 0, 0, 1, 0, 1])


def extension(next_header, units=0):
    return bytes([next_header, units]) + bytes(6 + 8 * units)


def handcrafted_frames():
    frames = [
        ethernet(0x0800, ipv4(6, TCP)),
        ethernet(0x0800, ipv4(17, UDP)),
        ethernet(0x0800, ipv4(132, SCTP)),
        ethernet(0x0800, ipv4(1, ICMP)),
        ethernet(0x0800, ipv4(6, TCP, options=bytes([1, 1, 1, 0]) * 10)),  # IHL 15
        ethernet(0x0800, ipv4(17, UDP, fragment=0x2000)),                  # first fragment
        ethernet(0x0800, ipv4(17, b"\x00" * 16, fragment=0x00B9)),         # later fragment
        ethernet(0x0800, ipv4(47, b"\x00\x00\x08\x00" + ipv4(17, UDP))),   # GRE
        ethernet(0x86DD, ipv6(6, TCP)),
        ethernet(0x86DD, ipv6(17, UDP)),
        ethernet(0x86DD, ipv6(58, ICMP)),
        ethernet(0x86DD, ipv6(59, b"")),                                   # no next header
        ethernet(0x86DD, ipv6(0, extension(43, 1) + extension(60) + extension(17) + UDP)),
        ethernet(0x86DD, ipv6(44, bytes([17, 0, 0, 1, 0, 0, 0, 1]) + UDP)),   # first fragment
        ethernet(0x86DD, ipv6(44, bytes([6, 0, 0, 0xB8, 0, 0, 0, 1]) + bytes(16))),  # later
        ethernet(0x86DD, ipv6(51, bytes([17, 1]) + bytes(6) + UDP)),       # AH (4-byte units)
        ethernet(0x86DD, ipv6(0, bytes([17, 74]) + bytes(598) + UDP)),     # 600-byte hop-by-hop
        ethernet(0x86DD, ipv6(0, extension(0) * 33 + UDP)),               # over the chain cap
        ethernet(0x0800, ipv4(17, UDP), tags=[(0x8100, 100)]),
        ethernet(0x0800, ipv4(6, TCP), tags=[(0x88A8, 200), (0x8100, 100)]),
        ethernet(0x86DD, ipv6(17, UDP), tags=[(0x9100, 300), (0x8100, 20), (0x8100, 10)]),
        ethernet(0x0806, bytes(28)),                                       # ARP
        ethernet(0x88CC, bytes(40)),                                       # LLDP
        bytes(60),                                                         # all zeros
        b"",
    ]
    whole = list(frames)
    # Cut each at the edges the parser checks: inside Ethernet, a tag, IP, L4.
    for frame in whole[:4] + whole[8:11] + whole[18:21]:
        for cut in (13, 17, 33, 34, 37, 41, 53, 57):
            if cut < len(frame):
                frames.append(frame[:cut])
    frames.append(ethernet(0x0800, ipv4(6, TCP))[:-1])
    frames.append(ethernet(0x0800, bytes([0x45, 0, 0, 10]) + bytes(16) + TCP))  # total < IHL
    frames.append(ethernet(0x0800, bytes([0x44]) + bytes(19) + TCP))            # IHL 4
    frames.append(ethernet(0x0800, ipv4(6, TCP[:12] + b"\x40" + TCP[13:])))     # data offset 4
    return frames


def main():
    traces = sys.argv[1] if len(sys.argv) > 1 else "/work/shared/traces"
    packet_directory = os.path.join(HERE, "corpus", "packet")
    frames = handcrafted_frames()
    if os.path.isdir(traces):
        frames += trace_frames(traces)
    else:
        print(f"make_corpus: {traces} absent: handcrafted frames only", file=sys.stderr)
    for frame in frames:
        write_entry(packet_directory, frame)

    config_directory = os.path.join(HERE, "corpus", "config")
    for directory in ("pipelines", "conf", os.path.join("tests", "fuzz", "config_seeds")):
        for name in sorted(os.listdir(os.path.join(ROOT, directory))):
            with open(os.path.join(ROOT, directory, name), "rb") as file:
                text = file.read()
            if directory == "conf" or name.startswith("settings"):
                text = b"# settings\n" + text  # what the target loads as a settings file
            write_entry(config_directory, text)
    print(f"make_corpus: {len(os.listdir(packet_directory))} packet, "
          f"{len(os.listdir(config_directory))} config entries")


if __name__ == "__main__":
    main()
