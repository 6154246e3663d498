#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Helpers of the integration tests: read jetstreamd's JSON-lines records and
exit summary, and compute expected values. Standard library only.

  totals RECORDS [KERNEL]             per-source sums of src_count records (oracle TSV format)
  scale TSV FACTOR                    an oracle TSV with every count multiplied
  add TSV TSV                         the per-source sums of two oracle TSVs
  windows RECORDS WINDOW_NS [KERNEL]  check windowed src_count records (alignment, uniqueness)
  alerts RECORDS METRIC ABOVE         check alerts are exactly the src_count records above the limit
  summary STDERR KEY                  a figure of the exit summary: packets, dropped, or KERNEL.STAT
  prefix PCAP FRAMES                  per-source TSV of the first FRAMES frames of a classic pcap
  pcap-info PCAP                      "frames N max_frame_length L" of a classic pcap
  kinds RECORDS                       "TYPE KERNEL COUNT" for each record type and kernel
  subset RECORDS ALL                  check each record of RECORDS is also in ALL (as many times)
  reload-actions STDERR               "GENERATION ACTION KERNEL" for each kernel named in the
                                      log's `reload: generation N running: kept a, b; added c`
  window-lengths RECORDS KERNEL       "LENGTH_NS COUNT" of a windowed kernel's src_count records,
                                      each checked to start on a multiple of its length
  alert-thresholds RECORDS            "KERNEL METRIC THRESHOLD COUNT" of the alerts, each checked
                                      to be strictly above its threshold
  reloads STDERR                      the reload outcomes in jetstreamd's log, in order:
                                      "error FILE:LINE:COL: error: ..." (or "error FILE: error:
                                      ..." when it names no position), "failed N" (keeping
                                      generation N), "ok N" (generation N running), and last
                                      "summary N" from the exit summary's first line
  proto-stats RECORDS                 "CLASS PKTS BYTES" per proto_stats class (l3.ipv4 ... l4.other),
                                      then "size.BUCKET PKTS", summed over all proto_stats records
  tshark-proto-stats FIELDS           the same figures from tshark's dissection: FIELDS holds
                                      `tshark -T fields -e frame.len -e frame.protocols
                                      -e ip.frag_offset -e ipv6.fraghdr.offset` (no defragmenting)

Timestamps are read as exact decimals (never floats) and handled in nanoseconds.
"""
import collections
import decimal
import ipaddress
import json
import re
import struct
import sys

NANOSECONDS = decimal.Decimal(1000000000)


def read_records(path):
    with open(path, encoding="utf-8") as stream:
        for number, line in enumerate(stream, 1):
            try:
                record = json.loads(line, parse_float=decimal.Decimal)
            except json.JSONDecodeError as error:
                sys.exit(f"{path}:{number}: not JSON ({error}): {line.rstrip()}")
            for key in ("start", "end"):
                if key in record:
                    record[key] = int(decimal.Decimal(record[key]) * NANOSECONDS)
            yield record


def write_tsv(counts):
    for source in sorted(counts):
        packets, octets = counts[source]
        sys.stdout.write(f"{source}\t{packets}\t{octets}\n")


def src_counts(path, kernel):
    """The src_count records of @path, of one kernel when @kernel is not None."""
    for record in read_records(path):
        if record["type"] == "src_count" and kernel in (None, record["kernel"]):
            yield record


def totals(path, kernel=None):
    counts = collections.defaultdict(lambda: [0, 0])
    for record in src_counts(path, kernel):
        counts[record["src"]][0] += record["pkts"]
        counts[record["src"]][1] += record["bytes"]
    write_tsv(counts)


def scale(path, factor):
    with open(path, encoding="ascii") as stream:
        for line in stream:
            source, packets, octets = line.rstrip("\n").split("\t")
            sys.stdout.write(f"{source}\t{int(packets) * factor}\t{int(octets) * factor}\n")


def read_tsv(path, counts):
    with open(path, encoding="ascii") as stream:
        for line in stream:
            source, packets, octets = line.rstrip("\n").split("\t")
            counts[source][0] += int(packets)
            counts[source][1] += int(octets)


def add(first, second):
    counts = collections.defaultdict(lambda: [0, 0])
    read_tsv(first, counts)
    read_tsv(second, counts)
    write_tsv(counts)


def windows(path, window_ns, kernel=None):
    problems = []
    seen = set()
    starts = set()
    count = 0
    for record in src_counts(path, kernel):
        count += 1
        key = (record["src"], record["start"])
        if record["start"] % window_ns != 0:
            problems.append(f"start not on a window boundary: {record}")
        if record["end"] - record["start"] != window_ns:
            problems.append(f"window is not {window_ns} ns long: {record}")
        if key in seen:
            problems.append(f"a second record for the same source and window: {record}")
        seen.add(key)
        starts.add(record["start"])
    for problem in problems[:20]:
        print(problem)
    if problems:
        sys.exit(1)
    print(f"{count} src_count records in {len(starts)} windows, all aligned, one per source and window")


def alerts(path, metric, above):
    expected, actual = [], []
    for record in read_records(path):
        if record["type"] == "src_count":
            value = record["pkts" if metric == "pkts" else "bytes"]
            if value > above:
                expected.append((record["src"], record["start"], record["end"], metric, value, above))
        elif record["type"] == "alert":
            actual.append((record["src"], record["start"], record["end"], record["metric"],
                           record["value"], record["threshold"]))
    expected.sort()
    actual.sort()
    if expected != actual:
        print(f"alerts differ from the src_count records above {above} {metric}:")
        print("  expected, not written:", sorted(set(expected) - set(actual))[:10])
        print("  written, not expected:", sorted(set(actual) - set(expected))[:10])
        print(f"  counts: expected {len(expected)}, written {len(actual)}")
        sys.exit(1)
    print(f"{len(actual)} alerts, exactly the (source, window) pairs above {above} {metric}")


SUMMARY_TOTAL = re.compile(r"^jetstreamd: (\d+) packets in [0-9.]+ s \([0-9.]+ Mpps\), (\d+) dropped"
                           r"(?:; drops unknown at \d+ sources?)?$")
SUMMARY_KERNEL = re.compile(r"^  (\S+)\s+(\S+)\s+x?(\d+|removed)\s+in (\d+)\s+out (\d+)\s+backpressure (\d+)(.*)$")


def summary(path, key):
    figures = {}
    total_lines = 0
    with open(path, encoding="utf-8") as stream:
        lines = stream.read().splitlines()
    for line in lines:
        match = SUMMARY_TOTAL.match(line)
        if match:
            total_lines += 1
            figures["packets"], figures["dropped"] = match.group(1), match.group(2)
            continue
        match = SUMMARY_KERNEL.match(line)
        if match:
            name = match.group(1)
            figures[f"{name}.replicas"] = match.group(3)
            figures[f"{name}.in"] = match.group(4)
            figures[f"{name}.out"] = match.group(5)
            figures[f"{name}.backpressure"] = match.group(6)
            for pair in match.group(7).split():
                stat, _, value = pair.partition("=")
                figures[f"{name}.{stat}"] = value
    if total_lines != 1 or not lines or not SUMMARY_TOTAL.match(lines[-1]):
        sys.exit(f"{path}: no summary ending in 'jetstreamd: N packets in S s (X Mpps), D dropped'")
    if key not in figures:
        sys.exit(f"{path}: the summary has no figure '{key}' (has: {' '.join(sorted(figures))})")
    print(figures[key])


def pcap_frames(path):
    """Yield (wire length, frame bytes) of a classic little- or big-endian pcap."""
    with open(path, "rb") as stream:
        header = stream.read(24)
        magic = struct.unpack("<I", header[:4])[0]
        if magic in (0xA1B2C3D4, 0xA1B23C4D):
            order = "<"
        elif magic in (0xD4C3B2A1, 0x4D3CB2A1):
            order = ">"
        else:
            sys.exit(f"{path}: not a classic pcap file")
        if struct.unpack(order + "I", header[20:24])[0] != 1:
            sys.exit(f"{path}: not Ethernet")
        while True:
            record = stream.read(16)
            if len(record) < 16:
                return
            _, _, captured, wire = struct.unpack(order + "IIII", record)
            yield wire, stream.read(captured)


def outer_source(frame):
    """Text of the outer IP source address, or None (no IP header in the captured bytes)."""
    offset, ethertype = 12, None
    while offset + 2 <= len(frame):
        ethertype = struct.unpack_from("!H", frame, offset)[0]
        if ethertype in (0x8100, 0x88A8, 0x9100):
            offset += 4
            continue
        offset += 2
        break
    if ethertype == 0x0800 and offset + 20 <= len(frame):
        return str(ipaddress.IPv4Address(frame[offset + 12:offset + 16]))
    if ethertype == 0x86DD and offset + 40 <= len(frame):
        return str(ipaddress.IPv6Address(frame[offset + 8:offset + 24]))
    return None


def prefix(path, frames):
    counts = collections.defaultdict(lambda: [0, 0])
    for index, (wire, frame) in enumerate(pcap_frames(path)):
        if index >= frames:
            break
        source = outer_source(frame)
        if source is not None:
            counts[source][0] += 1
            counts[source][1] += wire
    write_tsv(counts)


def pcap_info(path):
    frames, longest = 0, 0
    for wire, _ in pcap_frames(path):
        frames += 1
        longest = max(longest, wire)
    print(f"frames {frames} max_frame_length {longest}")


def kinds(path):
    counts = collections.Counter((record["type"], record["kernel"]) for record in read_records(path))
    for (kind, kernel), count in sorted(counts.items()):
        print(f"{kind} {kernel} {count}")


def subset(path, all_path):
    def key(record):
        return json.dumps(record, sort_keys=True, default=str)

    available = collections.Counter(key(record) for record in read_records(all_path))
    count, missing = 0, []
    for record in read_records(path):
        count += 1
        if available[key(record)] > 0:
            available[key(record)] -= 1
        else:
            missing.append(record)
    for record in missing[:10]:
        print(f"not in {all_path}: {record}")
    if missing:
        sys.exit(1)
    print(f"{count} records, each also in {all_path}")


def window_lengths(path, kernel):
    counts = collections.Counter()
    problems = []
    for record in src_counts(path, kernel):
        length = record["end"] - record["start"]
        counts[length] += 1
        if length <= 0 or record["start"] % length != 0:
            problems.append(f"start not on a multiple of the window length: {record}")
    for problem in problems[:20]:
        print(problem)
    if problems:
        sys.exit(1)
    for length, count in sorted(counts.items()):
        print(f"{length} {count}")


def alert_thresholds(path):
    counts = collections.Counter()
    problems = []
    for record in read_records(path):
        if record["type"] != "alert":
            continue
        counts[(record["kernel"], record["metric"], record["threshold"])] += 1
        if not record["value"] > record["threshold"]:
            problems.append(f"an alert not above its threshold: {record}")
    for problem in problems[:20]:
        print(problem)
    if problems:
        sys.exit(1)
    for (kernel, metric, threshold), count in sorted(counts.items()):
        print(f"{kernel} {metric} {threshold} {count}")


# A configuration error: FILE:LINE:COL: error: ..., or one that lacks the position
# (FILE: error: ...), reported so that a test can say which it found.
RELOAD_ERROR = re.compile(r"(?:^|\s)((?!jetstreamd:)[^\s:]\S*?(?::\d+:\d+)?: error: .*)$")
RELOAD_FAILED = re.compile(r"reload failed: keeping generation (\d+)")
RELOAD_OK = re.compile(r"reload: generation (\d+) running:")
SUMMARY_GENERATION = re.compile(r"^jetstreamd: summary \(generation (\d+)\):$")


def reloads(path):
    with open(path, encoding="utf-8", errors="replace") as stream:
        for line in stream:
            line = line.rstrip("\n")
            for pattern, label in ((RELOAD_FAILED, "failed"), (RELOAD_OK, "ok"),
                                   (SUMMARY_GENERATION, "summary"), (RELOAD_ERROR, "error")):
                match = pattern.search(line)
                if match:
                    print(f"{label} {match.group(1)}")
                    break


RELOAD_RUNNING = re.compile(r"reload: generation (\d+) running: (.*)$")


def reload_actions(path):
    with open(path, encoding="utf-8", errors="replace") as stream:
        for line in stream:
            match = RELOAD_RUNNING.search(line.rstrip("\n"))
            if not match:
                continue
            for part in match.group(2).split(";"):
                action, _, names = part.strip().partition(" ")
                for name in names.split(","):
                    if name.strip():
                        print(f"{match.group(1)} {action} {name.strip()}")


PROTO_STATS_L3 = ("ipv4", "ipv6", "other")
PROTO_STATS_L4 = ("tcp", "udp", "icmp", "icmpv6", "sctp", "other")
PROTO_STATS_SIZES = ("64", "65-127", "128-255", "256-511", "512-1023", "1024-1518", "1519+")


def print_proto_stats(classes, sizes):
    for level, names in (("l3", PROTO_STATS_L3), ("l4", PROTO_STATS_L4)):
        for name in names:
            packets, byte_count = classes[(level, name)]
            print(f"{level}.{name} {packets} {byte_count}")
    for name in PROTO_STATS_SIZES:
        print(f"size.{name} {sizes[name]}")


def proto_stats(path):
    classes = collections.defaultdict(lambda: [0, 0])
    sizes = collections.Counter()
    for record in read_records(path):
        if record["type"] != "proto_stats":
            continue
        for level, names in (("l3", PROTO_STATS_L3), ("l4", PROTO_STATS_L4)):
            for name in names:
                classes[(level, name)][0] += record[level][name]["pkts"]
                classes[(level, name)][1] += record[level][name]["bytes"]
        for name in PROTO_STATS_SIZES:
            sizes[name] += record["sizes"][name]
    print_proto_stats(classes, sizes)


# Wireshark layer names, as frame.protocols lists them, that carry the frame to its
# outermost IP header (Ethernet, then any number of VLAN tags) ...
TSHARK_LINK_LAYERS = ("eth", "ethertype", "vlan")
# ... the IPv6 extension headers Wireshark shows as layers of their own ...
TSHARK_IPV6_EXTENSIONS = ("ipv6.hopopts", "ipv6.routing", "ipv6.fraghdr", "ipv6.dstopts", "ah")
# ... and the L4 layers proto_stats has a class for.
TSHARK_L4_CLASSES = ("tcp", "udp", "icmp", "icmpv6", "sctp")


def first_value(field):
    """The outermost occurrence of a multi-occurrence tshark field ("" when absent)."""
    return field.split(",")[0]


def tshark_classes(layers, ipv4_fragment_offset, ipv6_fragment_offset):
    """(L3 class, L4 class or None) of one frame, from tshark's layer list and fields."""
    position = 0
    while position < len(layers) and layers[position] in TSHARK_LINK_LAYERS:
        position += 1
    network = layers[position] if position < len(layers) else ""
    if network not in ("ip", "ipv6"):
        return "other", None
    position += 1
    if network == "ip":
        fragment_offset = first_value(ipv4_fragment_offset)
    else:
        extensions = position
        while position < len(layers) and layers[position] in TSHARK_IPV6_EXTENSIONS:
            position += 1
        # the outer header's fragment header, if any, is the first one tshark reports
        has_fragment_header = "ipv6.fraghdr" in layers[extensions:position]
        fragment_offset = first_value(ipv6_fragment_offset) if has_fragment_header else ""
    l3 = "ipv4" if network == "ip" else "ipv6"
    if fragment_offset not in ("", "0"):
        return l3, "other"  # a later fragment: its L4 header is in the first one
    transport = layers[position] if position < len(layers) else ""
    return l3, transport if transport in TSHARK_L4_CLASSES else "other"


def tshark_proto_stats(path):
    classes = collections.defaultdict(lambda: [0, 0])
    sizes = collections.Counter()
    limits = (64, 127, 255, 511, 1023, 1518)
    with open(path, encoding="utf-8") as stream:
        for line in stream:
            fields = (line.rstrip("\n").split("\t") + [""] * 4)[:4]
            length = int(fields[0])
            l3, l4 = tshark_classes(fields[1].split(":"), fields[2], fields[3])
            for key in (("l3", l3), ("l4", l4)):
                if key[1] is not None:
                    classes[key][0] += 1
                    classes[key][1] += length
            # RFC 2819 counts octets with the FCS, which frame.len leaves out
            bucket = sum(1 for limit in limits if length + 4 > limit)
            sizes[PROTO_STATS_SIZES[bucket]] += 1
    print_proto_stats(classes, sizes)


def main(argv):
    commands = {
        "totals": (totals, [str], [str]),
        "scale": (scale, [str, int]),
        "add": (add, [str, str]),
        "windows": (windows, [str, int], [str]),
        "alerts": (alerts, [str, str, int]),
        "summary": (summary, [str, str]),
        "prefix": (prefix, [str, int]),
        "pcap-info": (pcap_info, [str]),
        "kinds": (kinds, [str]),
        "subset": (subset, [str, str]),
        "window-lengths": (window_lengths, [str, str]),
        "alert-thresholds": (alert_thresholds, [str]),
        "reloads": (reloads, [str]),
        "reload-actions": (reload_actions, [str]),
        "proto-stats": (proto_stats, [str]),
        "tshark-proto-stats": (tshark_proto_stats, [str]),
    }
    if len(argv) < 1 or argv[0] not in commands:
        sys.exit(__doc__)
    function, types, *optional = commands[argv[0]]
    optional = optional[0] if optional else []
    if not len(types) <= len(argv) - 1 <= len(types) + len(optional):
        sys.exit(__doc__)
    function(*(kind(value) for kind, value in zip(types + optional, argv[1:])))


if __name__ == "__main__":
    main(sys.argv[1:])
