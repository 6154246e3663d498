#!/usr/bin/env bash
# proto_stats totals of every shared capture equal what tshark counts on it:
# pcap -> proto_stats (window: total) -> sink, the records summed, compared
# with tshark's dissection of the same file (records.py tshark-proto-stats maps
# tshark's layer names to the classes). Exact equality of packets and bytes for
# each L3 class (IPv4, IPv6, other) and L4 class (TCP, UDP, ICMP, ICMPv6, SCTP,
# other), and of the RFC 2819 size histogram over frame.len. Run twice: with
# one replica and with two (the replicas' records must sum to the same).
#
# The definitions both sides use (see daemon/kernels/proto_stats.c): the outermost
# IP header right after Ethernet and VLAN tags; its protocol after IPv6 extension
# headers; non-first fragments (tshark with reassembly off) are "other" L4.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"

[ -d "$traces" ] || skip "$traces not found (the shared test captures are not part of a fresh clone)"
command -v tshark >/dev/null || skip "tshark is not installed (scripts/deps.sh installs it)"

echo "checks: proto_stats L3/L4 packets and bytes and frame sizes (window: total) equal tshark's"
echo "        counts for each capture in $traces, with replicas 1 and replicas 2"

# write_pipeline FILE CAPTURE REPLICAS RECORDS
write_pipeline() {
	cat >"$1" <<PIPELINE
version: 1
kernels:
  rx:
    type: source
    pcap: "$2"
  stats:
    type: proto_stats
    input: rx
    window: total
    replicas: $3
  out:
    type: sink
    input: stats
    format: jsonl
    path: "$4"
PIPELINE
}

mismatches=0
runs=0
files=0
for capture in "$traces"/*; do
	case "$capture" in *.pcap | *.pcapng) ;; *) continue ;; esac
	name="$(basename "$capture")"
	files=$((files + 1))
	# Reassembly off: each fragment is counted as the frame it is, as the daemon does.
	tshark -o ip.defragment:FALSE -o ipv6.defragment:FALSE -n -r "$capture" -T fields \
		-e frame.len -e frame.protocols -e ip.frag_offset -e ipv6.fraghdr.offset \
		>"$work/$name.tshark.tsv" 2>"$work/tshark.err" ||
		{ cat "$work/tshark.err"; fail "tshark cannot read $capture"; }
	records_tool tshark-proto-stats "$work/$name.tshark.tsv" >"$work/expected"
	results=""
	for replicas in 1 2; do
		runs=$((runs + 1))
		records="$work/$name.$replicas.jsonl"
		write_pipeline "$work/pipeline.yaml" "$capture" "$replicas" "$records"
		status=0
		run_jetstreamd "$work/stderr" -p "$work/pipeline.yaml" || status=$?
		if [ "$status" -ne 0 ]; then
			sed 's/^/    /' "$work/stderr"
			results+="replicas $replicas: jetstreamd exited $status; "
			mismatches=$((mismatches + 1))
			continue
		fi
		records_tool proto-stats "$records" >"$work/actual"
		if diff -u "$work/expected" "$work/actual" >"$work/diff"; then
			results+="replicas $replicas: match; "
		else
			results+="replicas $replicas: MISMATCH; "
			echo "  $name, replicas $replicas: diff tshark jetstreamd:"
			sed 's/^/    /' "$work/diff"
			mismatches=$((mismatches + 1))
		fi
	done
	printf '  %-45s %s (%s)\n' "$name" "${results%; }" \
		"$(awk '$1 ~ /^l3\./ { p += $2 } END { print p " frames" }' "$work/expected")"
done

[ "$files" -gt 0 ] || skip "no captures in $traces"
[ "$mismatches" -eq 0 ] || fail "$mismatches of $runs runs differ from tshark"
echo "ok: $files captures x 2 replica counts match tshark exactly"
