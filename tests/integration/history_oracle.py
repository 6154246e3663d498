#!/usr/bin/env python3
"""Compare a history dump (pcapng) with what tcpdump selects from the trace.

history_oracle.py TRACE DUMP DESTINATION START_NS END_NS [--held-from-comment]

Reads both files with tshark (frame.time_epoch as nanoseconds, frame.len) and
tcpdump (`dst host DESTINATION`), keeps the trace's packets with times in
[START_NS, END_NS], and checks the dump holds exactly those, in order, with
the same nanosecond times and lengths. With --held-from-comment the range
starts instead at the time the dump's comment says the held packets began
(a dump cut by memory), and the dump must be shorter than the full range.
Prints one line of figures; exits 1 with the first difference.
"""
import re
import subprocess
import sys


def packets(command):
    output = subprocess.run(command, check=True, capture_output=True, text=True,
                            shell=isinstance(command, str)).stdout
    rows = []
    for line in output.splitlines():
        epoch, length = line.split("\t")
        seconds, _, fraction = epoch.partition(".")
        rows.append((int(seconds) * 10**9 + int(fraction.ljust(9, "0")[:9]), int(length)))
    return rows


def comment_of(dump):
    output = subprocess.run(["capinfos", "-k", dump], check=True, capture_output=True,
                            text=True).stdout
    return output


def main():
    trace, dump, destination, start, end = sys.argv[1:6]
    start, end = int(start), int(end)
    cut = "--held-from-comment" in sys.argv[6:]
    fields = "tshark -r - -T fields -e frame.time_epoch -e frame.len 2>/dev/null"
    selected = packets(f"tcpdump -r '{trace}' -w - 'dst host {destination}' 2>/dev/null | {fields}")
    in_range = [p for p in selected if start <= p[0] <= end]
    held_from = start
    if cut:
        match = re.search(r"cut by memory: the packets held began at \S+ \((\d+) ns\)",
                          comment_of(dump))
        if match is None:
            print(f"FAIL: the comment of {dump} does not say it was cut by memory")
            return 1
        held_from = int(match.group(1))
    expected = [p for p in in_range if p[0] >= held_from]
    got = packets(["tshark", "-r", dump, "-T", "fields", "-e", "frame.time_epoch",
                   "-e", "frame.len"])
    if cut and not len(got) < len(in_range):
        print(f"FAIL: a dump cut by memory holds {len(got)} packets, the range {len(in_range)}")
        return 1
    if got != expected:
        for index, (want, have) in enumerate(zip(expected, got)):
            if want != have:
                print(f"FAIL: packet {index}: dump {have}, trace {want}")
                return 1
        print(f"FAIL: dump holds {len(got)} packets, the trace selects {len(expected)}")
        return 1
    print(f"dump holds exactly the {len(got)} packets of the trace's {len(in_range)} in the range"
          f" from {held_from}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
