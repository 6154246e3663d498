#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Per-source packets and bytes of the frames tcpdump selects, by tshark.

    filter_oracle.py CAPTURE DIRECTORY EXPRESSION...
    filter_oracle.py CAPTURE --self-check SRC_TSV

The first form has tcpdump write the whole capture (`tcpdump -r CAPTURE -w
ALL`, classic pcap whatever CAPTURE is) and reads tshark's fields of ALL
once; then for the I-th EXPRESSION (from 0) it has tcpdump write the frames
it selects (`tcpdump -r CAPTURE -w OUT EXPRESSION`), finds them in ALL (OUT
is a subsequence of ALL, record for record) and writes DIRECTORY/I.tsv, rows
as in ../shared/traces/X.src.tsv (source, packets, bytes), and
DIRECTORY/I.frames, the number of frames OUT holds. The rows follow
Jetstream's per-source rules (DESIGN.md): the source is the outermost IPv4
or IPv6 header's source (the first `ip` or `ipv6` in frame.protocols),
bytes are frame.len, frames without an IP header appear in no row.

The second form applies the same rules to the whole capture and exits 1
unless they give SRC_TSV exactly: the check that this oracle's rules are
the shared oracle's.
"""
import collections
import ipaddress
import os
import struct
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tshark_fields  # noqa: E402

FIELDS = ["frame.protocols", "frame.len", "ip.src", "ipv6.src"]


def frame_sources(capture):
    """(source or None, frame.len) of each frame of @capture, by tshark's fields."""
    for frame in tshark_fields.frames(capture, FIELDS):
        layers = frame["frame.protocols"].split(":")
        outer = next((layer for layer in layers if layer in ("ip", "ipv6")), None)
        source = frame["ip.src"] if outer == "ip" else frame.get("ipv6.src") if outer else None
        yield (str(ipaddress.ip_address(source)) if source else None, int(frame["frame.len"]))


def per_source(frames):
    counts = collections.defaultdict(lambda: [0, 0])
    for source, length in frames:
        if source is not None:
            counts[source][0] += 1
            counts[source][1] += length
    return counts


def pcap_records(path):
    """The raw records (header and data) of a classic pcap as tcpdump writes it."""
    with open(path, "rb") as stream:
        data = stream.read()
    order = "<" if data[:4] in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
    offset = 24
    while offset + 16 <= len(data):
        captured = struct.unpack_from(order + "I", data, offset + 8)[0]
        yield data[offset:offset + 16 + captured]
        offset += 16 + captured


def selected_indexes(all_records, selected_path):
    """Indexes into @all_records of the records of @selected_path, a subsequence of them."""
    position = 0
    for record in pcap_records(selected_path):
        while all_records[position] != record:
            position += 1
        yield position
        position += 1


def write_oracles(capture, directory, expressions):
    everything = os.path.join(directory, "all.pcap")
    subprocess.run(["tcpdump", "-r", capture, "-w", everything], check=True,
                   stderr=subprocess.DEVNULL)
    frames = list(frame_sources(everything))
    all_records = list(pcap_records(everything))
    if len(frames) != len(all_records):
        sys.exit(f"filter_oracle: tshark reads {len(frames)} frames, tcpdump wrote {len(all_records)}")
    for index, expression in enumerate(expressions):
        selected = os.path.join(directory, "selected.pcap")
        subprocess.run(["tcpdump", "-r", capture, "-w", selected, "--", expression], check=True,
                       stderr=subprocess.DEVNULL)
        indexes = list(selected_indexes(all_records, selected))
        with open(os.path.join(directory, f"{index}.tsv"), "w") as out:
            out.write(rows(per_source(frames[i] for i in indexes)))
        with open(os.path.join(directory, f"{index}.frames"), "w") as out:
            out.write(f"{len(indexes)}\n")


def rows(counts):
    return "".join(f"{source}\t{packets}\t{octets}\n"
                   for source, (packets, octets) in sorted(counts.items()))


def main(argv):
    if len(argv) == 4 and argv[2] == "--self-check":
        with open(argv[3]) as oracle:
            expected = oracle.read()
        if rows(per_source(frame_sources(argv[1]))) != expected:
            sys.stderr.write(f"filter_oracle: the rules do not give {argv[3]} on {argv[1]}\n")
            return 1
        return 0
    if len(argv) < 4:
        sys.stderr.write(__doc__)
        return 2
    write_oracles(argv[1], argv[2], argv[3:])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
