#!/usr/bin/env bash
# Start-up does not wait on DPDK's telemetry socket. DPDK's telemetry start-up
# probes the socket of its runtime directory with a blocking connect(); when
# another DPDK process holds that socket without answering (it was seen beside
# a process under valgrind), the daemon hung there for 10-35 s. The daemon now
# starts EAL with --no-telemetry. This test holds the socket with a listener
# whose backlog is full and checks that a run still ends within 10 s.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"

[ "$(id -u)" -eq 0 ] || skip "needs root (the socket lives in /var/run/dpdk/rte)"
socket=/var/run/dpdk/rte/dpdk_telemetry.v2
# A socket file nobody listens on is what a killed DPDK process leaves; DPDK removes it too.
if [ -e "$socket" ]; then
	python3 -c '
import socket, sys
probe = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
probe.setblocking(False)
try:
    probe.connect(sys.argv[1])
except ConnectionRefusedError:
    sys.exit(0)
except OSError:
    pass
sys.exit(1)
' "$socket" || skip "$socket is in use: another DPDK process is running"
	rm -f "$socket"
fi
mkdir -p "$(dirname "$socket")"

cd "$work"
python3 "$repo_root/scripts/gen_trace.py" --packets 1000 --output trace.pcap --oracle
write_counter_pipeline pipeline.yaml "pcap: trace.pcap" "window: total" "$work/records.jsonl"

# A listener that never accepts, its backlog filled by connections nobody takes.
python3 -c '
import socket, sys, time
listener = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
listener.bind(sys.argv[1])
listener.listen(0)
held = []
for _ in range(4):
    client = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    client.setblocking(False)
    try:
        client.connect(sys.argv[1])
    except BlockingIOError:
        pass
    held.append(client)
open(sys.argv[2], "w").close()
time.sleep(120)
' "$socket" "$work/listening" &
listener_pid=$!
at_exit "kill $listener_pid 2>/dev/null; rm -f '$socket'"
for _ in $(seq 100); do [ -e "$work/listening" ] && break; sleep 0.05; done
[ -e "$work/listening" ] || fail "the socket listener did not start"

echo "checks: a run ends within 10 s while the telemetry socket does not answer"
status=0
timeout -k 2 10 "$jetstreamd" -p pipeline.yaml >/dev/null 2>stderr.txt || status=$?
[ "$status" -ne 124 ] && [ "$status" -ne 137 ] || fail "jetstreamd still ran after 10 s (waiting on $socket)"
[ "$status" -eq 0 ] || { cat stderr.txt; fail "exit status $status"; }
check_accounting stderr.txt
records_tool totals records.jsonl >counted.tsv
diff -q trace.pcap.src.tsv counted.tsv >/dev/null || fail "per-source totals differ from the oracle"
echo "  ok: exit 0, totals = oracle"
