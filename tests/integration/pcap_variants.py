#!/usr/bin/env python3
"""Write variants of a classic little-endian microsecond pcap file, to read
the same records through both of the source's readers:

  pcap_variants.py swapped IN OUT      every field in the other byte order
  pcap_variants.py nanoseconds IN OUT  nanosecond magic, fractions x 1000
  pcap_variants.py snaplen N IN OUT    the file header's snap length set to N
                                       (longer records are cut to it by readers)
  pcap_variants.py cut_header IN OUT   the last record header cut after 7 bytes
  pcap_variants.py cut_data IN OUT     the last record cut 3 bytes before its end"""
import struct
import sys


def records(data):
    offset = 24
    while offset + 16 <= len(data):
        header = data[offset:offset + 16]
        captured = struct.unpack("<I", header[8:12])[0]
        yield offset, header, data[offset + 16:offset + 16 + captured]
        offset += 16 + captured


def swapped(data):
    magic, major, minor, zone, sigfigs, snaplen, link = struct.unpack("<IHHiIII", data[:24])
    out = [struct.pack(">IHHiIII", magic, major, minor, zone, sigfigs, snaplen, link)]
    for _, header, frame in records(data):
        out.append(struct.pack(">IIII", *struct.unpack("<IIII", header)) + frame)
    return b"".join(out)


def nanoseconds(data):
    out = [struct.pack("<I", 0xA1B23C4D) + data[4:24]]
    for _, header, frame in records(data):
        seconds, fraction, captured, wire = struct.unpack("<IIII", header)
        out.append(struct.pack("<IIII", seconds, fraction * 1000, captured, wire) + frame)
    return b"".join(out)


def main():
    kind = sys.argv[1]
    arguments = sys.argv[2:]
    snaplen = int(arguments.pop(0)) if kind == "snaplen" else 0
    with open(arguments[0], "rb") as file:
        data = file.read()
    if struct.unpack("<I", data[:4])[0] != 0xA1B2C3D4:
        sys.exit("pcap_variants.py: %s is not a little-endian microsecond pcap" % arguments[0])
    last = list(records(data))[-1][0]
    if kind == "swapped":
        data = swapped(data)
    elif kind == "nanoseconds":
        data = nanoseconds(data)
    elif kind == "snaplen":
        data = data[:16] + struct.pack("<I", snaplen) + data[20:]
    elif kind == "cut_header":
        data = data[:last + 7]
    elif kind == "cut_data":
        data = data[:-3]
    else:
        sys.exit("pcap_variants.py: unknown variant " + kind)
    with open(arguments[1], "wb") as file:
        file.write(data)


if __name__ == "__main__":
    main()
