#!/usr/bin/env bash
# The demo (`make demo`): generate a trace, run the demo pipeline on it, and
# show what came out: the top talkers, the threshold alerts and jetstreamd's
# exit summary. Paths in pipelines/demo.yaml are relative to the repository
# root, so this runs from there.
set -euo pipefail

cd "$(dirname "$0")/.."

trace=demo/demo.pcap
records=demo/records.jsonl
summary=demo/summary.txt
jetstreamd=./build/jetstreamd

[ -x "$jetstreamd" ] || { echo "demo: $jetstreamd is missing: run 'make demo'" >&2; exit 1; }
mkdir -p demo
if [ ! -f "$trace" ] || [ ! -f "$trace.src.tsv" ]; then
	echo "demo: generating $trace (200,000 frames over 10 s, heavy hitter 203.0.113.66)"
	python3 scripts/gen_trace.py --output "$trace" --oracle
fi

# The sink appends: start from an empty file so the report covers this run only.
: >"$records"
echo "demo: $jetstreamd -p pipelines/demo.yaml"
status=0
"$jetstreamd" -p pipelines/demo.yaml 2>"$summary" || status=$?
if [ "$status" -ne 0 ]; then
	cat "$summary" >&2
	echo "demo: jetstreamd failed (exit status $status)" >&2
	exit "$status"
fi

python3 - "$records" "$trace.src.tsv" <<'EOF'
import json
import sys

records_path, oracle_path = sys.argv[1:3]
totals = {}
alerts = []
with open(records_path) as records:
    for line in records:
        record = json.loads(line)
        if record["type"] == "src_count":
            entry = totals.setdefault(record["src"], [0, 0])
            entry[0] += record["pkts"]
            entry[1] += record["bytes"]
        elif record["type"] == "alert":
            alerts.append(record)

all_packets = sum(packets for packets, _ in totals.values()) or 1
print(f"\nTop 10 talkers over the whole trace ({len(totals)} sources, per-second records summed):")
print(f"  {'source':<40} {'packets':>9} {'share':>7} {'bytes':>12}")
for source, (packets, octets) in sorted(totals.items(), key=lambda item: (-item[1][0], item[0]))[:10]:
    print(f"  {source:<40} {packets:>9} {100 * packets / all_packets:>6.1f}% {octets:>12}")

print(f"\nAlerts ({len(alerts)}): sources above the threshold in a one-second window:")
print(f"  {'source':<40} {'window start (s)':>22} {'value':>9} {'threshold':>10}")
for alert in sorted(alerts, key=lambda a: (a["start"], a["src"])):
    print(f"  {alert['src']:<40} {alert['start']:>22.3f} {alert['value']:>9} {alert['threshold']:>10}")

with open(oracle_path) as oracle:
    expected = {source: [int(packets), int(octets)]
                for source, packets, octets in (line.rstrip("\n").split("\t") for line in oracle)}
print("\nCounts checked against the generator's oracle (" + oracle_path + "): "
      + ("they match exactly" if totals == expected else "THEY DIFFER"))
sys.exit(0 if totals == expected else 1)
EOF

echo
echo "Exit summary (jetstreamd's standard error):"
sed 's/^/  /' "$summary"
echo
echo "All records: $records"
