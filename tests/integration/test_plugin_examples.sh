#!/usr/bin/env bash
# The example plugins (examples/kernels/), built by `make examples` against the
# installed API and loaded from the settings' `plugins:` list:
# - ttl_change on every shared capture (replicas 1 and 2) gives exactly the TTL
#   changes per direction that tshark's fields give (plugin_oracles.py), and
#   one alert line byte for byte; ttl_change_v2.so, the same source built with
#   another alert name, gives the same lines with that name;
# - syn_flood on the spoofed SYN flood (and on ndpi_sites, which has answered
#   handshakes, at a ratio just below and at the one SYN/answer ratio it has)
#   gives exactly the alerts tshark's tcp.flags give per window;
# - a misspelt key of a plugin's kernel is a `file:line:col: error: ... did you
#   mean` at --check (exit 78), and a plugin that its group may write is
#   refused (exit 78, with the reason at the settings entry).
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"

[ -d "$traces" ] ||
	skip "$traces not found (the shared test captures are not part of a fresh clone)"
command -v tshark >/dev/null || skip "tshark is not installed (scripts/deps.sh installs it)"

oracles="$integration_directory/plugin_oracles.py"
examples="$repo_root/build/examples"

echo "checks: make examples builds build/examples/{ttl_change,ttl_change_v2,syn_flood}.so,"
echo "        mode 0644"
make -C "$repo_root" --no-print-directory examples >"$work/make.log" 2>&1 ||
	{ sed 's/^/    /' "$work/make.log"; fail "make examples failed"; }
for name in ttl_change ttl_change_v2 syn_flood; do
	[ -f "$examples/$name.so" ] || fail "$examples/$name.so was not built"
	[ "$(stat -c %a "$examples/$name.so")" = 644 ] ||
		fail "$examples/$name.so has mode $(stat -c %a "$examples/$name.so"), expected 644"
done

# write_settings FILE PLUGIN: a settings file whose `plugins:` lists PLUGIN (line 3, column 5).
write_settings() {
	cat >"$1" <<EOT
version: 1
plugins:
  - "$2"
EOT
}

# write_pipeline FILE CAPTURE TYPE RECORDS [KEY: VALUE lines of the kernel]...
write_pipeline() {
	local file="$1" capture="$2" type="$3" records="$4" line
	shift 4
	{
		cat <<EOT
version: 1
kernels:
  rx:
    type: source
    pcap: "$capture"
  plugin:
    type: $type
    input: rx
EOT
		for line in "$@"; do
			echo "    $line"
		done
		cat <<EOT
  out:
    type: sink
    input: plugin
    path: "$records"
EOT
	} >"$file"
}

# tshark_fields CAPTURE OUTPUT: the fields plugin_oracles.py reads, without reassembly.
tshark_fields() {
	# shellcheck disable=SC2046 # the -e options, one word each
	tshark -o ip.defragment:FALSE -o ipv6.defragment:FALSE -n -r "$1" -T fields \
		-E separator=/t $(python3 "$oracles" fields) >"$2" 2>"$work/tshark.err" ||
		{ cat "$work/tshark.err"; fail "tshark cannot read $1"; }
}

mismatches=0
# compare NAME ORACLE_ROWS RECORD_ROWS: count a mismatch, showing the first differences.
compare() {
	if cmp -s "$2" "$3"; then
		printf '  %-60s match (%s alerts)\n' "$1" "$(wc -l <"$2")"
	else
		printf '  %-60s MISMATCH\n' "$1"
		{ diff "$2" "$3" || true; } | head -10 | sed 's/^/    /'
		mismatches=$((mismatches + 1))
	fi
}

echo "checks: ttl_change alerts equal the TTL changes per direction from tshark, every capture,"
echo "        replicas 1 and 2"
write_settings "$work/ttl.yaml" "$examples/ttl_change.so"
for capture in "$traces"/*.pcap "$traces"/*.pcapng; do
	[ -f "$capture" ] || continue
	name="$(basename "$capture")"
	tshark_fields "$capture" "$work/$name.fields"
	python3 "$oracles" ttl-oracle "$work/$name.fields" >"$work/$name.ttl.oracle"
	for replicas in 1 2; do
		records="$work/$name.ttl.$replicas.jsonl"
		write_pipeline "$work/pipeline.yaml" "$capture" ttl_change "$records" \
			"replicas: $replicas"
		run_ok "$work/stderr" -c "$work/ttl.yaml" -p "$work/pipeline.yaml"
		python3 "$oracles" ttl-alerts "$records" >"$work/$name.ttl.rows"
		compare "$name, replicas $replicas" "$work/$name.ttl.oracle" "$work/$name.ttl.rows"
	done
done

echo "checks: one ttl_change alert line exactly; ttl_change_v2.so gives the same lines named"
echo "        ttl_change_v2"
tls="$traces/pcapplusplus_tls2.pcap"
expected='{"type":"alert","kernel":"plugin","name":"ttl_change","src":"2607:f8b0:4007:810::200a",'
expected+='"dst":"2601:647:4b02:1d20:fd05:6f66:ecce:8bc7","sport":443,"dport":49635,"proto":6,'
expected+='"value":122,"previous":114,"start":1609829741.320397000,"end":1609829741.320397000}'
first_line="$(grep -m1 '"name":"ttl_change"' "$work/pcapplusplus_tls2.pcap.ttl.1.jsonl" || true)"
[ "$first_line" = "$expected" ] ||
	fail "the first ttl_change alert of $tls is
    $first_line
expected
    $expected"
write_settings "$work/ttl_v2.yaml" "$examples/ttl_change_v2.so"
write_pipeline "$work/pipeline.yaml" "$tls" ttl_change "$work/v2.jsonl"
run_ok "$work/stderr" -c "$work/ttl_v2.yaml" -p "$work/pipeline.yaml"
sed 's/"name":"ttl_change"/"name":"ttl_change_v2"/' "$work/pcapplusplus_tls2.pcap.ttl.1.jsonl" \
	>"$work/v2.expected"
compare "ttl_change_v2.so on $(basename "$tls"), line for line" "$work/v2.expected" "$work/v2.jsonl"

echo "checks: syn_flood alerts equal tshark's SYNs and answers per destination and window"
write_settings "$work/syn.yaml" "$examples/syn_flood.so"
# syn_run CAPTURE WINDOW WINDOW_NS MIN_SYNS RATIO
syn_run() {
	local capture="$1" name records="$work/syn.jsonl"
	name="$(basename "$capture")"
	[ -f "$work/$name.fields" ] || tshark_fields "$capture" "$work/$name.fields"
	rm -f "$records" # a sink appends to its file
	write_pipeline "$work/pipeline.yaml" "$capture" syn_flood "$records" "window: $2" \
		"min_syns: $4" "ratio: $5"
	run_ok "$work/stderr" -c "$work/syn.yaml" -p "$work/pipeline.yaml"
	python3 "$oracles" syn-oracle "$work/$name.fields" "$3" "$4" "$5" >"$work/syn.oracle"
	python3 "$oracles" syn-alerts "$records" >"$work/syn.rows"
	compare "$name, window $2, min_syns $4, ratio $5" "$work/syn.oracle" "$work/syn.rows"
}
flood="$traces/stopddos_pkt.TCP.synflood.spoofed.pcap"
syn_run "$flood" 1s 1000000000 100 3
first_line="$(head -1 "$work/syn.jsonl")"
syn_run "$flood" 100ms 100000000 10 1.5
# ndpi_sites: 3 SYNs against 12 answers in one window: 0.25 is above 0.2, not above 0.25
syn_run "$traces/ndpi_sites.pcapng" 10s 10000000000 2 0.2
syn_run "$traces/ndpi_sites.pcapng" 10s 10000000000 2 0.25
expected='{"type":"alert","kernel":"plugin","name":"syn_flood","dst":"10.10.10.10","proto":6,'
expected+='"value":22322,"previous":0,"start":1619605821.000000000,"end":1619605822.000000000}'
[ "$first_line" = "$expected" ] ||
	fail "the first syn_flood alert of $(basename "$flood") is
    $first_line
expected
    $expected"
echo "  first syn_flood alert line: exact"

[ "$mismatches" -eq 0 ] || fail "$mismatches runs differ from their oracle"

echo "checks: a misspelt key of a plugin kernel: --check exits 78 with its position and"
echo "        did you mean"
write_pipeline "$work/pipeline.yaml" "$tls" ttl_change "$work/unused.jsonl" "max_flow: 10"
status=0
"$jetstreamd" -c "$work/ttl.yaml" -p "$work/pipeline.yaml" --check >"$work/stdout" \
	2>"$work/stderr" || status=$?
expected="$work/pipeline.yaml:9:5: error: unknown key 'max_flow' for kernel type 'ttl_change'"
expected+=" (did you mean 'max_flows'?)"
[ "$status" -eq 78 ] || { sed 's/^/    /' "$work/stderr"; fail "exit $status, expected 78"; }
[ "$(head -1 "$work/stderr")" = "$expected" ] ||
	fail "first error line: $(head -1 "$work/stderr"), expected: $expected"
echo "  ok: $expected"

echo "checks: a plugin its group may write is refused: exit 78, the reason at the settings entry"
mkdir -m 0755 "$work/plugins"
cp "$examples/ttl_change.so" "$work/plugins/ttl_change.so"
chmod 0664 "$work/plugins/ttl_change.so"
write_settings "$work/writable.yaml" "$work/plugins/ttl_change.so"
write_pipeline "$work/pipeline.yaml" "$tls" ttl_change "$work/unused.jsonl"
for mode in --check start; do
	status=0
	options=()
	[ "$mode" = start ] || options=(--check)
	run_jetstreamd "$work/stderr" -c "$work/writable.yaml" -p "$work/pipeline.yaml" \
		"${options[@]}" || status=$?
	[ "$status" -eq 78 ] ||
		{ sed 's/^/    /' "$work/stderr"; fail "$mode: exit $status, expected 78"; }
	# the loader's reason (daemon/plugin.c), at the list entry: line 3, column 5
	grep -q "^$work/writable.yaml:3:5: error: .*writable by group or others (mode 0664)" \
		"$work/stderr" || { sed 's/^/    /' "$work/stderr"; fail "$mode: no refusal at 3:5"; }
	[ ! -e "$work/unused.jsonl" ] || fail "$mode: a refused plugin's pipeline wrote records"
	echo "  ok ($mode): $(grep -m1 'writable by group' "$work/stderr")"
done

echo "ok: the example plugins match their oracles; a bad key and a writable plugin are refused"
