#!/usr/bin/env bash
# `jetstreamd --check`: exit 0 on the example pipelines, exit 78 with exact
# `file:line:col: error: ...` lines on broken ones.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"

failures=0

# Paths in pipelines are taken as written: run from $work, where demo/demo.pcap is.
cd "$work"
mkdir demo
python3 "$repo_root/scripts/gen_trace.py" --packets 100 --output demo/demo.pcap

echo "checks: --check exits 0 on every pipelines/*.yaml (run from a directory holding demo/demo.pcap)"
for pipeline in "$repo_root"/pipelines/*.yaml; do
	status=0
	"$jetstreamd" --check -p "$pipeline" >"$work/stdout" 2>"$work/stderr" || status=$?
	if [ "$status" -eq 0 ] && [ ! -s "$work/stderr" ]; then
		echo "  ok: $(basename "$pipeline"): $(cat "$work/stdout")"
	else
		echo "  FAIL: $(basename "$pipeline"): exit $status, expected 0 and nothing on stderr:"
		sed 's/^/    /' "$work/stderr"
		failures=$((failures + 1))
	fi
done

# expect_invalid NAME EXPECTED_STDERR < PIPELINE: --check must exit 78 and print exactly EXPECTED_STDERR.
expect_invalid() {
	local name="$1" expected="$2" status=0
	cat >"$name.yaml"
	"$jetstreamd" --check -p "$name.yaml" >"$work/stdout" 2>"$work/stderr" || status=$?
	if [ "$status" -eq 78 ] && [ "$(cat "$work/stderr")" = "$expected" ] && [ ! -s "$work/stdout" ]; then
		echo "  ok: $name.yaml: exit 78, $(wc -l <"$work/stderr") exact lines, the last: ${expected##*$'\n'}"
	else
		echo "  FAIL: $name.yaml: exit $status (expected 78); stderr differs (diff expected actual):"
		diff <(echo "$expected") "$work/stderr" | sed 's/^/    /' || true
		[ ! -s "$work/stdout" ] || { echo "    and stdout is not empty:"; sed 's/^/    /' "$work/stdout"; }
		failures=$((failures + 1))
	fi
}

echo "checks: --check exits 78 with the exact file:line:col error lines on broken pipelines"

expect_invalid unknown_key "unknown_key.yaml:10:5: error: unknown key 'replica' for kernel type 'per_src_counter' (did you mean 'replicas'?)" <<'EOF'
version: 1
kernels:
  rx:
    type: source
    pcap: demo/demo.pcap
  count:
    type: per_src_counter
    input: rx
    window: 1s
    replica: 2
  out:
    type: sink
    input: count
    path: "-"
EOF

expect_invalid unknown_type "unknown_type.yaml:7:11: error: unknown kernel type 'per_source_counter' (did you mean 'per_src_counter'?)" <<'EOF'
version: 1
kernels:
  rx:
    type: source
    pcap: demo/demo.pcap
  count:
    type: per_source_counter
    input: rx
  out:
    type: sink
    input: count
    path: "-"
EOF

# No cycle can be typed right with today's kernels, so the type errors come with it.
expect_invalid cycle "cycle.yaml:11:12: error: input 'again' of 'alarm' gives alert records but threshold takes src_count
cycle.yaml:15:12: error: input 'alarm' of 'again' gives alert records but threshold takes src_count
cycle.yaml:15:12: error: cycle: alarm -> again -> alarm" <<'EOF'
version: 1
kernels:
  rx:
    type: source
    pcap: demo/demo.pcap
  count:
    type: per_src_counter
    input: rx
  alarm:
    type: threshold
    input: again
    above: 10
  again:
    type: threshold
    input: alarm
    above: 10
  out:
    type: sink
    input: count
    path: "-"
EOF

expect_invalid missing_pcap "missing_pcap.yaml:5:11: error: cannot read 'no-such.pcap': No such file or directory" <<'EOF'
version: 1
kernels:
  rx:
    type: source
    pcap: no-such.pcap
  count:
    type: per_src_counter
    input: rx
  out:
    type: sink
    input: count
    path: "-"
EOF

expect_invalid bad_values "bad_values.yaml:6:11: error: value 0 for 'loop' is below the minimum 1
bad_values.yaml:10:13: error: invalid value '1 sec' for 'window': expected a duration such as 250us, 100ms, 1s, 5m, 1h or 1d, or 'total'
bad_values.yaml:14:13: error: invalid value 'packets' for 'metric': expected one of pkts, bytes
bad_values.yaml:18:27: error: unknown input 'nothere'" <<'EOF'
version: 1
kernels:
  rx:
    type: source
    pcap: demo/demo.pcap
    loop: 0
  count:
    type: per_src_counter
    input: rx
    window: 1 sec
  alarm:
    type: threshold
    input: count
    metric: packets
    above: 10
  out:
    type: sink
    input: [count, alarm, nothere]
    path: "-"
EOF

expect_invalid missing_above "missing_above.yaml:9:3: error: give \`above:\` (one limit for every key) or \`groups:\` (limits per network)" <<'EOF'
version: 1
kernels:
  rx:
    type: source
    pcap: demo/demo.pcap
  count:
    type: per_src_counter
    input: rx
  alarm:
    type: threshold
    input: count
  out:
    type: sink
    input: alarm
    path: "-"
EOF

echo "checks: --check opens a pcap: input as the start will, and parses a port: device string as EAL will (exit 78 at the key, within 5 s)"

# source_input_pipeline LINE: a source with LINE (its pcap:/port: key) -> counter -> sink.
source_input_pipeline() {
	printf 'version: 1\nkernels:\n  rx:\n    type: source\n    %s\n  count:\n    type: per_src_counter\n    input: rx\n  out:\n    type: sink\n    input: count\n    path: "-"\n' "$1"
}

# expect_input_refused NAME SOURCE_LINE EXPECTED_FIRST_LINE: --check, under `timeout 5`, exits 78 with that first line.
expect_input_refused() {
	local name="$1" status=0
	source_input_pipeline "$2" >"$name.yaml"
	timeout 5 "$jetstreamd" --check -p "$name.yaml" >"$work/stdout" 2>"$work/stderr" || status=$?
	if [ "$status" -eq 78 ] && [ "$(head -n 1 "$work/stderr")" = "$3" ]; then
		echo "  ok: $name.yaml: exit 78: $3"
	else
		echo "  FAIL: $name.yaml: exit $status (expected 78; 124 = still running after 5 s); first line expected / actual:"
		echo "    $3"
		head -n 1 "$work/stderr" | sed 's/^/    /'
		failures=$((failures + 1))
	fi
}

mkdir captures.pcap
mkfifo live.pcap
echo "not a capture" >notes.pcap
: >empty.pcap
head -c 10 demo/demo.pcap >cut.pcap
expect_input_refused directory "pcap: captures.pcap" \
	"directory.yaml:5:11: error: 'captures.pcap' is a directory: \`pcap:\` takes a pcap or pcapng file"
expect_input_refused fifo "pcap: live.pcap" \
	"fifo.yaml:5:11: error: 'live.pcap' is a FIFO (reading one would block): \`pcap:\` takes a pcap or pcapng file"
expect_input_refused text "pcap: notes.pcap" \
	"text.yaml:5:11: error: 'notes.pcap' is not a pcap or pcapng file: unknown file format"
expect_input_refused empty "pcap: empty.pcap" \
	"empty.yaml:5:11: error: 'empty.pcap' is empty: \`pcap:\` takes a pcap or pcapng file"
expect_input_refused cut_header "pcap: cut.pcap" \
	"cut_header.yaml:5:11: error: 'cut.pcap' is not a pcap or pcapng file: truncated dump file; tried to read 24 file header bytes, only got 6"
expect_input_refused bad_device 'port: "net_nosuchdriver0,iface=eth1"' \
	"bad_device.yaml:5:11: error: DPDK cannot parse device 'net_nosuchdriver0,iface=eth1': write a PCI address (0000:3b:00.0) or a vdev string with a known driver (net_af_packet0,iface=eth1)"
expect_input_refused bad_pci_address 'port: "0000:zz:00.0"' \
	"bad_pci_address.yaml:5:11: error: DPDK cannot parse device '0000:zz:00.0': write a PCI address (0000:3b:00.0) or a vdev string with a known driver (net_af_packet0,iface=eth1)"
for device in "net_af_packet0,iface=eth1" "0000:3b:00.0" "net_pcap0,rx_pcap=demo/demo.pcap"; do
	status=0
	source_input_pipeline "port: \"$device\"" >device.yaml
	timeout 5 "$jetstreamd" --check -p device.yaml >"$work/stdout" 2>"$work/stderr" || status=$?
	if [ "$status" -eq 0 ] && [ ! -s "$work/stderr" ]; then
		echo "  ok: port: \"$device\" passes"
	else
		echo "  FAIL: port: \"$device\": exit $status, expected 0 and nothing on stderr:"
		sed 's/^/    /' "$work/stderr"
		failures=$((failures + 1))
	fi
done

[ "$failures" -eq 0 ] || fail "$failures --check cases gave an unexpected result"
echo "ok: --check accepts the example pipelines and words each error exactly"
