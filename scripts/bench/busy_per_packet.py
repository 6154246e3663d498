#!/usr/bin/env python3
"""Worker busy time per packet from `jetstreamctl status --json` replies.

    busy_per_packet.py REPLIES.jsonl

REPLIES.jsonl holds one reply per line, taken every fraction of a second while
traffic ran. A reply's `busy_ratio` (per lcore) and `items_out_per_second` (per
kernel replica) cover the same interval, from the control thread's last
one-second tick to the reply, so for each reply

    ns per packet = sum over worker lcores of busy_ratio * 1e9 / packets per second

where packets per second is the sum over the source's replicas (the sink
thread is left out: it writes the records, the same in both mappings). Only
replies taken while the source ran at half its highest rate or more count
(start-up, the ramp and the tail of a replay are left out). Prints
"MEDIAN REPLIES LCORES PEAK_PPS BUSY": the median of the replies' figures, how
many replies counted, the worker lcores, the highest source rate seen and the
median busy share of the worker lcores (summed) in those replies.
Exits 1 when no reply saw traffic.
"""
import json
import statistics
import sys


def figures(reply):
    status = reply.get("status", reply)
    rate = sum(row["items_out_per_second"] for row in status["instances"]
               if row["source"] and row["replicas"] > 0)
    workers = [lcore for lcore in status["lcores"] if not lcore["sink_thread"]]
    busy = sum(lcore["busy_ratio"] for lcore in workers)
    return rate, busy, len(workers)


def main(path):
    samples = []
    with open(path, encoding="utf-8") as stream:
        for line in stream:
            line = line.strip()
            if not line:
                continue
            try:
                samples.append(figures(json.loads(line)))
            except (ValueError, KeyError):
                continue  # a reply cut by the daemon's exit
    peak = max((rate for rate, _busy, _lcores in samples), default=0.0)
    if peak <= 0:
        sys.exit(f"{path}: no reply saw the source receive anything")
    steady = [(busy * 1e9 / rate, busy) for rate, busy, _lcores in samples if rate >= peak / 2]
    lcores = max(count for _rate, _busy, count in samples)
    nanoseconds = statistics.median(figure for figure, _busy in steady)
    share = statistics.median(busy for _figure, busy in steady)
    print(f"{nanoseconds:.1f} {len(steady)} {lcores} {peak:.0f} {share:.2f}")
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(f"usage: {sys.argv[0]} REPLIES.jsonl")
    sys.exit(main(sys.argv[1]))
