#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Write the trace of tests/integration/test_alerts.sh: UDP frames to a few
destinations with a chosen number of frames in each second from
1700000000 on, spread evenly inside the second (classic pcap, microseconds).

  alerts_trace.py OUTPUT.pcap

Which destination gets what, and why, is in test_alerts.sh beside the
records it expects. Standard library only."""
import ipaddress
import struct
import sys

START_SECONDS = 1700000000
SOURCE_IPV4 = "192.0.2.200"
SOURCE_IPV6 = "2001:db8:ffff::1"

# destination: (frame length, {second: frames})
TRAFFIC = {
    "198.51.100.7": (100, {0: 10, 1: 100, 2: 100, 3: 20, 4: 20, 5: 100, 6: 10, 7: 10, 8: 10, 9: 10}),
    "2001:db8:100:1::9": (200, {1: 150, 2: 150, 3: 150}),
    "2001:db8:100::5": (80, {2: 60, 3: 60}),
    "203.0.113.10": (1000, {4: 60, 5: 40}),
    "192.0.2.1": (64, {1: 400}),
    "192.0.2.2": (64, {9: 600}),
}


def frame(destination, length):
    """Ethernet + IPv4 or IPv6 + UDP, zero-padded to length bytes."""
    address = ipaddress.ip_address(destination)
    if address.version == 4:
        ethernet = b"\x02\x00\x00\x00\x00\x02" + b"\x02\x00\x00\x00\x00\x01" + b"\x08\x00"
        total = length - 14
        header = struct.pack("!BBHHHBBH4s4s", 0x45, 0, total, 0, 0, 64, 17, 0,
                             ipaddress.ip_address(SOURCE_IPV4).packed, address.packed)
        checksum = 0
        for i in range(0, 20, 2):
            checksum += (header[i] << 8) | header[i + 1]
        while checksum >> 16:
            checksum = (checksum & 0xFFFF) + (checksum >> 16)
        header = header[:10] + struct.pack("!H", ~checksum & 0xFFFF) + header[12:]
        udp = struct.pack("!HHHH", 40000, 9, total - 20, 0)
    else:
        ethernet = b"\x02\x00\x00\x00\x00\x02" + b"\x02\x00\x00\x00\x00\x01" + b"\x86\xdd"
        payload_length = length - 14 - 40
        header = struct.pack("!IHBB16s16s", 0x60000000, payload_length, 17, 64,
                             ipaddress.ip_address(SOURCE_IPV6).packed, address.packed)
        udp = struct.pack("!HHHH", 40000, 9, payload_length, 0)
    data = ethernet + header + udp
    return data + bytes(length - len(data))


def main(path):
    packets = []
    for destination, (length, seconds) in TRAFFIC.items():
        data = frame(destination, length)
        for second, count in seconds.items():
            for i in range(count):
                microseconds = second * 1000000 + (2 * i + 1) * 1000000 // (2 * count)
                packets.append((microseconds, destination, data))
    packets.sort(key=lambda packet: (packet[0], packet[1]))
    with open(path, "wb") as stream:
        stream.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for microseconds, _destination, data in packets:
            stream.write(struct.pack("<IIII", START_SECONDS + microseconds // 1000000,
                                     microseconds % 1000000, len(data), len(data)))
            stream.write(data)
    print(len(packets))


if __name__ == "__main__":
    main(sys.argv[1])
