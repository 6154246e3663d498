#!/usr/bin/env python3
"""Medians of several build/flow_tracker_bench outputs, one row per line:
`label<TAB>result<TAB>note`.

    flow_tracker_rows.py RUN1.log RUN2.log ...
"""
import re
import statistics
import sys

ROW = re.compile(r"^\s*(\d+)\s+(uniform|zipf)\s+([0-9.]+)\s+([0-9.]+)\s+([0-9.]+)\s+([0-9.]+)\s*$")
# after each row: what the bench's own feeding costs, and the median full burst (robust to preemption)
GENERATOR = re.compile(r"^generator: filling ([0-9.]+) ns/packet \(untimed\); receive\+free only ([0-9.]+) ns/packet "
                       r".*median burst: kernel ([0-9.]+), receive\+free ([0-9.]+) ns/packet")
EXPIRY = re.compile(r"^mass expiry of (\d+) flows: longest process\(\) ([0-9.]+) us, "
                    r"expiry_work_max (\d+), ([0-9.]+) Mpps while expiring")


def flows_text(count):
    for unit, size in (("M", 1000000), ("K", 1000)):
        if count >= size and count % size == 0:
            return f"{count // size}{unit}"
    return str(count)


def main(paths):
    rows, generator, expiry = {}, {}, []
    for path in paths:
        with open(path, encoding="utf-8") as stream:
            key = None
            for line in stream:
                match = ROW.match(line)
                if match:
                    key = (int(match.group(1)), match.group(2))
                    rows.setdefault(key, []).append(tuple(float(v) for v in match.group(3, 4, 5, 6)))
                    continue
                match = GENERATOR.match(line)
                if match and key is not None:
                    generator.setdefault(key, []).append(tuple(float(v) for v in match.group(1, 2, 3, 4)))
                    continue
                match = EXPIRY.match(line)
                if match:
                    expiry.append((int(match.group(1)), float(match.group(2)), int(match.group(3)),
                                   float(match.group(4))))
    if not rows:
        sys.exit("no flow_tracker_bench rows found")
    for (flows, pattern), values in sorted(rows.items()):
        mpps = statistics.median(v[0] for v in values)
        table = statistics.median(v[1] for v in values)
        resident = statistics.median(v[2] for v in values)
        longest = statistics.median(v[3] for v in values)
        feeding = ""
        if (flows, pattern) in generator:
            runs = generator[(flows, pattern)]
            feeding = (f"; median burst {statistics.median(g[2] for g in runs):.1f} ns/packet, of which "
                       f"receive+free {statistics.median(g[3] for g in runs):.1f}; filling the mbufs "
                       f"(untimed) {statistics.median(g[0] for g in runs):.1f} ns/packet")
        print(f"3 flow_tracker {flows_text(flows)} flows, {pattern}\t{mpps:.2f} Mpps, {table:.1f} B/flow\t"
              f"table B/flow {table:.1f}, RSS B/flow {resident:.1f}, longest process() {longest:.0f} us; "
              f"Mpps per run: {', '.join(f'{v[0]:.2f}' for v in values)}{feeding}")
    if expiry:
        flows = expiry[0][0]
        longest = statistics.median(e[1] for e in expiry)
        rate = statistics.median(e[3] for e in expiry)
        work = statistics.median(e[2] for e in expiry)
        print(f"3 flow_tracker mass expiry of {flows_text(flows)} flows\t{longest:.0f} us longest call\t"
              f"{rate:.2f} Mpps while expiring, expiry_work_max {work:.0f}; longest us per run: "
              f"{', '.join(f'{e[1]:.0f}' for e in expiry)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
