#!/usr/bin/env python3
"""Stand in for journald's native socket: receive datagrams on an AF_UNIX
socket and append each entry, as one JSON object per line, to a file.

Native protocol (systemd's journal-native protocol): fields separated by
newlines, each either `NAME=value` or `NAME\\n` followed by a 64-bit
little-endian length, the value's bytes and a newline. An entry too large for
a datagram comes as an empty datagram carrying a memfd (SCM_RIGHTS) that holds
it. Standard library only.

    journal_listener.py SOCKET OUTPUT.jsonl          native entries, as objects
    journal_listener.py --raw SOCKET OUTPUT.jsonl    any datagram (syslog's), as a string
"""
import array
import json
import os
import socket
import struct
import sys


def parse_entry(data):
    """The fields of one entry, as a dict of str (a repeated field keeps its last value)."""
    fields = {}
    position = 0
    while position < len(data):
        newline = data.find(b"\n", position)
        if newline < 0:
            newline = len(data)
        line = data[position:newline]
        if b"=" in line:
            name, value = line.split(b"=", 1)
            position = newline + 1
        else:
            name = line
            (length,) = struct.unpack_from("<Q", data, newline + 1)
            start = newline + 1 + 8
            value = data[start:start + length]
            position = start + length + 1
        if name:
            fields[name.decode()] = value.decode(errors="replace")
    return fields


def receive(listener):
    """One datagram's entry bytes, reading a memfd when one is passed."""
    descriptors = array.array("i")
    data, ancillary, _, _ = listener.recvmsg(1 << 20, socket.CMSG_SPACE(4 * descriptors.itemsize))
    for level, kind, payload in ancillary:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            descriptors.frombytes(payload[:len(payload) - len(payload) % descriptors.itemsize])
    for descriptor in descriptors:
        with os.fdopen(descriptor, "rb") as memfd:
            memfd.seek(0)
            data = memfd.read()
    return data


def main():
    raw = sys.argv[1] == "--raw"
    path, output_path = sys.argv[2:4] if raw else sys.argv[1:3]
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    listener.bind(path)
    with open(output_path, "a", buffering=1) as output:
        while True:
            data = receive(listener)
            entry = data.decode(errors="replace") if raw else parse_entry(data)
            output.write(json.dumps(entry, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
