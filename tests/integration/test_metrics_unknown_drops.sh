#!/usr/bin/env bash
# The accounting rule in the metrics: a port whose driver cannot report a drop
# (net_ring: no imissed) has no jetstream_dropped_packets_total sample for it,
# never a 0, and jetstream_dropped_packets_known says 0; the drops it does
# report (nic_rx_nombuf) are counts, known 1; a place it does not have
# (socket_drops) is in neither family. Needs no root: an in-memory vdev.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"

command -v curl >/dev/null || skip "curl is not installed"
cd "$work"
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
write_counter_pipeline ring.yaml 'port: "net_ring0"' "window: total" "$work/ring.jsonl"
cat >settings.yaml <<YAML
metrics: 127.0.0.1:$port
control_socket: off
pipelines: [ring.yaml]
YAML
start_notify_listener
"$jetstreamd" -c settings.yaml 2>stderr.txt &
running_pid=$!
wait_ready 20

echo "checks: nic_imissed unknown, nic_rx_nombuf known, socket_drops absent"
curl -sS --max-time 5 -o scrape.txt "http://127.0.0.1:$port/metrics"
labels='kernel="rx",type="source"'
expect_line() {
	grep -qxF "$1" scrape.txt || { grep '^jetstream_dropped' scrape.txt; fail "no line: $1"; }
}
expect_line "jetstream_dropped_packets_known{$labels,reason=\"nic_imissed\"} 0"
expect_line "jetstream_dropped_packets_known{$labels,reason=\"nic_rx_nombuf\"} 1"
expect_line "jetstream_dropped_packets_total{$labels,reason=\"nic_rx_nombuf\"} 0"
expect_line "jetstream_dropped_packets_total{$labels,reason=\"ring_overflow\"} 0"
! grep -q "^jetstream_dropped_packets_total{$labels,reason=\"nic_imissed\"}" scrape.txt ||
	fail "an unknown drop is shown as a count"
! grep -q 'reason="socket_drops"' scrape.txt || fail "net_ring has no socket, yet socket_drops is shown"
! grep -q '^jetstream_kernel_nic_imissed' scrape.txt || fail "a drop mark became a statistic"
expect_line "jetstream_kernel_nic_ierrors_total{$labels,replica=\"0\"} 0"
! command -v promtool >/dev/null || promtool_clean scrape.txt
kill -TERM "$running_pid"
wait_exit 10
[ "$exit_status" -eq 0 ] || { cat stderr.txt; fail "exit status $exit_status"; }
[ "$(records_tool summary stderr.txt rx.nic_imissed)" = unknown ] || fail "the summary does not say unknown"
echo "  ok: unknown is never 0: in the metrics as in the exit summary"
