#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Sum flow records per bidirectional 5-tuple in the oracle's form.

    flows_oracle.py RECORDS.jsonl > flows.tsv
    flows_oracle.py --ip-bytes RECORDS.jsonl > rows.tsv   # bytes: ip_bytes, rev_ip_bytes

Rows as in ../shared/traces/X.flows.tsv: endpoint a is the smaller of the two
by (IP version, address as an integer, port); TCP and UDP flows with ports only
(a record with both ports 0 holds non-first fragments or frames cut before the
ports, which the oracle leaves out). Standard library only.
"""
import collections
import ipaddress
import json
import sys


def endpoint(address, port):
    parsed = ipaddress.ip_address(address)
    return (parsed.version, int(parsed), port), address


def main(path, bytes_field="bytes", reverse_bytes_field="rev_bytes"):
    sums = collections.defaultdict(lambda: [0, 0, 0, 0])
    with open(path, encoding="utf-8") as records:
        for line in records:
            record = json.loads(line)
            if record["type"] != "flow" or record["proto"] not in (6, 17):
                continue
            if record["sport"] == 0 and record["dport"] == 0:
                continue
            source = endpoint(record["src"], record["sport"])
            destination = endpoint(record["dst"], record["dport"])
            forward = [record["pkts"], record[bytes_field], record["rev_pkts"],
                       record[reverse_bytes_field]]
            if source[0] > destination[0]:
                source, destination = destination, source
                forward = forward[2:] + forward[:2]
            key = (source[0], source[1], destination[0], destination[1], record["proto"])
            for index, value in enumerate(forward):
                sums[key][index] += value
    rows = []
    for (a_sort, a, b_sort, b, proto), counts in sums.items():
        rows.append("\t".join(map(str, [a, a_sort[2], b, b_sort[2], proto] + counts)))
    sys.stdout.write("".join(row + "\n" for row in sorted(rows)))


if __name__ == "__main__":
    if sys.argv[1] == "--ip-bytes":
        main(sys.argv[2], "ip_bytes", "rev_ip_bytes")
    else:
        main(sys.argv[1])
