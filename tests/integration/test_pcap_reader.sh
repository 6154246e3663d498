#!/usr/bin/env bash
# The mapped pcap reader (`reader: auto`) gives exactly what libpcap gives
# (`reader: libpcap`): the same records of per_src_counter (window: 100ms),
# flow_tracker and proto_stats, the same source statistics, the same error
# lines and exit code, on generated files and their variants (other byte
# order, nanoseconds, a small snap length, cut in a record header and in a
# record's data, loop: 3, rate_pps) and on every shared capture. And `pcap:`
# lists and globs: a list reads as the `mergecap -a` concatenation of its
# files, a file listed twice is read twice, pcap and pcapng mix; a glob that
# matches nothing and a missing listed file are positioned --check errors.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"

cd "$work"
variants="$repo_root/tests/integration/pcap_variants.py"

# write_comparison_pipeline FILE SOURCE_KEYS RECORDS
write_comparison_pipeline() {
	local file="$1" source_keys="$2" records="$3"
	{
		echo "version: 1"
		echo "kernels:"
		echo "  rx:"
		echo "    type: source"
		echo "    ${source_keys//$'\n'/$'\n'    }"
		pipeline_counter count rx 100ms
		echo "  flows:"
		echo "    type: flow_tracker"
		echo "    input: rx"
		echo "  stats:"
		echo "    type: proto_stats"
		echo "    input: rx"
		echo "    window: 100ms"
		echo "  out:"
		echo "    type: sink"
		echo "    input: [count, flows, stats]"
		echo "    format: jsonl"
		echo "    path: \"$records\""
	} >"$file"
}

# run_reader NAME READER SOURCE_KEYS: writes NAME.READER.{status,records,errors,source}
run_reader() {
	local name="$1" reader="$2" keys="$3" status=0
	write_comparison_pipeline "$name.$reader.yaml" "$keys"$'\nreader: '"$reader" \
		"$work/$name.$reader.jsonl"
	run_jetstreamd "$name.$reader.stderr" -p "$name.$reader.yaml" || status=$?
	echo "$status" >"$name.$reader.status"
	sort "$name.$reader.jsonl" >"$name.$reader.records" 2>/dev/null || : >"$name.$reader.records"
	grep "error:" "$name.$reader.stderr" >"$name.$reader.errors" || true
	# the source's counts, without mempool_waits (a matter of timing) and mapped_files
	grep -E '^  rx +source' "$name.$reader.stderr" | grep -oE '(packets|bytes|non_ip_packets|malformed_packets|passes)=[0-9]+' \
		>"$name.$reader.source" || true
}

# compare NAME SOURCE_KEYS EXPECTED_STATUS EXPECTED_MAPPED: both readers, then diff everything.
compare() {
	local name="$1" keys="$2" expected_status="$3" expected_mapped="$4" part mapped
	run_reader "$name" auto "$keys"
	run_reader "$name" libpcap "$keys"
	for part in status records errors source; do
		diff -u "$name.libpcap.$part" "$name.auto.$part" >"$name.$part.diff" ||
			{ head -n 20 "$name.$part.diff"; fail "$name: the readers differ in $part"; }
	done
	[ "$(cat "$name.auto.status")" = "$expected_status" ] ||
		{ cat "$name.auto.stderr"; fail "$name: exit $(cat "$name.auto.status"), expected $expected_status"; }
	[ -s "$name.auto.records" ] || [ "$expected_status" != 0 ] || fail "$name: no records"
	mapped="$(grep -E '^  rx +source' "$name.auto.stderr" | grep -oE 'mapped_files=[0-9]+' || true)"
	[ "$mapped" = "mapped_files=$expected_mapped" ] ||
		fail "$name: reader auto shows '$mapped', expected mapped_files=$expected_mapped"
	grep -qE '^  rx +source.* mapped_files=0' "$name.libpcap.stderr" ||
		fail "$name: reader libpcap mapped a file"
	printf '  ok: %-48s exit %s, %s records, %s\n' "$name" "$expected_status" \
		"$(wc -l <"$name.auto.records")" "$(tr '\n' ' ' <"$name.auto.source")"
}

echo "checks: reader auto (mapped) equals reader libpcap: records, source counts, error lines, exit code"
python3 "$repo_root/scripts/gen_trace.py" --packets 3000 --duration 2 --output generated.pcap
python3 "$variants" swapped generated.pcap swapped.pcap
python3 "$variants" nanoseconds generated.pcap nanoseconds.pcap
python3 "$variants" snaplen 80 generated.pcap snaplen80.pcap
python3 "$variants" cut_header generated.pcap cut_header.pcap
python3 "$variants" cut_data generated.pcap cut_data.pcap
compare generated "pcap: generated.pcap" 0 1
compare swapped "pcap: swapped.pcap" 0 1
compare nanoseconds "pcap: nanoseconds.pcap" 0 1
compare snaplen80 "pcap: snaplen80.pcap" 0 1
compare cut_header "pcap: cut_header.pcap" 1 1
compare cut_data "pcap: cut_data.pcap" 1 1
compare cut_data_loop3 $'pcap: cut_data.pcap\nloop: 3' 1 1
compare loop3 $'pcap: generated.pcap\nloop: 3' 0 1
compare rate_pps $'pcap: generated.pcap\nrate_pps: 200000' 0 1
grep -q "read error: truncated dump file; tried to read 16 header bytes, only got 7" cut_header.auto.errors ||
	{ cat cut_header.auto.errors; fail "cut_header: not libpcap's message"; }
grep -q "read error: truncated dump file; tried to read [0-9]* captured bytes, only got" cut_data.auto.errors ||
	{ cat cut_data.auto.errors; fail "cut_data: not libpcap's message"; }
[ "$(grep -o 'packets=[0-9]*' cut_data.auto.source | head -1)" = "packets=2999" ] ||
	fail "cut_data: expected the 2999 whole records, got $(cat cut_data.auto.source)"

echo "checks: pcap: lists and globs are one stream: the concatenation (mergecap -a) of their files"
python3 "$repo_root/scripts/gen_trace.py" --packets 2000 --duration 1 --start 1700000002 \
	--seed 2 --output generated2.pcap
mkdir -p rotated
cp generated.pcap rotated/eth1-0001.pcap
cp generated2.pcap rotated/eth1-0002.pcap
mergecap -a -F pcap -w merged.pcap generated.pcap generated2.pcap
mergecap -a -F pcap -w twice.pcap generated.pcap generated.pcap
compare merged "pcap: merged.pcap" 0 1
compare list "pcap: [generated.pcap, generated2.pcap]" 0 2
compare glob "pcap: rotated/eth1-*.pcap" 0 2
compare list_twice "pcap: [generated.pcap, rotated/eth1-0001.pcap]" 0 2
compare twice "pcap: twice.pcap" 0 1
compare list_loop2 $'pcap: [generated.pcap, generated2.pcap]\nloop: 2' 0 4
for pair in "list merged" "glob merged" "list_twice twice"; do
	set -- $pair
	diff -u "$2.auto.records" "$1.auto.records" >"$1.concat.diff" ||
		{ head -n 20 "$1.concat.diff"; fail "$1: records differ from those of $2.pcap"; }
	diff -u <(grep -v passes "$2.auto.source") <(grep -v passes "$1.auto.source") >/dev/null ||
		fail "$1: source counts differ from those of $2.pcap"
done
echo "  ok: a list and a glob equal merged.pcap, a file listed twice equals twice.pcap"

echo "checks: reloads of a mapped list: rate_pps changed (the position is kept), then the list changed (replaced)"
# 10,000 packets at 8,000 pps: the first reload lands in the first pass, the second in the second
reload_pipeline() {
	write_counter_pipeline reload.yaml $'pcap: [generated.pcap, generated2.pcap]\nloop: 2\nrate_pps: '"$1" \
		"window: total" "$work/reload.jsonl"
}
reload_pipeline 8000
start_notify_listener
"$jetstreamd" -p reload.yaml 2>reload.stderr &
running_pid=$!
wait_notify READY=1 1 20
sleep 0.3
reload_pipeline 9000
kill -HUP "$running_pid"
wait_notify READY=1 2 20
wait_exit 30
[ "$exit_status" -eq 0 ] || { cat reload.stderr; fail "reload: exit $exit_status"; }
grep -q "reload: generation 2 running: kept count, out; changed rx$" reload.stderr ||
	{ cat reload.stderr; fail "reload: rx was not changed in place (take_state)"; }
pkts=$(records_tool totals reload.jsonl | awk -F'\t' '{ p += $2 } END { print p + 0 }')
expected=$(records_tool totals merged.auto.jsonl count | awk -F'\t' '{ p += $2 } END { print p + 0 }')
[ "$pkts" -eq $((2 * expected)) ] ||
	fail "reload: the counter saw $pkts keyed packets, expected $((2 * expected)) (two passes, position kept)"
write_counter_pipeline reload.yaml $'pcap: [generated.pcap, generated2.pcap]\nrate_pps: 8000' \
	"window: total" "$work/replace.jsonl"
: >"$work/notify.log"
: >"$work/notify.messages"
"$jetstreamd" -p reload.yaml 2>replace.stderr &
running_pid=$!
wait_notify READY=1 1 20
sleep 0.3
write_counter_pipeline reload.yaml $'pcap: [generated2.pcap]\nrate_pps: 8000' \
	"window: total" "$work/replace.jsonl"
kill -HUP "$running_pid"
wait_notify READY=1 2 20
wait_exit 30
[ "$exit_status" -eq 0 ] || { cat replace.stderr; fail "replace: exit $exit_status"; }
grep -q "reload: generation 2 running: kept count, out; replaced rx$" replace.stderr ||
	{ cat replace.stderr; fail "replace: rx was not replaced"; }
echo "  ok: $pkts keyed packets through a take_state reload (2 x $expected); a changed list replaced the source"

echo "checks: a glob matching nothing and a missing listed file: --check exit 78 at the value"
write_counter_pipeline nomatch.yaml "pcap: \"$work/none/eth1-*.pcap\"" "window: total" out.jsonl
status=0
"$jetstreamd" --check -p nomatch.yaml >nomatch.out 2>&1 || status=$?
[ "$status" -eq 78 ] || { cat nomatch.out; fail "nomatch: exit $status, expected 78"; }
grep -qx "nomatch.yaml:5:11: error: '$work/none/eth1-\*.pcap' matches no file" nomatch.out ||
	{ cat nomatch.out; fail "nomatch: not the positioned error"; }
write_counter_pipeline missing.yaml "pcap: [generated.pcap, missing.pcap]" "window: total" out.jsonl
status=0
"$jetstreamd" --check -p missing.yaml >missing.out 2>&1 || status=$?
[ "$status" -eq 78 ] || { cat missing.out; fail "missing: exit $status, expected 78"; }
grep -qx "missing.yaml:5:11: error: cannot read 'missing.pcap': No such file or directory" missing.out ||
	{ cat missing.out; fail "missing: not the positioned error"; }
echo "  ok: exit 78 with '$(cat nomatch.out)' and '$(cat missing.out)'"

if [ ! -d "$traces" ]; then
	echo "skip: the shared captures: $traces not found (not part of a fresh clone)"
	echo "ok: the readers agree on generated files; lists and globs read as one stream"
	exit 0
fi
echo "checks: the same on every shared capture in $traces, its cut variants, a classic copy of the pcapng"
for capture in "$traces"/*.pcap "$traces"/*.pcapng; do
	[ -f "$capture" ] || continue
	name="$(basename "$capture")"
	case "$name" in *.pcapng) expected_mapped=0 ;; *) expected_mapped=1 ;; esac
	compare "$name" "pcap: \"$capture\"" 0 "$expected_mapped"
done
python3 "$variants" cut_data "$traces/pcapplusplus_tls2.pcap" tls2_cut_data.pcap
python3 "$variants" cut_header "$traces/snabb_sanitized4k_truncated128.pcap" snabb_cut_header.pcap
compare tls2_cut_data "pcap: tls2_cut_data.pcap" 1 1
compare snabb_cut_header "pcap: snabb_cut_header.pcap" 1 1
# frames up to 4434 bytes, over the 2048-byte mbuf data room: one mbuf each when mapped
editcap -F pcap "$traces/ndpi_sites.pcapng" ndpi_sites.pcap
compare ndpi_sites_classic "pcap: ndpi_sites.pcap" 0 1
compare mixed "pcap: [\"$traces/libtrace_vlan.pcap\", \"$traces/ndpi_sites.pcapng\", \"$traces/zeek_q-in-q.pcap\"]" 0 2
# classic with nanoseconds (ndpi_sites.pcapng has them): libpcap refuses the pcapng mergecap
# writes here (its interfaces differ in snap length)
mergecap -a -F nsecpcap -w mixed_merged.pcap "$traces/libtrace_vlan.pcap" "$traces/ndpi_sites.pcapng" \
	"$traces/zeek_q-in-q.pcap"
compare mixed_merged "pcap: mixed_merged.pcap" 0 1
diff -u <(grep -v passes mixed_merged.auto.source) <(grep -v passes mixed.auto.source) >/dev/null ||
	fail "mixed: source counts differ from those of mergecap -a"
diff -u mixed_merged.auto.records mixed.auto.records >mixed.concat.diff || { head -n 40 mixed.concat.diff; fail "mixed: records differ from mergecap -a"; }
echo "ok: the readers agree on every capture and variant; lists and globs read as one stream"
