# shellcheck shell=bash
# Shared helpers of the integration tests; sourced by each test_*.sh, which
# then runs alone as well as under run.sh.
#
# Provides: $repo_root, $jetstreamd, $traces, $work (a temporary directory
# removed on exit), at_exit, fail, skip, run_jetstreamd, run_ok,
# write_counter_pipeline, pipeline_counter, pipeline_threshold,
# start_notify_listener, wait_ready, wait_exit (with $running_pid, killed if
# still running at exit), records_tool (records.py), for reloads:
# notify_count, wait_notify, notify_message, replace_file, check_accounting (run by
# run_jetstreamd and wait_exit on every exit summary), accounting_line_figures, and for live
# captures: setup_veth_namespaces, make_live_trace, check_live_trace, stop_live_capture,
# read_live_summary, check_live_summary; for metrics: promtool_clean.

# The variables set here are used by the tests that source this file.
# shellcheck disable=SC2034

integration_directory="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo_root="$(cd "$integration_directory/../.." && pwd)"
jetstreamd="${JETSTREAMD:-$repo_root/build/jetstreamd}"
jetstreamctl="${JETSTREAMCTL:-$repo_root/build/jetstreamctl}"

# require_jetstreamctl: fail unless the control tool is built (`make` builds it).
require_jetstreamctl() {
	[ -x "$jetstreamctl" ] || fail "$jetstreamctl is missing: build it with 'make build/jetstreamctl'"
}

# ctl ARGS...: jetstreamctl talking to the daemon's control socket, $socket.
ctl() { "$jetstreamctl" -s "$socket" "$@"; }
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
	check_accounting "$stderr_file"
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
		if ! kill -0 "$running_pid" 2>/dev/null; then
			[ ! -f "$work/stderr" ] || tail -n 20 "$work/stderr"
			fail "jetstreamd exited before it was ready"
		fi
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
# When the daemon's stderr is a file, its exit summary's accounting is checked (check_accounting).
wait_exit() {
	local deadline=$((SECONDS + $1)) stderr_file
	exit_status=255
	stderr_file="$(readlink "/proc/$running_pid/fd/2" 2>/dev/null)" || stderr_file=""
	while kill -0 "$running_pid" 2>/dev/null; do
		[ "$SECONDS" -lt "$deadline" ] || return 0
		sleep 0.05
	done
	exit_status=0
	wait "$running_pid" || exit_status=$?
	running_pid=""
	[ ! -f "$stderr_file" ] || check_accounting "$stderr_file"
}

# accounting_line_figures STDERR SOURCE: from the exit summary's accounting line of SOURCE
# ("jetstreamd: source NAME: received R = processed P + DROP N ..."), print
# "received processed drops unread": drops sums every named drop, unread is
# unread_at_exit (0 when the line has none). Returns 1 without such a line;
# prints "unknown" for drops (and received) when the device cannot tell one.
accounting_line_figures() {
	awk -v source="$2" '
		$1 == "jetstreamd:" && $2 == "source" && $3 == source ":" && $4 == "received" {
			sub(/;.*/, "")
			received = $5; processed = $8; drops = 0; unread = 0; unknown = 0
			for (i = 9; i + 2 <= NF; i += 3) {
				if ($(i + 2) == "unknown") unknown = 1
				else if ($(i + 1) == "unread_at_exit") unread = $(i + 2)
				else drops += $(i + 2)
			}
			print received, processed, (unknown ? "unknown" : drops), unread
			found = 1
		}
		END { exit found ? 0 : 1 }' "$1"
}

# check_accounting STDERR: when STDERR holds an exit summary, fail the test unless every
# source kernel in it has an accounting line whose equation holds: received = processed +
# each named drop + unread_at_exit, with processed equal to the source's "out" figure. A
# source whose device cannot report a drop (printed "unknown") is reported, not failed.
check_accounting() {
	local stderr_file="$1" name received processed drops unread out
	grep -q '^jetstreamd: summary (generation' "$stderr_file" 2>/dev/null || return 0
	while read -r name out; do
		read -r received processed drops unread < <(accounting_line_figures "$stderr_file" "$name") ||
			{ sed 's/^/    /' "$stderr_file"; fail "accounting: the exit summary has no accounting line for source '$name'"; }
		[ "$processed" = "$out" ] ||
			{ sed 's/^/    /' "$stderr_file"; fail "accounting: source '$name' processed $processed, but its kernel line says out $out"; }
		if [ "$drops" = unknown ] || [ "$received" = unknown ]; then
			echo "  note: accounting of source '$name' cannot be checked: its device does not report every drop"
			continue
		fi
		[ "$received" -eq "$((processed + drops + unread))" ] ||
			{ sed 's/^/    /' "$stderr_file"; fail "accounting: source '$name' received $received, but processed $processed + drops $drops + unread $unread = $((processed + drops + unread))"; }
	done < <(awk '/^  / && $2 == "source" && $4 == "in" { print $1, $7 }' "$stderr_file")
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

# pipeline_counter NAME INPUT WINDOW [KEYS]: print the entry of a per_src_counter kernel for the
# kernels: map of a pipeline file, with more keys as "key: value" lines in KEYS.
pipeline_counter() {
	echo "  $1:"
	echo "    type: per_src_counter"
	echo "    input: $2"
	echo "    window: $3"
	[ -z "${4:-}" ] || echo "    ${4//$'\n'/$'\n'    }"
}

# pipeline_threshold NAME INPUT METRIC ABOVE: print the entry of a threshold kernel for the
# kernels: map of a pipeline file.
pipeline_threshold() {
	echo "  $1:"
	echo "    type: threshold"
	echo "    input: $2"
	echo "    metric: $3"
	echo "    above: $4"
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

# setup_veth_namespaces: for a live capture, a veth pair between two network namespaces made
# for this test (deleted at exit), with IPv6 off and no address, so the kernel sends nothing
# of its own and no traffic leaves them. Sets capture_namespace and capture_interface (the end
# jetstreamd reads), replay_namespace and replay_interface (the end tcpreplay writes). Skips
# the test without root, the ip command or tcpreplay, or if no namespace can be made.
setup_veth_namespaces() {
	[ "$(id -u)" -eq 0 ] || skip "needs root (network namespaces, veth, raw sockets)"
	command -v ip >/dev/null || skip "the ip command (iproute2) is not installed"
	command -v tcpreplay >/dev/null || skip "tcpreplay is not installed"

	local suffix="$$" namespace
	capture_namespace="jetstream-rx-$suffix"
	replay_namespace="jetstream-tx-$suffix"
	capture_interface="jsrx$suffix"
	replay_interface="jstx$suffix"

	ip netns add "$capture_namespace" 2>"$work/netns.err" ||
		skip "cannot create a network namespace: $(cat "$work/netns.err")"
	at_exit "ip netns delete '$capture_namespace' 2>/dev/null"
	ip netns add "$replay_namespace"
	at_exit "ip netns delete '$replay_namespace' 2>/dev/null"
	for namespace in "$capture_namespace" "$replay_namespace"; do
		# interfaces made afterwards take the defaults: no IPv6, so no DAD or router solicitation
		ip netns exec "$namespace" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 \
			net.ipv6.conf.default.disable_ipv6=1
	done
	ip link add name "$capture_interface" netns "$capture_namespace" type veth \
		peer name "$replay_interface" netns "$replay_namespace"
	ip netns exec "$capture_namespace" sysctl -qw "net.ipv6.conf.$capture_interface.disable_ipv6=1"
	ip netns exec "$replay_namespace" sysctl -qw "net.ipv6.conf.$replay_interface.disable_ipv6=1"
	ip -n "$capture_namespace" link set "$capture_interface" up
	ip -n "$replay_namespace" link set "$replay_interface" up
	echo "setup: veth $replay_interface (netns $replay_namespace) -> $capture_interface (netns $capture_namespace), no IPv6, no address"
}

# make_live_trace PACKETS SOURCES SEED: generate $work/trace.pcap (and its oracle) to replay
# into the veth of setup_veth_namespaces, with no VLAN tags (the kernel may take a tag off
# the frame into metadata, changing its length); sets trace and frames, then checks it with
# check_live_trace.
make_live_trace() {
	local longest trace_frames
	trace="$work/trace.pcap"
	python3 "$repo_root/scripts/gen_trace.py" --packets "$1" --sources "$2" --seed "$3" \
		--vlan-share 0 --output "$trace" --oracle
	read -r _ trace_frames _ longest < <(records_tool pcap-info "$trace")
	[ "$trace_frames" -eq "$1" ] || fail "the trace has $trace_frames frames, $1 were asked for"
	frames="$trace_frames"
	check_live_trace "$trace" "$frames" "$longest"
}

# check_live_trace TRACE FRAMES LONGEST: for a trace of FRAMES frames, the longest LONGEST
# bytes, to replay into the veth of setup_veth_namespaces: fails the test if a frame is more
# than the veth MTU allows; sets arp_frames (the frames not counted by the oracle
# TRACE.src.tsv) and prints what the trace holds.
check_live_trace() {
	local trace="$1" frames="$2" longest="$3"
	[ "$longest" -le 1514 ] || fail "the trace has a $longest-byte frame, more than the veth MTU allows"
	arp_frames=$((frames - $(awk -F'\t' '{ sum += $2 } END { print sum + 0 }' "$trace.src.tsv")))
	echo "trace: $frames frames ($arp_frames ARP), $(wc -l <"$trace.src.tsv") IP sources, longest frame $longest bytes"
}

# stop_live_capture: after a replay, stop the capturing $running_pid with SIGTERM (its
# stderr in $work/stderr) and fail the test unless it exits 0 within 20 s.
stop_live_capture() {
	sleep 0.5 # frames still in the af_packet ring are drained on stop, but let them arrive
	kill -TERM "$running_pid"
	wait_exit 20
	[ "$exit_status" -ne 255 ] || fail "jetstreamd still runs 20 s after SIGTERM"
	[ "$exit_status" -eq 0 ] || { cat "$work/stderr"; fail "exit status $exit_status after SIGTERM, expected 0"; }
	echo "  ok: exit status 0 after SIGTERM"
}

# read_live_summary: set packets, non_ip and dropped from the exit summary in $work/stderr
# (the test fails if there is none), and print them.
read_live_summary() {
	packets="$(records_tool summary "$work/stderr" packets)" || { cat "$work/stderr"; fail "no exit summary"; }
	non_ip="$(records_tool summary "$work/stderr" rx.non_ip_packets)"
	dropped="$(records_tool summary "$work/stderr" dropped)"
	echo "  summary: $packets packets, $non_ip non-IP, $dropped dropped"
}

# check_live_summary FRAMES ARP_FRAMES: fail the test unless the summary of read_live_summary
# counts the FRAMES replayed, ARP_FRAMES of them non-IP, and none dropped.
check_live_summary() {
	local frames="$1" arp_frames="$2"
	[ "$packets" = "$frames" ] || fail "the summary counts $packets packets, $frames were replayed"
	[ "$non_ip" = "$arp_frames" ] || fail "the summary counts $non_ip non-IP packets, the trace has $arp_frames ARP frames"
	[ "$dropped" = 0 ] || fail "$dropped packets dropped"
	echo "  ok: the summary counts all $frames frames ($arp_frames non-IP) and 0 dropped"
}

# promtool_clean FILE: fail the test unless `promtool check metrics` accepts the scrape in FILE
# and prints nothing (no lint problem either).
promtool_clean() {
	local lint=0
	promtool check metrics <"$1" >"$1.lint" 2>&1 || lint=$?
	if [ "$lint" -ne 0 ] || [ -s "$1.lint" ]; then
		cat "$1.lint"
		fail "promtool check metrics on $1: exit $lint"
	fi
}
