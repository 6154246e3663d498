#!/usr/bin/env python3
"""Sum src_count records (JSON lines) per source into `source<TAB>packets<TAB>bytes`,
sorted by the source text, the format of gen_trace.py's --oracle files.

    jsonl_to_tsv.py RECORDS.jsonl > OUT.tsv
"""
import json
import sys


def main(path):
    totals = {}
    with open(path, encoding="utf-8") as stream:
        for line in stream:
            record = json.loads(line)
            if record.get("type") != "src_count":
                continue
            entry = totals.setdefault(record["src"], [0, 0])
            entry[0] += record["pkts"]
            entry[1] += record["bytes"]
    out = sys.stdout
    for source in sorted(totals):
        packets, octets = totals[source]
        out.write(f"{source}\t{packets}\t{octets}\n")
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(f"usage: {sys.argv[0]} RECORDS.jsonl")
    sys.exit(main(sys.argv[1]))
