#!/usr/bin/env bash
# The drops `jetstreamctl status` shows come from the daemon's accounting, never
# guessed from statistic names: a port whose driver cannot count a drop
# (net_ring: no imissed) has it null in `status --json` and `?` in the DROPS
# column, never 0; the drops it counts (nic_rx_nombuf) and ring_overflow are
# numbers; a place it does not have (socket_drops) is absent. A file source
# has no NIC: only ring_overflow. Needs no root: an in-memory vdev.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"

require_jetstreamctl
cd "$work"
socket="$work/control.sock"
python3 "$repo_root/scripts/gen_trace.py" --packets 1000 --sources 20 --seed 3 --output trace.pcap
cat >pipeline.yaml <<EOF
version: 1
kernels:
  rx:
    type: source
    port: "net_ring0"
$(pipeline_counter count rx total)
  out:
    type: sink
    input: count
    path: "$work/ring.jsonl"
  file_rx:
    type: source
    pcap: "$work/trace.pcap"
    loop: forever
    rate_pps: 1000
$(pipeline_counter file_count file_rx total)
  file_out:
    type: sink
    input: file_count
    path: "$work/file.jsonl"
EOF
cat >settings.yaml <<EOF
metrics: "off"
control_socket: $socket
pipelines: [pipeline.yaml]
EOF
start_notify_listener
"$jetstreamd" -c settings.yaml 2>stderr.txt &
running_pid=$!
wait_ready 20

echo "checks: status --json drops"
ctl status --json >status.json || fail "status --json exited $?"
python3 - <<'PY' || fail "status --json: drops"
import json
status = json.load(open("status.json"))
drops = {i["kernel"]: i["drops"] for i in status["instances"]}
expected = {
    "rx": {"nic_imissed": None, "nic_rx_nombuf": 0, "ring_overflow": 0},
    "file_rx": {"ring_overflow": 0},
    "count": {"ring_overflow": 0},
}
for kernel, want in expected.items():
    if drops.get(kernel) != want:
        raise SystemExit(f"FAIL: {kernel}: drops {drops.get(kernel)!r}, expected {want!r}")
print("  ok: rx " + json.dumps(drops["rx"]) + "; file_rx " + json.dumps(drops["file_rx"]))
PY

echo "checks: the DROPS column"
ctl status >status.txt || fail "status exited $?"
drops_column() { awk -v kernel="$1" '$1 == kernel { print $NF; exit }' status.txt; }
[ "$(drops_column rx)" = "?" ] || { cat status.txt; fail "rx: DROPS '$(drops_column rx)', expected ?"; }
[ "$(drops_column file_rx)" = "0" ] || { cat status.txt; fail "file_rx: DROPS '$(drops_column file_rx)', expected 0"; }
grep -qx "    nic_imissed: unknown" status.txt || { cat status.txt; fail "no 'nic_imissed: unknown' detail line"; }
echo "  ok: rx DROPS ?, nic_imissed: unknown under it; file_rx DROPS 0"

kill -TERM "$running_pid"
wait_exit 20
[ "$exit_status" -eq 0 ] || { cat stderr.txt; fail "exit status $exit_status"; }
