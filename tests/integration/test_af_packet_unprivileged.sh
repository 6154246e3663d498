#!/usr/bin/env bash
# The af_packet capture as the unit runs it: an unprivileged user (nobody) with only
# CAP_NET_RAW, CAP_NET_ADMIN and CAP_IPC_LOCK (ambient, and the bounding set cut to
# them), no_new_privs, and the parts of the unit's sandbox that could break DPDK,
# rebuilt by hand since no systemd runs here: a private mount namespace where / is
# read-only but for the state directory (ProtectSystem=strict, StateDirectory=),
# /proc holds only processes, and of them only its own (ProcSubset=pid,
# ProtectProc=invisible), and no memory may become writable and executable
# (MemoryDenyWriteExecute=: the same kernel check, through prctl(PR_SET_MDWE)). A
# trace replayed into a veth must be counted exactly, into a relative path (the unit's
# working directory). Without the capabilities it must fail with the port's error;
# without any one of them it must fail too (they are the minimum). Needs root,
# setpriv, unshare, ip netns and tcpreplay.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"

command -v setpriv >/dev/null || skip "setpriv (util-linux) is not installed"
command -v unshare >/dev/null || skip "unshare (util-linux) is not installed"
setup_veth_namespaces
make_live_trace 2000 40 5

# nobody must reach the pipeline, the state directory and the notify socket
user=65534
chmod 0711 "$work"
state="$work/state"
install -d -m 0750 -o "$user" -g "$user" "$state"
{
	echo "version: 1"
	echo "kernels:"
	echo "  rx:"
	echo "    type: source"
	echo "    port: \"net_af_packet0,iface=$capture_interface\""
	pipeline_counter total rx total
	echo "  out:"
	echo "    type: sink"
	echo "    input: total"
	echo "    format: jsonl"
	echo "    path: records.jsonl"
} >"$work/live.yaml"
chmod 0644 "$work/live.yaml"

# What runs inside the private mount namespace: the sandbox, then COMMAND as nobody.
# The remounts are bind remounts: they change this namespace's mounts, never a file
# system's own flags.
# shellcheck disable=SC2016 # expanded by the shell in the namespace
sandbox_script='
set -e
state="$1" user="$2" capabilities="$3"
shift 3
mount -o remount,bind,ro /
mount --bind "$state" "$state"
mount -o remount,bind,rw "$state"
mount -t proc -o subset=pid,hidepid=invisible proc /proc
cd "$state"
exec python3 -c "
import ctypes, os, sys
PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN = 65, 1
if ctypes.CDLL(None, use_errno=True).prctl(PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN, 0, 0, 0) != 0:
    sys.exit(\"prctl(PR_SET_MDWE): \" + os.strerror(ctypes.get_errno()))
os.execvp(sys.argv[1], sys.argv[1:])
" setpriv --reuid="$user" --regid="$user" --clear-groups --no-new-privs \
	--inh-caps=-all"$capabilities" --ambient-caps=-all"$capabilities" \
	--bounding-set=-all"$capabilities" -- "$@"
'

# sandboxed CAPABILITIES COMMAND...: run COMMAND in the capture namespace as nobody with
# CAPABILITIES (",+net_raw,..." or ""), in the sandbox described above, from $state.
# Every step execs the next (ip netns exec, unshare without --fork, the script's
# exec), so the process started is COMMAND's in the end.
sandboxed() {
	local capabilities="$1"
	shift
	exec ip netns exec "$capture_namespace" unshare --mount --propagation private -- \
		bash -c "$sandbox_script" sandbox "$state" "$user" "$capabilities" "$@"
}

all=",+net_raw,+net_admin,+ipc_lock"
echo "checks: the sandbox holds: / read-only, /proc without cpuinfo or pid 1, only the three capabilities"
# shellcheck disable=SC2016 # expanded by the sandboxed shell
probe="$( (sandboxed "$all" bash -c '
	if touch /var/tmp/jetstream-probe 2>/dev/null; then echo "/ writable"; else echo "/ read-only"; fi
	if [ -e /proc/cpuinfo ]; then echo "cpuinfo"; else echo "no cpuinfo"; fi
	if [ -e /proc/1 ]; then echo "pid 1 visible"; else echo "pid 1 hidden"; fi
	touch state-probe && rm state-probe && echo "state writable"
	grep ^CapEff: /proc/self/status
	grep ^NoNewPrivs: /proc/self/status'))"
expected="/ read-only
no cpuinfo
pid 1 hidden
state writable
CapEff:	0000000000007000
NoNewPrivs:	1"
[ "$probe" = "$expected" ] || fail "the sandbox is not as meant; got: $probe"
echo "  ok: $(echo "$probe" | tr '\n\t' '; ' | sed 's/;$//')"

echo "checks: as nobody with the three capabilities: tcpreplay into the veth, SIGTERM, exact counts"
start_notify_listener
chmod 0666 "$NOTIFY_SOCKET"
# a subshell that execs: $! is the daemon's pid, for SIGTERM and wait_exit
(sandboxed "$all" "$jetstreamd" -p "$work/live.yaml") 2>"$work/stderr" &
running_pid=$!
wait_ready 20
ip netns exec "$replay_namespace" tcpreplay --intf1="$replay_interface" --pps=2000 "$trace" \
	>"$work/tcpreplay.log" 2>&1 || { cat "$work/tcpreplay.log"; fail "tcpreplay failed"; }
grep -Eq "Successful packets: +$frames\$" "$work/tcpreplay.log" ||
	{ cat "$work/tcpreplay.log"; fail "tcpreplay did not send all $frames frames"; }
stop_live_capture
read_live_summary
records_tool totals "$state/records.jsonl" total >"$work/actual.tsv"
diff -u "$trace.src.tsv" "$work/actual.tsv" >"$work/diff" ||
	{ head -n 30 "$work/diff"; fail "per-source counts differ from the oracle (diff oracle actual above)"; }
check_live_summary "$frames" "$arp_frames"
owner="$(stat -c %u "$state/records.jsonl")"
[ "$owner" = "$user" ] || fail "records.jsonl belongs to uid $owner, not $user"
echo "  ok: $(wc -l <"$work/actual.tsv") sources equal the oracle exactly, written by uid $user"

# expect_refused LABEL CAPABILITIES: as nobody with CAPABILITIES, the start must fail with
# an error that names the port and the missing permission.
expect_refused() {
	local label="$1" capabilities="$2" status=0 port="net_af_packet0,iface=$capture_interface" error
	(sandboxed "$capabilities" timeout 30 "$jetstreamd" -p "$work/live.yaml") \
		2>"$work/refused.stderr" || status=$?
	[ "$status" -ne 0 ] || fail "$label: jetstreamd started"
	[ "$status" -ne 124 ] || fail "$label: jetstreamd neither started nor failed within 30 s"
	error="$(grep -F "error: kernel 'rx'" "$work/refused.stderr" | grep -F "$port" |
		grep -F 'Operation not permitted' | head -n 1)" ||
		{ cat "$work/refused.stderr"; fail "$label: no error naming the port and the permission"; }
	echo "  ok: $label: exit $status, $error"
}
echo "checks: without the capabilities, and without each one, it fails with the port's error"
expect_refused "no capability" ""
expect_refused "without CAP_NET_RAW" ",+net_admin,+ipc_lock"
expect_refused "without CAP_NET_ADMIN" ",+net_raw,+ipc_lock"
# the 16 MB socket ring is locked memory: without CAP_IPC_LOCK it needs RLIMIT_MEMLOCK above it
memlock="$(ulimit -l)"
if [ "$memlock" != unlimited ] && [ "$memlock" -lt 16384 ]; then
	expect_refused "without CAP_IPC_LOCK (RLIMIT_MEMLOCK $memlock kB)" ",+net_raw,+net_admin"
else
	echo "  note: RLIMIT_MEMLOCK is $memlock kB here, so the ring needs no CAP_IPC_LOCK"
fi
echo "ok: the capture runs as nobody with exactly the three capabilities, in the unit's sandbox"
