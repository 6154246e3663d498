#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""The rows the sqlite sink should hold, from the jsonl records of the same
run: the oracle of tests/integration/test_sqlite.sh. Standard library only.

  query TABLE            the SELECT of TABLE's columns (times as their _ns integers)
  rows RECORDS TABLE     the jsonl records of TABLE's type as that SELECT prints them
                         (tab-separated, NULL for a field the line leaves out)
  times TABLE            a SELECT counting the rows whose REAL seconds differ from
                         their _ns integers by more than a microsecond (0 expected)

Times are read as exact decimals (never floats) and compared in nanoseconds.
"""
import decimal
import json
import sys

NANOSECONDS = decimal.Decimal(1000000000)
TIMES = {"src_count": ["start", "end"], "alert": ["start", "end", "duration"], "flow": ["first", "last"],
         "proto_stats": ["start", "end"]}
CLASSES = ["l3.ipv4", "l3.ipv6", "l3.other", "l4.tcp", "l4.udp", "l4.icmp", "l4.icmpv6",
           "l4.sctp", "l4.other"]
SIZES = ["64", "65-127", "128-255", "256-511", "512-1023", "1024-1518", "1519+"]
FIELDS = {
    "src_count": ["kernel", "src", "dst", "pkts", "bytes", "start", "end"],
    "alert": ["kernel", "name", "src", "dst", "sport", "dport", "proto", "metric", "value",
              "previous", "threshold", "start", "end", "group", "per", "state", "alert_id",
              "peak", "pkts", "bytes", "duration", "reason"],
    "flow": ["kernel", "src", "dst", "sport", "dport", "proto", "pkts", "bytes", "rev_pkts",
             "rev_bytes", "ip_bytes", "rev_ip_bytes", "first", "last", "tcp_flags",
             "rev_tcp_flags", "end_reason"],
    "proto_stats": ["kernel", "start", "end"]
    + [f"{c}.{figure}" for c in CLASSES for figure in ("pkts", "bytes")]
    + [f"sizes.{size}" for size in SIZES] + ["malformed"],
}


def column(table, field):
    """The column of a jsonl field: nested names joined with _, times as _ns."""
    if field in TIMES[table]:
        return f"{field}_ns"
    return field.replace(".", "_").replace("-", "_").replace("+", "_plus")


def value(record, table, field):
    for part in field.split(".") if table == "proto_stats" else [field]:
        if not isinstance(record, dict) or part not in record:
            return "NULL"
        record = record[part]
    if field in TIMES[table]:
        return str(int(decimal.Decimal(record) * NANOSECONDS))
    return str(record)


def query(table):
    columns = ", ".join(f'"{column(table, field)}"' for field in FIELDS[table])
    print(f"SELECT {columns} FROM {table};")


def rows(path, table):
    with open(path, encoding="utf-8") as stream:
        for line in stream:
            record = json.loads(line, parse_float=decimal.Decimal)
            if record["type"] == table:
                print("\t".join(value(record, table, field) for field in FIELDS[table]))


def times(table):
    differ = " OR ".join(f'abs("{time}" - "{time}_ns" / 1e9) > 1e-6' for time in TIMES[table])
    print(f"SELECT count(*) FROM {table} WHERE {differ};")


if __name__ == "__main__":
    command, arguments = sys.argv[1], sys.argv[2:]
    {"query": query, "rows": rows, "times": times}[command](*arguments)
