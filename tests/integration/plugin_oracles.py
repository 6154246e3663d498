#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Oracles of the example plugin kernels (examples/kernels/), from tshark's dissection.

    plugin_oracles.py ttl-oracle FIELDS             TTL changes tshark's fields give
    plugin_oracles.py ttl-alerts RECORDS.jsonl      the same rows from ttl_change alerts
    plugin_oracles.py syn-oracle FIELDS WINDOW_NS MIN_SYNS RATIO
    plugin_oracles.py syn-alerts RECORDS.jsonl      syn_flood alerts as rows

FIELDS is the output of `tshark -n -o ip.defragment:FALSE -o ipv6.defragment:FALSE
-T fields -e` with the fields of TSHARK_FIELDS, in that order (the test prints them with
`fields`). Rows are tab-separated and sorted, so the two sides compare with diff:

    ttl:  time_ns src dst sport dport proto previous value
    syn:  start_ns end_ns dst syns answers

The outermost IP header is the one that counts, as in the daemon's parser (records.py's
tshark_classes finds it). Ports are those of a TCP, UDP or SCTP header right after it
(after IPv6 extension headers), 0 otherwise and for later fragments. Standard library
only; timestamps are exact decimals, never floats.
"""
import collections
import decimal
import ipaddress
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import records  # noqa: E402  (beside this file)

TSHARK_FIELDS = (
    "frame.time_epoch", "frame.protocols", "ip.frag_offset", "ipv6.fraghdr.offset",
    "ip.src", "ip.dst", "ip.ttl", "ip.proto", "ipv6.src", "ipv6.dst", "ipv6.hlim",
    "tcp.srcport", "tcp.dstport", "udp.srcport", "udp.dstport", "sctp.srcport", "sctp.dstport",
    "tcp.flags",
)
PROTOCOL_NUMBERS = {"tcp": 6, "udp": 17, "sctp": 132, "icmp": 1, "icmpv6": 58}
NANOSECONDS = decimal.Decimal(1000000000)
TCP_SYN = 0x02
TCP_ACK = 0x10


def address(text):
    return str(ipaddress.ip_address(text))


def nanoseconds(text):
    return int(decimal.Decimal(text) * NANOSECONDS)


def frames(path, with_non_ip=False):
    """Per frame with an outer IP header (any frame when @with_non_ip, a non-IP one as
    {"time": ..., "proto": None}): a dict of what the kernels see."""
    first = records.first_value
    with open(path, encoding="utf-8") as stream:
        for number, line in enumerate(stream, 1):
            values = (line.rstrip("\n").split("\t") + [""] * len(TSHARK_FIELDS))
            field = dict(zip(TSHARK_FIELDS, values))
            l3, l4 = records.tshark_classes(field["frame.protocols"].split(":"),
                                            field["ip.frag_offset"],
                                            field["ipv6.fraghdr.offset"])
            if l3 == "other":
                if with_non_ip:
                    yield {"time": nanoseconds(field["frame.time_epoch"]), "proto": None}
                continue
            prefix, hop = ("ip", "ip.ttl") if l3 == "ipv4" else ("ipv6", "ipv6.hlim")
            frame = {
                "time": nanoseconds(field["frame.time_epoch"]),
                "src": address(first(field[prefix + ".src"])),
                "dst": address(first(field[prefix + ".dst"])),
                "ttl": int(first(field[hop])),
                "sport": 0, "dport": 0, "flags": None,
            }
            if l4 in ("tcp", "udp", "sctp") and first(field[l4 + ".srcport"]) != "":
                frame["sport"] = int(first(field[l4 + ".srcport"]))
                frame["dport"] = int(first(field[l4 + ".dstport"]))
                if l4 == "tcp":
                    frame["flags"] = int(first(field["tcp.flags"]), 16)
            if l3 == "ipv4":
                frame["proto"] = int(first(field["ip.proto"]))
            elif l4 in PROTOCOL_NUMBERS:
                frame["proto"] = PROTOCOL_NUMBERS[l4]
            else:
                # the number after an IPv6 extension chain is not one tshark field: say so
                # rather than guess (no shared capture has such a frame today)
                sys.exit(f"{path}:{number}: IPv6 frame with an L4 protocol this oracle cannot "
                         f"number ({field['frame.protocols']})")
            yield frame


def write_rows(rows):
    sys.stdout.write("".join("\t".join(map(str, row)) + "\n" for row in sorted(rows)))


def ttl_oracle(path):
    last = {}
    rows = []
    for frame in frames(path):
        direction = (frame["src"], frame["dst"], frame["sport"], frame["dport"], frame["proto"])
        previous = last.get(direction)
        last[direction] = frame["ttl"]
        if previous is not None and previous != frame["ttl"]:
            rows.append((frame["time"],) + direction + (previous, frame["ttl"]))
    write_rows(rows)


def alerts_named(path, name):
    for record in records.read_records(path):
        if record["type"] == "alert" and record.get("name") == name:
            yield record


def ttl_alerts(path):
    rows = []
    for record in alerts_named(path, "ttl_change"):
        if record["start"] != record["end"]:
            sys.exit(f"{path}: a ttl_change alert spans time: {record}")
        rows.append((record["start"], address(record["src"]), address(record["dst"]),
                     record["sport"], record["dport"], record["proto"], record["previous"],
                     record["value"]))
    write_rows(rows)


def syn_oracle(path, window_ns, min_syns, ratio):
    counts = collections.defaultdict(lambda: [0, 0])
    window_start = None
    rows = []

    def close():
        for destination, (syns, answers) in counts.items():
            if syns >= min_syns and syns / max(answers, 1) > ratio:
                rows.append((window_start, window_start + window_ns, destination, syns, answers))
        counts.clear()

    for frame in frames(path, with_non_ip=True):
        # windows follow the packets' order: an older packet counts in the open window
        if window_start is None:
            window_start = frame["time"] - frame["time"] % window_ns
        elif frame["time"] >= window_start + window_ns:
            close()
            window_start = frame["time"] - frame["time"] % window_ns
        if frame["proto"] != 6 or frame["flags"] is None:
            continue
        syn, ack = frame["flags"] & TCP_SYN, frame["flags"] & TCP_ACK
        if syn and ack:
            counts[frame["src"]][1] += 1
        elif syn:
            counts[frame["dst"]][0] += 1
        elif ack:
            counts[frame["dst"]][1] += 1
    if window_start is not None:
        close()
    write_rows(rows)


def syn_alerts(path):
    rows = []
    for record in alerts_named(path, "syn_flood"):
        rows.append((record["start"], record["end"], address(record["dst"]), record["value"],
                     record["previous"]))
    write_rows(rows)


def main(argv):
    commands = {
        "fields": (lambda: print(" ".join("-e " + name for name in TSHARK_FIELDS)), []),
        "ttl-oracle": (ttl_oracle, [str]),
        "ttl-alerts": (ttl_alerts, [str]),
        "syn-oracle": (syn_oracle, [str, int, int, float]),
        "syn-alerts": (syn_alerts, [str]),
    }
    if len(argv) < 1 or argv[0] not in commands or len(argv) - 1 != len(commands[argv[0]][1]):
        sys.exit(__doc__)
    function, types = commands[argv[0]]
    function(*(kind(value) for kind, value in zip(types, argv[1:])))


if __name__ == "__main__":
    main(sys.argv[1:])
