#!/usr/bin/env bash
# systemd's notifications under the unit's watchdog: a listener on NOTIFY_SOCKET
# stands in for systemd, and WATCHDOG_USEC is set as systemd sets it (WATCHDOG_PID
# left unset, which sd_watchdog_enabled() accepts). The daemon must send READY=1,
# then every second a STATUS= line whose packet count grows, with WATCHDOG=1 beside
# it. One worker thread alone is then stopped with ptrace for 4 s: the STATUS= lines
# go on (the control thread runs) but the pings stop, and they come back when it is
# released. A refused reload is named in each STATUS= until a reload succeeds. Then
# SIGTERM, exit 0, every generated packet counted; a run without WATCHDOG_USEC pings
# never.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"

[ "$(id -u)" -eq 0 ] || skip "stopping one thread of another process with ptrace needs root"
cd "$work"
write_counter_pipeline watchdog.yaml "synthetic: {sources: 50, rate_pps: 20000}" "window: 1s" \
	"$work/watchdog.jsonl"
start_notify_listener
WATCHDOG_USEC=10000000 "$jetstreamd" -p watchdog.yaml 2>watchdog.stderr &
running_pid=$!
wait_ready 20

echo "checks: STATUS= each second with a growing packet count, WATCHDOG=1 with it"
wait_notify WATCHDOG=1 3 10
statuses="$(grep -o '^STATUS=generation 1: [0-9]* pps, [0-9]* packets, [0-9]* dropped$' notify.log)" ||
	{ cat notify.log; fail "no STATUS= line of the form 'generation 1: X pps, Y packets, Z dropped'"; }
first="$(echo "$statuses" | head -n 1 | awk '{ print $5 }')"
last="$(echo "$statuses" | tail -n 1 | awk '{ print $5 }')"
[ "$last" -gt "$first" ] || fail "the STATUS= packet count did not grow ($first, then $last)"
[ "$(echo "$statuses" | awk '{ print $7 }' | sort -u)" = 0 ] || fail "STATUS= counts drops: $statuses"
echo "  ok: $(echo "$statuses" | wc -l) STATUS= lines, packets $first -> $last, 0 dropped;" \
	"$(notify_count WATCHDOG=1) WATCHDOG=1"

worker=""
for task in /proc/"$running_pid"/task/*; do
	[ "$(cat "$task/comm")" = rte-worker-1 ] && worker="$(basename "$task")"
done
[ -n "$worker" ] || fail "no thread named rte-worker-1 in the daemon"

echo "checks: worker thread $worker stopped for 4 s: STATUS= goes on, WATCHDOG=1 stops; then resumes"
python3 - "$worker" "$work/notify.messages" >stall.python <<'PY'
import ctypes, os, sys, time
PTRACE_SEIZE, PTRACE_INTERRUPT, PTRACE_DETACH = 0x4206, 0x4207, 17
libc = ctypes.CDLL(None, use_errno=True)
libc.ptrace.argtypes = [ctypes.c_long, ctypes.c_long, ctypes.c_void_p, ctypes.c_void_p]
worker, messages = int(sys.argv[1]), sys.argv[2]
def count(field):
    with open(messages) as f:
        return sum(1 for line in f if field in line.rstrip("\n").split("\t")[1:])
def statuses():
    with open(messages) as f:
        return sum(1 for line in f if any(x.startswith("STATUS=generation") for x in line.split("\t")))
if libc.ptrace(PTRACE_SEIZE, worker, None, None) != 0 or \
   libc.ptrace(PTRACE_INTERRUPT, worker, None, None) != 0:
    sys.exit("ptrace: " + os.strerror(ctypes.get_errno()))
os.waitpid(worker, 0x40000000)  # __WALL: the thread has stopped
# the tick that was under way may still have seen the last rounds: let it pass
time.sleep(1.5)
pings, status_lines = count("WATCHDOG=1"), statuses()
time.sleep(2.5)
pings_stopped, status_stopped = count("WATCHDOG=1") - pings, statuses() - status_lines
libc.ptrace(PTRACE_DETACH, worker, None, None)
time.sleep(2.5)
print(pings_stopped, status_stopped, count("WATCHDOG=1") - pings - pings_stopped)
PY
read -r pings_stopped status_stopped pings_after <stall.python
[ "$status_stopped" -ge 2 ] || fail "with a worker stopped, only $status_stopped STATUS= lines in 2.5 s"
[ "$pings_stopped" -eq 0 ] || fail "with a worker stopped, $pings_stopped WATCHDOG=1 pings in 2.5 s"
[ "$pings_after" -ge 1 ] || fail "no WATCHDOG=1 in the 2.5 s after the worker was released"
echo "  ok: stopped: $status_stopped STATUS= lines and 0 pings in 2.5 s; released: $pings_after pings"

echo "checks: a refused reload stays in STATUS= until a reload succeeds"
cp watchdog.yaml good.yaml
sed 's/type: source$/type: sourc/' good.yaml | replace_file watchdog.yaml
kill -HUP "$running_pid"
wait_notify READY=1 2 10
sleep 2.2
last="$(grep '^STATUS=generation' notify.log | tail -n 1)"
case "$last" in
"STATUS=generation 1: "*"; reload failed: watchdog.yaml:"*"unknown kernel type 'sourc' (did you mean 'source'?)") ;;
*) fail "after a refused reload, the last STATUS= is: $last" ;;
esac
echo "  ok: ${last#STATUS=}"
replace_file watchdog.yaml <good.yaml
kill -HUP "$running_pid"
wait_notify READY=1 3 10
sleep 1.2
last="$(grep '^STATUS=generation' notify.log | tail -n 1)"
case "$last" in
"STATUS=generation 2: "*" dropped") ;;
*) fail "after a good reload, the last STATUS= is: $last" ;;
esac
echo "  ok: ${last#STATUS=}"

echo "checks: SIGTERM: exit 0, every generated packet in the records"
kill -TERM "$running_pid"
wait_exit 20
[ "$exit_status" -eq 0 ] || { cat watchdog.stderr; fail "exit status $exit_status after SIGTERM"; }
generated="$(records_tool summary watchdog.stderr rx.packets)"
counted=$(records_tool totals watchdog.jsonl | awk -F'\t' '{ p += $2 } END { print p + 0 }')
[ "$counted" -eq "$generated" ] || fail "$generated packets generated, $counted in records"
echo "  ok: $generated packets, all in the records"

echo "checks: without WATCHDOG_USEC no ping is sent, STATUS= is (a second run, 3 s)"
: >notify.log
: >notify.messages
"$jetstreamd" -p watchdog.yaml 2>watchdog2.stderr &
running_pid=$!
wait_ready 20
sleep 3
[ "$(notify_count WATCHDOG=1)" -eq 0 ] || fail "WATCHDOG=1 sent without WATCHDOG_USEC"
[ "$(grep -c '^STATUS=generation' notify.log)" -ge 2 ] || fail "no STATUS= lines in 3 s"
kill -TERM "$running_pid"
wait_exit 20
[ "$exit_status" -eq 0 ] || { cat watchdog2.stderr; fail "exit status $exit_status after SIGTERM"; }
echo "  ok: no WATCHDOG=1, $(grep -c '^STATUS=generation' notify.log) STATUS= lines"
