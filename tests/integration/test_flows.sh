#!/usr/bin/env bash
# Flows of every shared capture equal its oracle exactly: pcap -> flow_tracker
# (timeouts longer than any capture) -> sink, records summed per bidirectional
# 5-tuple and diffed with X.flows.tsv, with one replica and with two (the
# symmetric hash must bring both directions of a flow to one replica).
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"

[ -d "$traces" ] || skip "$traces not found (the shared test captures are not part of a fresh clone)"

echo "checks: per-flow packets and bytes in each direction equal X.flows.tsv for each capture,"
echo "        with replicas 1 and replicas 2"
mismatches=0
for oracle in "$traces"/*.flows.tsv; do
	capture="${oracle%.flows.tsv}"
	name="$(basename "$capture")"
	results=""
	for replicas in 1 2; do
		records="$work/$name.$replicas.jsonl"
		cat >"$work/pipeline.yaml" <<EOT
version: 1
kernels:
  rx:
    type: source
    pcap: "$capture"
  flows:
    type: flow_tracker
    input: rx
    replicas: $replicas
    idle_timeout: 1d
    active_timeout: 1d
  out:
    type: sink
    input: flows
    path: "$records"
EOT
		status=0
		run_jetstreamd "$work/stderr" -p "$work/pipeline.yaml" || status=$?
		if [ "$status" -ne 0 ]; then
			sed 's/^/    /' "$work/stderr"
			results+="replicas $replicas: exit $status; "
			mismatches=$((mismatches + 1))
			continue
		fi
		# the same order for both: the rows, compared as text
		python3 "$integration_directory/flows_oracle.py" "$records" | LC_ALL=C sort >"$work/flows.tsv"
		LC_ALL=C sort "$oracle" >"$work/oracle.tsv"
		if diff -q "$work/oracle.tsv" "$work/flows.tsv" >/dev/null; then
			results+="replicas $replicas: match; "
		else
			results+="replicas $replicas: MISMATCH; "
			{ diff "$work/oracle.tsv" "$work/flows.tsv" || true; } | head -10 | sed 's/^/    /'
			mismatches=$((mismatches + 1))
		fi
	done
	printf '  %-45s %s\n' "$name" "$results"
done
[ "$mismatches" -eq 0 ] || fail "$mismatches runs differ from their oracle"
echo "ok: every capture's flows match their oracle, with 1 and 2 replicas"
