#!/usr/bin/env bash
# The filter kernel selects exactly the packets tcpdump selects. For every
# shared capture, one daemon run feeds each expression below to two filters,
# one JIT-compiled and one interpreted, each followed by a per_src_counter
# (window: total). For every expression and engine: passed_packets equals
# the frames `tcpdump -r CAPTURE -w OUT EXPR` writes, passed + filtered
# equals the capture's frames, and the per-source totals equal those tshark
# reads from tcpdump's output (filter_oracle.py, whose rules are first checked
# against the capture's X.src.tsv). The JIT must run where the target has one.
# The first expression also runs with `invert: true` on two replicas, which
# must pass what it filters and filter what it passes.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"

[ -d "$traces" ] || skip "$traces not found (the shared test captures are not part of a fresh clone)"
command -v tcpdump >/dev/null || fail "tcpdump is missing: run scripts/deps.sh"

oracle="$repo_root/tests/integration/filter_oracle.py"
expressions=(
	"tcp"
	"udp and not port 53"
	"port 53"
	"tcp port 80 or tcp port 443 or icmp6"
	"icmp or icmp6"
	"ip6"
	"vlan"
	"vlan and ip"
	"tcp[tcpflags] & tcp-syn != 0"
	"tcp[tcpflags] & (tcp-syn|tcp-ack) == tcp-syn"
	"ip[8] < 5"
	"ip[6:2] & 0x3fff != 0"
	"not ip and not ip6"
	"greater 100"
	"less 80"
	"len >= 60 and len <= 1000"
	"net 10.0.0.0/8 or net 192.168.0.0/16 or net 2001:db8::/32"
	"tcp portrange 1-1023 and not tcp port 80"
	"tcp[20:4] != 0"
	"udp[8:2] != 0"
	"ip6 and ip6[6] == 58"
	"arp"
	"ip[2:2] - ((ip[0] & 0xf) << 2) - ((tcp[12] & 0xf0) >> 2) != 0"
	"(ip[2:2] - 20) % 7 == 3 or ip6[4:2] / 100 == 3"
	"-ip[8] + 300 > 250"
	"ip[12:4] > 0x80000000 and ip[2:2] * 3 > 1000"
	# flag tests chained: jumps that land on a JSET widened to `mov32 r8, imm; jset r0, r8`
	"tcp[tcpflags] & tcp-syn != 0 and tcp[tcpflags] & tcp-ack != 0"
	"(tcp[13] & 2 != 0 or not tcp[13] & 4 != 0) and tcp[13] & 1 != 0"
	"(tcp[13] & 16 != 0 or not tcp[13] & 4 != 0) and tcp[13] & 8 != 0"
	"tcp[tcpflags] & (tcp-syn|tcp-ack) == tcp-syn or tcp[tcpflags] & tcp-rst != 0 and tcp[tcpflags] & tcp-fin != 0"
	"not tcp[13] & 16 != 0 and tcp[13] & 2 != 0 and not tcp[13] & 4 != 0"
	"tcp[tcpflags] & tcp-fin != 0 or tcp[tcpflags] & tcp-rst != 0 and tcp[tcpflags] & tcp-ack != 0 or tcp[tcpflags] & tcp-push != 0"
	"(tcp[13] & 1 != 0 and tcp[13] & 16 != 0) or (tcp[13] & 2 != 0 and not tcp[13] & 16 != 0)"
)

# write_pipeline CAPTURE TOP_SOURCE PIPELINE: every expression plus `host TOP_SOURCE`, both engines.
write_pipeline() {
	local capture="$1" top="$2" pipeline="$3" index=0 engine
	{
		printf 'version: 1\nkernels:\n  rx:\n    type: source\n    pcap: "%s"\n' "$capture"
		for expression in "${expressions[@]}" "host $top"; do
			for engine in jit interpreter; do
				printf '  f%d_%s:\n    type: filter\n    input: rx\n    engine: %s\n' \
					"$index" "$engine" "$engine"
				printf '    expression: "%s"\n' "$expression"
				printf '  c%d_%s:\n    type: per_src_counter\n    input: f%d_%s\n    window: total\n' \
					"$index" "$engine" "$index" "$engine"
			done
			index=$((index + 1))
		done
		# the first expression inverted, on two replicas: passes what the JIT filters
		printf '  inverted:\n    type: filter\n    input: rx\n    invert: true\n    replicas: 2\n'
		printf '    expression: "%s"\n' "${expressions[0]}"
		printf '  inverted_out:\n    type: sink\n    input: inverted\n    format: null\n'
		# a sink takes at most 16 inputs: one sink per 8 expressions, all into one file
		for ((i = 0; i < index; i++)); do
			[ $((i % 8)) -eq 0 ] &&
				printf '  out%d:\n    type: sink\n    format: jsonl\n    path: "%s"\n    input: [c%d_jit, c%d_interpreter' \
					"$i" "$work/records$i.jsonl" "$i" "$i"
			[ $((i % 8)) -ne 0 ] && printf ', c%d_jit, c%d_interpreter' "$i" "$i"
			[ $((i % 8)) -eq 7 ] || [ "$i" -eq $((index - 1)) ] && printf ']\n'
		done
	} >"$pipeline"
}

echo "checks: for each capture in $traces and ${#expressions[@]}+1 expressions, the JIT and the"
echo "        interpreter pass exactly tcpdump's frames, with tshark's per-source totals of them"
captures=0
checked=0
for capture in "$traces"/*.pcap "$traces"/*.pcapng; do
	[ -f "$capture" ] || continue
	name="$(basename "$capture")"
	python3 "$oracle" "$capture" --self-check "$capture.src.tsv" ||
		fail "$name: the oracle's per-source rules differ from $name.src.tsv"
	frames="$(tshark -r "$capture" -T fields -e frame.number 2>/dev/null | wc -l)"
	top="$(awk -F'\t' '$2 > most { most = $2; top = $1 } END { print top }' "$capture.src.tsv")"
	write_pipeline "$capture" "$top" "$work/pipeline.yaml"
	rm -f "$work"/records*.jsonl
	run_ok "$work/stderr" -p "$work/pipeline.yaml"
	cat "$work"/records?*.jsonl >"$work/records.jsonl"
	rm -rf "$work/oracle" && mkdir "$work/oracle"
	python3 "$oracle" "$capture" "$work/oracle" "${expressions[@]}" "host $top"
	# every filter's figures from the exit summary's lines, read once: "f3_jit passed_packets=..."
	declare -A figures=()
	while read -r kernel stat value; do
		figures["$kernel.$stat"]="$value"
	done < <(awk '$2 == "filter" { for (i = 10; i <= NF; i++) { split($i, pair, "="); print $1, pair[1], pair[2] } }' "$work/stderr")
	# per-source totals of every counter, one file per counter kernel, in one pass
	rm -rf "$work/found" && mkdir "$work/found"
	python3 - "$work/records.jsonl" "$work/found" <<'EOF_PYTHON'
import collections, json, sys
counts = collections.defaultdict(lambda: collections.defaultdict(lambda: [0, 0]))
for line in open(sys.argv[1]):
    record = json.loads(line)
    if record["type"] == "src_count":
        counts[record["kernel"]][record["src"]][0] += record["pkts"]
        counts[record["kernel"]][record["src"]][1] += record["bytes"]
for kernel, sources in counts.items():
    with open(f"{sys.argv[2]}/{kernel}.tsv", "w") as out:
        for source in sorted(sources):
            out.write(f"{source}\t{sources[source][0]}\t{sources[source][1]}\n")
EOF_PYTHON
	index=0
	for expression in "${expressions[@]}" "host $top"; do
		expected_frames="$(cat "$work/oracle/$index.frames")"
		for engine in jit interpreter; do
			filter="f${index}_$engine"
			passed="${figures[$filter.passed_packets]:-missing}"
			filtered="${figures[$filter.filtered_packets]:-missing}"
			[ "$passed" = "$expected_frames" ] ||
				fail "$name, '$expression' ($engine): passed $passed, tcpdump selects $expected_frames"
			[ $((passed + filtered)) -eq "$frames" ] ||
				fail "$name, '$expression' ($engine): passed $passed + filtered $filtered != $frames frames"
			touch "$work/found/c${index}_$engine.tsv"
			diff -u "$work/oracle/$index.tsv" "$work/found/c${index}_$engine.tsv" >"$work/diff" ||
				{ head -n 20 "$work/diff"; fail "$name, '$expression' ($engine): per-source totals differ from tcpdump's"; }
			checked=$((checked + 1))
		done
		index=$((index + 1))
	done
	if [ "${figures[inverted.passed_packets]}" != "${figures[f0_jit.filtered_packets]}" ] ||
		[ "${figures[inverted.filtered_packets]}" != "${figures[f0_jit.passed_packets]}" ]; then
		fail "$name: invert: true on 2 replicas passed ${figures[inverted.passed_packets]}, filtered ${figures[inverted.filtered_packets]}"
	fi
	[ "${figures[f0_interpreter.jit]}" = 0 ] || fail "$name: engine: interpreter runs the JIT"
	[ "${figures[f0_jit.jit]}" = 1 ] || [ "$(uname -m)" != x86_64 ] ||
		fail "$name: the JIT does not run on x86_64"
	echo "  ok: $name: $frames frames, $((index * 2)) filters equal tcpdump (top source $top)"
	captures=$((captures + 1))
done
[ "$captures" -ge 9 ] || fail "only $captures captures in $traces, expected 9"
echo "  ok: $checked filter runs on $captures captures, each exactly tcpdump's selection"
