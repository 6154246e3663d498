#!/usr/bin/env bash
# Where the control socket is made: a missing directory is created (0750), a
# stale socket file (nobody answers) is replaced, a socket another daemon
# answers on stops the second daemon (exit 1, "in use by another
# jetstreamd"), a path that cannot be made stops it with the path and the
# reason, `control_socket: off` opens nothing, and the file is removed at
# exit.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"

cd "$work"
# write_settings SOCKET: settings naming that socket and a live pipeline
write_settings() {
	cat >settings.yaml <<EOF
version: 1
log_level: info
control_socket: $1
metrics: "off"
pipelines: [pipeline.yaml]
EOF
}
cat >pipeline.yaml <<EOF
version: 1
kernels:
  live:
    type: source
    synthetic: {packets: 0, sources: 10, rate_pps: 1000}
$(pipeline_counter count live total)
  out:
    type: sink
    input: count
    format: null
EOF
socket="$work/made/here/control.sock"
write_settings "$socket"
# a stale socket file: bound, then its owner gone
mkdir -p "$work/made/here"
python3 -c 'import socket, sys; s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])' "$socket"
[ -S "$socket" ] || fail "could not make a stale socket"
start_notify_listener
"$jetstreamd" -c settings.yaml 2>stderr.txt &
running_pid=$!
wait_ready 20
python3 -c 'import socket, sys; s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])' "$socket" ||
	fail "the stale socket was not replaced by a live one"
grep -q "control socket: listening on $socket" stderr.txt || fail "no 'listening' line in the log"
echo "  ok: a stale socket file is replaced"

status=0
timeout 30 "$jetstreamd" -c settings.yaml 2>second.txt || status=$?
[ "$status" -eq 1 ] || { cat second.txt; fail "a second daemon on the same socket exited $status, expected 1"; }
grep -q "control socket $socket is in use by another jetstreamd" second.txt ||
	{ cat second.txt; fail "no 'in use by another jetstreamd' error"; }
echo "  ok: a second daemon on a live socket exits 1: $(grep 'in use' second.txt)"
kill -TERM "$running_pid"
wait_exit 20
[ "$exit_status" -eq 0 ] || { cat stderr.txt; fail "exit status $exit_status"; }
[ ! -e "$socket" ] || fail "the socket file is still there after the stop"
echo "  ok: the socket file is removed at exit"

rm -rf "$work/fresh"
write_settings "$work/fresh/dir/control.sock"
"$jetstreamd" -c settings.yaml 2>stderr.txt &
running_pid=$!
deadline=$((SECONDS + 20))
until [ -S "$work/fresh/dir/control.sock" ]; do
	kill -0 "$running_pid" 2>/dev/null || { cat stderr.txt; fail "the daemon exited"; }
	[ "$SECONDS" -lt "$deadline" ] || fail "no socket in a missing directory within 20 s"
	sleep 0.1
done
[ "$(stat -c %a "$work/fresh/dir")" = 750 ] || fail "directory mode $(stat -c %a "$work/fresh/dir"), expected 750"
echo "  ok: a missing directory is created with mode 0750"
kill -TERM "$running_pid"
wait_exit 20

: >"$work/a_file"
write_settings "$work/a_file/control.sock"
status=0
timeout 30 "$jetstreamd" -c settings.yaml 2>error.txt || status=$?
[ "$status" -eq 1 ] && grep -q "control socket $work/a_file/control.sock: .*Not a directory" error.txt ||
	{ cat error.txt; fail "a socket under a plain file: exit $status"; }
echo "  ok: an impossible path stops the start (exit 1): $(grep 'control socket' error.txt)"

write_settings off
"$jetstreamd" -c settings.yaml 2>stderr.txt &
running_pid=$!
sleep 1
kill -0 "$running_pid" || { cat stderr.txt; fail "the daemon with control_socket: off exited"; }
! grep -q 'control socket: listening' stderr.txt || fail "control_socket: off still listened"
kill -TERM "$running_pid"
wait_exit 20
echo "  ok: control_socket: off listens nowhere"
