#!/usr/bin/env bash
# A history dump open when its kernel goes: a reload that removes the history
# kernel cuts the dump, and so does the daemon stopping. Either way the file
# is renamed from .part, its comment says it was cut and why, with the
# packets written, and the log says so; nothing leaks (run under ASan by
# `make check`). A looping, rate-limited pcap source keeps the daemon running
# and `after: 1h` keeps the dump open.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"

trace="$traces/stopddos_pkt.TCP.synflood.spoofed.pcap"
[ -f "$trace" ] || skip "$trace is absent (the shared traces directory holds it)"

require_jetstreamctl
cd "$work"
start_notify_listener
mkdir dumps ctl_dumps
socket="$work/control.sock"
cat >settings.yaml <<SETTINGS
version: 1
control_socket: $socket
metrics: off
SETTINGS
pipeline="$work/history.yaml"

# write_pipeline WITH_HISTORY: the looping source, counter, threshold, sink; and the history kernel when 1
write_pipeline() {
	replace_file "$pipeline" <<YAML
version: 1
kernels:
  rx:
    type: source
    pcap: $trace
    loop: forever
    rate_pps: 20000
  count:
    type: per_src_counter
    input: rx
    key: dst
    window: 1s
  alarm:
    type: threshold
    input: count
    above: 5000
  out:
    type: sink
    input: alarm
    format: jsonl
    path: $work/alerts.jsonl
$(if [ "$1" -eq 1 ]; then cat <<HISTORY
  cap:
    type: history
    input: rx
    trigger: alarm
    dump_key: dst
    before: 1s
    after: 1h
    memory: 16M
    dump_dir: $work/dumps
HISTORY
fi)
YAML
}

# wait_for_part SECONDS: until the dump's .part file exists
wait_for_part() {
	local deadline=$((SECONDS + $1))
	until compgen -G "dumps/*.pcapng.part" >/dev/null; do
		kill -0 "$running_pid" 2>/dev/null || fail "jetstreamd exited before a dump opened"
		[ "$SECONDS" -lt "$deadline" ] || fail "no dump opened within $1 s"
		sleep 0.05
	done
}

# start_with_open_dump STDERR_FILE: the daemon with the history kernel, once its trigger dump is open
start_with_open_dump() {
	write_pipeline 1
	"$jetstreamd" -c settings.yaml -p "$pipeline" 2>"$1" &
	running_pid=$!
	wait_ready 30
	wait_for_part 20
}

# check_cut_dump REASON: one finished file whose comment says it was cut for REASON, none left .part
check_cut_dump() {
	local files comment
	files=(dumps/*)
	[ "${#files[@]}" -eq 1 ] || fail "expected one dump file, found: ${files[*]}"
	case "${files[0]}" in *.pcapng) ;; *) fail "the dump was left unfinished: ${files[0]}" ;; esac
	comment="$(capinfos -k "${files[0]}")"
	grep -q "outcome: cut: $1" <<<"$comment" || { echo "$comment"; fail "the comment does not say 'outcome: cut: $1'"; }
	grep -Eq "packets written: [1-9][0-9]*" <<<"$comment" || fail "the comment gives no packets written"
	[ "$(tshark -r "${files[0]}" 2>/dev/null | wc -l)" -ge 1 ] || fail "the cut dump cannot be read back"
	rm -f dumps/*
}

echo "checks: a reload that removes the history kernel cuts its open dumps (a trigger's, and one asked"
echo "        for with jetstreamctl dump --wait, which then exits 1), with a note in the file and the log"
start_with_open_dump reload.stderr
ctl_status=0
ctl dump --filter "tcp" --before 1s --after 1h --out ctl_dumps/asked.pcapng --wait \
	>ctl.out 2>ctl.err &
ctl_pid=$!
until [ -e ctl_dumps/asked.pcapng.part ]; do
	kill -0 "$ctl_pid" 2>/dev/null || { cat ctl.out ctl.err; fail "jetstreamctl dump ended before its dump opened"; }
	sleep 0.05
done
write_pipeline 0
kill -HUP "$running_pid"
wait_notify READY=1 2 30
wait "$ctl_pid" || ctl_status=$?
[ "$ctl_status" -eq 1 ] && grep -q "jetstreamctl: dump: no kernel named 'cap' runs (if a reload removed it, dump 2 ended with it" ctl.err ||
	{ cat ctl.out ctl.err; fail "jetstreamctl dump --wait across the reload: exit $ctl_status, expected 1 saying the dump ended with its kernel"; }
# the retired kernel drains, then its writer cuts the dump and renames the file
deadline=$((SECONDS + 20))
until [ -e ctl_dumps/asked.pcapng ]; do
	[ "$SECONDS" -lt "$deadline" ] || { ls ctl_dumps; fail "the asked-for dump was not finished within 20 s of the reload"; }
	sleep 0.05
done
comment="$(capinfos -k ctl_dumps/asked.pcapng)"
grep -q "outcome: cut: a reload removed or replaced the history kernel" <<<"$comment" ||
	{ echo "$comment"; fail "the asked-for dump's comment does not say the reload cut it"; }
echo "  ok: jetstreamctl dump --wait exits 1 once the reload cut its dump; the file says so"
# the retired instance drains and is destroyed after the grace period
deadline=$((SECONDS + 20))
until grep -q "kernel 'cap': dump 1 cut" reload.stderr; do
	[ "$SECONDS" -lt "$deadline" ] || { cat reload.stderr; fail "no 'dump 1 cut' line after the reload"; }
	sleep 0.05
done
grep -q "warning: kernel 'cap': dump 1 cut (a reload removed or replaced the history kernel" reload.stderr ||
	{ cat reload.stderr; fail "the log does not say why the dump was cut"; }
kill -TERM "$running_pid"
wait_exit 30
[ "$exit_status" -eq 0 ] || { cat reload.stderr; fail "exit status $exit_status after SIGTERM"; }
check_cut_dump "a reload removed or replaced the history kernel"
echo "  ok: cut by the reload, file complete, exit 0"

echo "checks: the daemon stopping cuts an open dump the same way"
start_with_open_dump stop.stderr
kill -TERM "$running_pid"
wait_exit 30
[ "$exit_status" -eq 0 ] || { cat stop.stderr; fail "exit status $exit_status after SIGTERM"; }
grep -q "warning: kernel 'cap': dump 1 cut (the daemon stopped before the range's end)" stop.stderr ||
	{ cat stop.stderr; fail "the log does not say the stop cut the dump"; }
check_cut_dump "the daemon stopped before the range's end"
grep -q "dumps_cut=1" stop.stderr || fail "dumps_cut is not 1 in the summary"
echo "  ok: cut by the stop, file complete, exit 0"
