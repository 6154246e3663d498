# shellcheck shell=bash
# Shared helpers of the integration tests; sourced by each test_*.sh, which
# then runs alone as well as under run.sh.
#
# Provides: $repo_root, $jetstreamd, $traces, $work (a temporary directory
# removed on exit), at_exit, fail, skip, run_jetstreamd, run_ok,
# write_counter_pipeline, start_notify_listener, wait_ready, wait_exit (with
# $running_pid, killed if still running at exit), records_tool (records.py),
# and for reloads: notify_count, wait_notify, notify_message, replace_file.

# The variables set here are used by the tests that source this file.
# shellcheck disable=SC2034

integration_directory="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo_root="$(cd "$integration_directory/../.." && pwd)"
jetstreamd="${JETSTREAMD:-$repo_root/build/jetstreamd}"
# The shared captures live beside the repository, never inside it.
traces="${JETSTREAM_TRACES:-$repo_root/../shared/traces}"
# A run that takes longer than this is a hang: the test fails instead of blocking the suite.
jetstreamd_timeout="${JETSTREAMD_TIMEOUT:-60}"

exit_commands=()

# Run a command (a string, evaluated) when the test exits, last registered first.
at_exit() {
	exit_commands=("$1" "${exit_commands[@]}")
}

run_exit_commands() {
	local command
	for command in "${exit_commands[@]}"; do
		eval "$command" || true
	done
}
trap run_exit_commands EXIT
# Stopped by a signal: exit, so that the EXIT trap cleans up.
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM

fail() {
	echo "FAIL: $*"
	exit 1
}

skip() {
	echo "skip: $*"
	exit 77
}

work="$(mktemp -d "${TMPDIR:-/tmp}/jetstream-test.XXXXXX")"
# shellcheck disable=SC2016 # expanded when the test exits
at_exit 'rm -rf "$work"'

[ -x "$jetstreamd" ] || fail "$jetstreamd is missing or not executable: build it with 'make build/jetstreamd'"

# run_jetstreamd STDERR_FILE ARGS...: run with a time limit; prints nothing, returns the exit status.
run_jetstreamd() {
	local stderr_file="$1" status=0
	shift
	timeout --kill-after=5 "$jetstreamd_timeout" "$jetstreamd" "$@" 2>"$stderr_file" || status=$?
	if [ "$status" -eq 124 ] || [ "$status" -eq 137 ]; then
		echo "jetstreamd did not finish within ${jetstreamd_timeout}s: $jetstreamd $*" >&2
	fi
	return "$status"
}

# run_ok STDERR_FILE ARGS...: run_jetstreamd, and fail the test (showing stderr) unless it exits 0.
run_ok() {
	local stderr_file="$1" status=0
	run_jetstreamd "$@" || status=$?
	if [ "$status" -ne 0 ]; then
		sed 's/^/    /' "$stderr_file"
		fail "jetstreamd exited $status (expected 0): jetstreamd ${*:2}"
	fi
}

# Receive jetstreamd's sd_notify messages: sets NOTIFY_SOCKET (exported) and
# appends every message to $work/notify.log. Each message is also appended to
# $work/notify.messages as one line: the CLOCK_MONOTONIC time it arrived, in
# microseconds, then its NAME=value fields, all separated by tabs (see
# notify_count, wait_notify and notify_message).
start_notify_listener() {
	export NOTIFY_SOCKET="$work/notify.socket"
	python3 -c '
import socket, sys, time
listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
listener.bind(sys.argv[1])
with open(sys.argv[2], "ab", buffering=0) as log, open(sys.argv[3], "ab", buffering=0) as messages:
    while True:
        message = listener.recv(65536)
        arrived = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
        log.write(message + b"\n")
        fields = message.rstrip(b"\n").replace(b"\t", b" ").split(b"\n")
        messages.write(b"\t".join([str(arrived).encode()] + fields) + b"\n")
' "$NOTIFY_SOCKET" "$work/notify.log" "$work/notify.messages" &
	notify_listener_pid=$!
	at_exit "kill $notify_listener_pid 2>/dev/null; wait $notify_listener_pid 2>/dev/null"
	local tries=0
	until [ -S "$NOTIFY_SOCKET" ]; do
		tries=$((tries + 1))
		[ "$tries" -lt 100 ] || fail "the sd_notify listener did not start"
		sleep 0.05
	done
}

# wait_ready SECONDS: wait for READY=1 from $running_pid (which must keep running).
wait_ready() {
	local deadline=$((SECONDS + $1))
	until grep -q '^READY=1' "$work/notify.log" 2>/dev/null; do
		kill -0 "$running_pid" 2>/dev/null || fail "jetstreamd exited before it was ready"
		[ "$SECONDS" -lt "$deadline" ] || fail "jetstreamd sent no READY=1 within $1 s"
		sleep 0.05
	done
}

# A jetstreamd started in the background sets running_pid=$!; it is killed if
# the test exits before wait_exit has collected it.
running_pid=""
kill_running() {
	if [ -n "$running_pid" ]; then
		kill -KILL "$running_pid" 2>/dev/null || true
		wait "$running_pid" 2>/dev/null || true
		running_pid=""
	fi
}
at_exit kill_running

# wait_exit SECONDS: wait for $running_pid to exit; sets exit_status (255: still running).
wait_exit() {
	local deadline=$((SECONDS + $1))
	exit_status=255
	while kill -0 "$running_pid" 2>/dev/null; do
		[ "$SECONDS" -lt "$deadline" ] || return 0
		sleep 0.05
	done
	exit_status=0
	wait "$running_pid" || exit_status=$?
	running_pid=""
}

records_tool() {
	python3 "$integration_directory/records.py" "$@"
}

# write_counter_pipeline FILE SOURCE_KEYS COUNTER_KEYS RECORDS: a pipeline file
# source -> per_src_counter -> sink (jsonl, appending to RECORDS). The keys of
# the source and of the counter come as "key: value" lines.
write_counter_pipeline() {
	local file="$1" source_keys="$2" counter_keys="$3" records="$4"
	{
		echo "version: 1"
		echo "kernels:"
		echo "  rx:"
		echo "    type: source"
		echo "    ${source_keys//$'\n'/$'\n'    }"
		echo "  count:"
		echo "    type: per_src_counter"
		echo "    input: rx"
		echo "    ${counter_keys//$'\n'/$'\n'    }"
		echo "  out:"
		echo "    type: sink"
		echo "    input: count"
		echo "    format: jsonl"
		echo "    path: \"$records\""
	} >"$file"
}

# notify_count FIELD: how many sd_notify messages (start_notify_listener) have the field FIELD,
# e.g. READY=1.
notify_count() {
	awk -F'\t' -v field="$1" '{ for (i = 2; i <= NF; i++) if ($i == field) { n++; break } }
		END { print n + 0 }' "$work/notify.messages" 2>/dev/null || echo 0
}

# wait_notify FIELD COUNT SECONDS: wait until COUNT messages have the field FIELD, while
# $running_pid keeps running; fails the test otherwise.
wait_notify() {
	local field="$1" count="$2" deadline=$((SECONDS + $3))
	until [ "$(notify_count "$field")" -ge "$count" ]; do
		kill -0 "$running_pid" 2>/dev/null || fail "jetstreamd exited while waiting for $field number $count"
		[ "$SECONDS" -lt "$deadline" ] || fail "no $field number $count from jetstreamd within $3 s"
		sleep 0.02
	done
}

# notify_message FIELD N: the Nth message (from 1) with the field FIELD, as one line: arrival
# time (CLOCK_MONOTONIC, microseconds), then the message's fields, tab-separated.
notify_message() {
	awk -F'\t' -v field="$1" -v wanted="$2" '{ for (i = 2; i <= NF; i++) if ($i == field) { n++; break } }
		n == wanted { print; exit }' "$work/notify.messages"
}

# replace_file FILE: write standard input to FILE atomically, as an operator's editor or
# deployment tool should before a reload: into a temporary file in the same directory, then
# renamed over FILE, so a reader sees the old or the new file, never a part of one.
replace_file() {
	local temporary
	temporary="$(mktemp "$(dirname "$1")/.$(basename "$1").XXXXXX")"
	cat >"$temporary"
	mv -f "$temporary" "$1"
}
