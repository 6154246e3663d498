#!/usr/bin/env bash
# Records never wait on the control thread. The control thread alone (not the
# process) is stopped for 3 s with ptrace, as a long reload parse or a slow
# client would hold it; a live source keeps counting into 100 ms windows, and
# the records must keep reaching the file meanwhile (the sinks have a thread
# of their own). Then the daemon stops with every packet in the records.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"

[ "$(id -u)" -eq 0 ] || skip "stopping one thread of another process with ptrace needs root"
cd "$work"
write_counter_pipeline stall.yaml "synthetic: {sources: 50, rate_pps: 20000}" "window: 100ms" \
	"$work/stall.jsonl"
start_notify_listener
"$jetstreamd" -p stall.yaml 2>stall.stderr &
running_pid=$!
wait_ready 20
sleep 1.5

echo "checks: the control thread stopped for 3 s, records still reach the file"
python3 - "$running_pid" "$work/stall.jsonl" >stall.python <<'PY'
import ctypes, os, sys, time
PTRACE_SEIZE, PTRACE_INTERRUPT, PTRACE_DETACH = 0x4206, 0x4207, 17
libc = ctypes.CDLL(None, use_errno=True)
libc.ptrace.argtypes = [ctypes.c_long, ctypes.c_long, ctypes.c_void_p, ctypes.c_void_p]
control_thread, records = int(sys.argv[1]), sys.argv[2]  # the main thread's id is the pid
def lines():
    with open(records) as f:
        return sum(1 for _ in f)
if libc.ptrace(PTRACE_SEIZE, control_thread, None, None) != 0 or \
   libc.ptrace(PTRACE_INTERRUPT, control_thread, None, None) != 0:
    sys.exit("ptrace: " + os.strerror(ctypes.get_errno()))
os.waitpid(control_thread, 0x40000000)  # __WALL: the thread has stopped
with open(f"/proc/{control_thread}/task/{control_thread}/stat") as f:
    state = f.read().rsplit(")", 1)[1].split()[0]
time.sleep(0.5)
before = lines()
time.sleep(2.5)
after = lines()
libc.ptrace(PTRACE_DETACH, control_thread, None, None)
print(state, before, after)
PY
read -r state before after <stall.python
[ "$state" = t ] || fail "the control thread was not stopped (state $state)"
[ "$after" -gt $((before + 10)) ] ||
	fail "with the control thread stopped, the record file went from $before to $after lines"
echo "  ok: control thread in state '$state'; the file went from $before to $after lines meanwhile"

echo "checks: then SIGTERM: every generated packet is in the records"
kill -TERM "$running_pid"
wait_exit 20
[ "$exit_status" -eq 0 ] || { cat stall.stderr; fail "exit status $exit_status after SIGTERM"; }
generated="$(records_tool summary stall.stderr rx.packets)"
counted=$(records_tool totals stall.jsonl | awk -F'\t' '{ p += $2 } END { print p + 0 }')
[ "$counted" -eq "$generated" ] || fail "$generated packets generated, $counted in records"
echo "  ok: $generated packets, all in the records"
