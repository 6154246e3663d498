#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Helpers of test_ipfix.sh: capture an IPFIX export, and turn what collectors
decode into the rows of ../shared/traces/X.flows.tsv (see flows_oracle.py).

    ipfix_flows.py listen tcp|udp PORT_FILE OUTPUT   # write the port, then the stream
    ipfix_flows.py stall PORT_FILE  # a TCP "collector" that accepts every connection, never reads
    ipfix_flows.py nfdump CSV       # nfdump -o csv -> a, a_port, b, b_port, proto,
                                    # pkts a->b, bytes a->b, pkts b->a, bytes b->a (ibyt: octetDeltaCount)
    ipfix_flows.py ipfixdump TEXT DOMAIN [ELEMENT]   # ipfixDump output -> the oracle's nine
                                    # columns, bytes from layer2OctetDeltaCount (or ELEMENT,
                                    # octetDeltaCount); checks each message's domain and sequence number

Rows keep TCP and UDP flows with ports only, as the oracle does. Each IPFIX
record is one direction of a flow. Standard library only.
"""
import ipaddress
import os
import re
import socket
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from flows_oracle import endpoint  # noqa: E402 (the oracle's order of endpoints)

PROTOCOLS = {"TCP": 6, "UDP": 17, "6": 6, "17": 17}


def listen(transport, port_file, output):
    kind = socket.SOCK_STREAM if transport == "tcp" else socket.SOCK_DGRAM
    server = socket.socket(socket.AF_INET, kind)
    server.bind(("127.0.0.1", 0))
    with open(port_file + ".tmp", "w", encoding="ascii") as port:
        port.write(str(server.getsockname()[1]))
    os.rename(port_file + ".tmp", port_file)
    with open(output, "wb") as stream:
        if transport == "tcp":
            server.listen(1)
            connection, _ = server.accept()
            while True:
                data = connection.recv(65536)
                if not data:
                    return
                stream.write(data)
                stream.flush()
        while True:
            stream.write(server.recv(65536))
            stream.flush()


def stall(port_file):
    """Accept connections and hold them unread (a 4 KiB receive buffer), until killed."""
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # inherited by each connection
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    with open(port_file + ".tmp", "w", encoding="ascii") as port:
        port.write(str(server.getsockname()[1]))
    os.rename(port_file + ".tmp", port_file)
    held = []
    while True:
        connection, _ = server.accept()
        held.append(connection)
        with open(port_file + ".connections", "w", encoding="ascii") as count:
            count.write(str(len(held)))


def add(sums, source, source_port, destination, destination_port, protocol, counts,
        reverse_counts=None):
    """Sum one direction's counts (and a biflow's reverse ones) into the bidirectional row."""
    if protocol not in (6, 17) or (source_port == 0 and destination_port == 0):
        return
    a = endpoint(source, source_port)
    b = endpoint(destination, destination_port)
    width = len(counts)
    forward = list(counts) + (list(reverse_counts) if reverse_counts else [0] * width)
    if a[0] > b[0]:
        a, b = b, a
        forward = forward[width:] + forward[:width]
    key = (a[0], a[1], b[0], b[1], protocol)
    row = sums.setdefault(key, [0] * (2 * width))
    for index, value in enumerate(forward):
        row[index] += value


def write_rows(sums):
    rows = []
    for (a_sort, a, b_sort, b, protocol), counts in sums.items():
        rows.append("\t".join(map(str, [a, a_sort[2], b, b_sort[2], protocol] + counts)))
    sys.stdout.write("".join(row + "\n" for row in sorted(rows)))


def from_nfdump(path):
    sums = {}
    with open(path, encoding="utf-8") as lines:
        for line in lines:
            fields = line.rstrip("\n").split(",")
            if len(fields) < 12 or fields[0] == "ts":
                continue
            protocol = PROTOCOLS.get(fields[7].strip())
            if protocol is None:
                continue
            add(sums, fields[3], int(fields[5]), fields[4], int(fields[6]), protocol,
                [int(fields[11]), int(fields[12])])
    write_rows(sums)


def normal_address(text):
    return str(ipaddress.ip_address(text))


def from_ipfixdump(path, domain, octets="layer2OctetDeltaCount"):
    """Rows with packets and the bytes of element @octets; exits 1 when a header is
    wrong. A biflow record (RFC 5103 reverse elements) gives both directions."""
    reverse_octets = "reverse" + octets[0].upper() + octets[1:]
    sums = {}
    records_before = 0
    errors = []
    record = None
    with open(path, encoding="utf-8") as lines:
        text = lines.read()
    for line in text.splitlines() + ["--- end ---"]:
        header = re.search(r"observation domain id: (\d+)", line)
        if header and int(header.group(1)) != domain:
            errors.append("observation domain %s, expected %d" % (header.group(1), domain))
        sequence = re.search(r"sequence number: (\d+)", line)
        if sequence and int(sequence.group(1)) != records_before:
            errors.append("sequence number %s, expected %d" % (sequence.group(1), records_before))
        if line.startswith("---") and record is not None:
            add(sums, normal_address(record["source"]), int(record["sourceTransportPort"]),
                normal_address(record["destination"]), int(record["destinationTransportPort"]),
                int(record["protocolIdentifier"]),
                [int(record["packetDeltaCount"]), int(record[octets])],
                [int(record["reversePacketDeltaCount"]), int(record[reverse_octets])]
                if "reversePacketDeltaCount" in record else None)
            record = None
        if line.startswith("--- data record"):
            record = {}
            records_before += 1
            continue
        field = re.match(r"\s*\([\d/]+\)\s+(\w+) : (.*)$", line)
        if record is not None and field:
            name, value = field.group(1), field.group(2).strip()
            if name.startswith("source") and name.endswith("Address"):
                name = "source"
            elif name.startswith("destination") and name.endswith("Address"):
                name = "destination"
            record[name] = value
    for error in errors[:5]:
        print(error, file=sys.stderr)
    # the oracle's column order: pkts a->b, bytes a->b, pkts b->a, bytes b->a (already so)
    write_rows(sums)
    sys.exit(1 if errors else 0)


if __name__ == "__main__":
    command = sys.argv[1]
    if command == "listen":
        listen(sys.argv[2], sys.argv[3], sys.argv[4])
    elif command == "stall":
        stall(sys.argv[2])
    elif command == "nfdump":
        from_nfdump(sys.argv[2])
    elif command == "ipfixdump":
        from_ipfixdump(sys.argv[2], int(sys.argv[3]), *sys.argv[4:5])
    else:
        sys.exit("unknown command " + command)
