#!/usr/bin/env bash
# jetstreamctl against a running daemon: status, sources, reload, check.
#
# One daemon reads a finite pcap (rx -> count (total), per_second (1s),
# by_destination (1s, key dst, 2 replicas) and pair (1s, key src_dst) -> out) beside a slow live synthetic source (live -> live_count (1s) ->
# live_out), so it keeps running after the pcap branch has finished:
#   - `status --json` parses, and once the pcap branch is done its kernels'
#     figures equal the exit summary's exactly (the live branch's never
#     exceed it);
#   - `sources` gives the top 5 of the last closed window of per_second (the
#     trace's last second; by_destination's two replicas merged, pair's
#     address pairs too) and of live_count, equal to the records of that
#     window in the output, in order; errors name a kernel that is not a
#     per_src_counter, or missing, or counting with `window: total`;
#   - `reload` exits 0 for a good change (the generation goes up) and 78 with
#     the exact lines `jetstreamd --check` prints for a YAML syntax error and
#     an unknown key (the generation stays);
#   - `check` exits 0 / 78 with the output of `jetstreamd --check`;
#   - no daemon on the socket: exit 69 and a message naming the socket.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"

require_jetstreamctl
checks() { python3 "$integration_directory/ctl_checks.py" "$@"; }

cd "$work"
socket="$work/run/control.sock"
python3 "$repo_root/scripts/gen_trace.py" --packets 20000 --sources 400 --seed 5 \
	--output trace.pcap --oracle
cat >settings.yaml <<EOF
version: 1
log_level: info
control_socket: $socket
metrics: "off"
pipelines: [pipeline.yaml]
EOF
# pipeline_text [LIVE_COUNTER_EXTRA]: the pipeline, with one more line in live_count.
pipeline_text() {
	cat <<EOF
version: 1
kernels:
  rx:
    type: source
    pcap: "$work/trace.pcap"
$(pipeline_counter count rx total)
$(pipeline_counter per_second rx 1s)
$(pipeline_counter by_destination rx 1s "key: dst
replicas: 2")
$(pipeline_counter pair rx 1s "key: src_dst")
  out:
    type: sink
    input: [count, per_second, by_destination, pair]
    path: "$work/out.jsonl"
  live:
    type: source
    synthetic: {packets: 0, sources: 40, zipf: 1.2, rate_pps: 3000, seed: 9}
$(pipeline_counter live_count live 1s "${1:-}")
$(pipeline_counter live_total live total)
  live_out:
    type: sink
    input: [live_count, live_total]
    path: "$work/live.jsonl"
EOF
}
pipeline_text | replace_file pipeline.yaml

start_notify_listener
"$jetstreamd" -c settings.yaml 2>stderr.txt &
running_pid=$!
wait_ready 20
[ -S "$socket" ] || fail "no control socket at $socket"
[ "$(stat -c %a "$socket")" = 660 ] || fail "socket mode $(stat -c %a "$socket"), expected 660"
echo "  ok: listening on $socket, mode 0660"

echo "checks: status"
ctl status >status.txt || fail "jetstreamctl status exited $?"
grep -q "^jetstreamd $(cat "$repo_root/VERSION") " status.txt || { cat status.txt; fail "status: no version line"; }
grep -q '^live_count  *per_src_counter ' status.txt || { cat status.txt; fail "status: no live_count line"; }
awk 'length > 80 { exit 1 }' status.txt || { cat status.txt; fail "status: a line wider than 80 columns"; }
# the pcap branch is done when the sink has all the totals (one per source of the oracle)
oracle_sources=$(wc -l <trace.pcap.src.tsv)
deadline=$((SECONDS + 20))
until ctl status --json >status.json &&
	python3 -c 'import json, sys
status = json.load(open("status.json"))
out = [i for i in status["instances"] if i["kernel"] == "count"]
sys.exit(0 if out and out[0]["items_out"] == int(sys.argv[1]) else 1)' "$oracle_sources"; do
	[ "$SECONDS" -lt "$deadline" ] || fail "count never emitted its $oracle_sources totals"
	sleep 0.2
done
sleep 0.5 # the sink writes them; then the pcap branch is quiet
ctl status --json >status.json
python3 -c 'import json; s = json.load(open("status.json")); assert s["generation"] == 1, s["generation"]' ||
	fail "status --json: generation is not 1"
echo "  ok: status --json parses; the pcap branch is done ($oracle_sources totals out)"

echo "checks: sources"
ctl sources per_second -n 5 --json >per_second.json || fail "sources per_second exited $?"
# the live counter closes its first window within 2 s of the start
deadline=$((SECONDS + 5))
until ctl sources live_count -n 5 --json >live_count.json 2>error.txt; do
	grep -q "has closed no window yet" error.txt || fail "sources live_count: $(cat error.txt)"
	[ "$SECONDS" -lt "$deadline" ] || fail "live_count closed no window in 5 s"
	sleep 0.2
done
ctl sources by_destination -n 5 --json >by_destination.json || fail "sources by_destination exited $?"
ctl sources pair -n 5 --json >pair.json || fail "sources pair exited $?"
ctl sources live_count -n 3 >live_count.txt || fail "sources live_count (table) exited $?"
[ "$(wc -l <live_count.txt)" -eq 5 ] || { cat live_count.txt; fail "sources -n 3: expected a window line, a header and 3 rows"; }
status=0
ctl sources rx 2>error.txt || status=$?
[ "$status" -eq 1 ] && [ "$(cat error.txt)" = "jetstreamctl: sources: kernel 'rx' is a source, not a per_src_counter" ] ||
	fail "sources rx: exit $status, stderr: $(cat error.txt)"
status=0
ctl sources nothing 2>error.txt || status=$?
[ "$status" -eq 1 ] && [ "$(cat error.txt)" = "jetstreamctl: sources: no kernel named 'nothing'" ] ||
	fail "sources nothing: exit $status, stderr: $(cat error.txt)"
status=0
ctl sources live_total 2>error.txt || status=$?
[ "$status" -eq 1 ] && [ "$(cat error.txt)" = "jetstreamctl: sources: kernel 'live_total' counts with window: total: its only window closes at the end of input" ] ||
	fail "sources live_total: exit $status, stderr: $(cat error.txt)"
# dump: refused where no history kernel runs, or where the kernel named is another type
for request in "dump --filter tcp|jetstreamctl: dump: no history kernel runs: a dump needs one" \
	"dump --kernel rx|jetstreamctl: dump: kernel 'rx' is a source, not a history" \
	"dump --kernel nothing|jetstreamctl: dump: no kernel named 'nothing'" \
	"dump --kernel rx --before soon|jetstreamctl: dump: kernel 'rx' is a source, not a history"; do
	status=0
	# shellcheck disable=SC2086 # the request's words
	ctl ${request%%|*} 2>error.txt || status=$?
	[ "$status" -eq 1 ] && [ "$(cat error.txt)" = "${request#*|}" ] ||
		fail "${request%%|*}: exit $status, stderr: $(cat error.txt), expected 1 and '${request#*|}'"
done
echo "  ok: dump is refused without a history kernel, naming why"
status=0
ctl sources live_count -n 101 2>error.txt || status=$?
[ "$status" -eq 64 ] || fail "sources -n 101: exit $status, expected 64"
echo "  ok: errors for a source kernel, a missing kernel, a window: total counter, -n 101"

echo "checks: reload"
pipeline_text "max_sources: 1000" | replace_file pipeline.yaml
ctl reload >reload.txt || fail "reload of a good change exited $?"
# the summary is the daemon's own log line of that reload
logged="$(sed -n 's/^.*reload: generation 2 running: //p' stderr.txt)"
[ -n "$logged" ] && [ "$(cat reload.txt)" = "reloaded: generation 2: $logged" ] ||
	fail "reload: printed '$(cat reload.txt)', the log says '$logged'"
grep -q 'replaced .*live_count' reload.txt || fail "reload: live_count (max_sources changed) is not replaced"
ctl status --json | python3 -c 'import json, sys; assert json.load(sys.stdin)["generation"] == 2' ||
	fail "the generation is not 2 after the reload"
echo "  ok: exit 0, $(cat reload.txt)"
# expect_refused NAME: the pipeline file holds a mistake; reload must exit 78 with exactly
# the lines `jetstreamd --check` prints, and the generation stays 2.
expect_refused() {
	local status=0 check_status=0
	"$jetstreamd" --check -c settings.yaml >/dev/null 2>expected.txt || check_status=$?
	[ "$check_status" -eq 78 ] || fail "$1: jetstreamd --check exited $check_status"
	ctl reload >/dev/null 2>refused.txt || status=$?
	[ "$status" -eq 78 ] || fail "$1: reload exited $status, expected 78"
	diff expected.txt refused.txt || fail "$1: reload's error lines differ from --check's"
	ctl status --json | python3 -c 'import json, sys; assert json.load(sys.stdin)["generation"] == 2' ||
		fail "$1: the generation changed"
	echo "  ok: $1: exit 78, generation 2 kept, $(head -1 refused.txt)"
}
pipeline_text "max_sources: 1000" | sed 's/^    window: 1s$/    window: [1s/' | replace_file pipeline.yaml
expect_refused "YAML syntax error"
pipeline_text "windw: 2s" | replace_file pipeline.yaml
expect_refused "unknown key"
pipeline_text "max_sources: 1000" | replace_file pipeline.yaml

echo "checks: check"
status=0
ctl check >check.txt 2>check.err || status=$?
"$jetstreamd" --check -c settings.yaml >expected.txt
[ "$status" -eq 0 ] && diff expected.txt check.txt && [ ! -s check.err ] ||
	fail "check: exit $status, stdout $(cat check.txt), stderr $(cat check.err)"
pipeline_text | sed 's/type: per_src_counter/type: per_src_countr/' >bad.yaml
status=0
(cd / && "$jetstreamctl" -s "$socket" check -c "$work/settings.yaml" -p "$work/bad.yaml") >/dev/null 2>check.err || status=$?
# jetstreamctl sends absolute paths: the lines name the files so
"$jetstreamd" --check -c "$work/settings.yaml" -p "$work/bad.yaml" 2>expected.txt >/dev/null || true
[ "$status" -eq 78 ] && diff expected.txt check.err || fail "check -p bad.yaml: exit $status"
status=0
ctl check -p bad.yaml >/dev/null 2>check.err || status=$?
[ "$status" -eq 78 ] && diff expected.txt check.err || fail "check -p bad.yaml (relative): exit $status"
echo "  ok: exit 0 with --check's line; exit 78 with its $(wc -l <expected.txt) error lines"

# A check reads on the control thread: a terminal nobody writes to, or a FIFO whose writer
# stays silent, would block it for ever. Both are refused at once, and the daemon answers.
mkfifo silent.fifo
sleep 30 >silent.fifo &
fifo_writer=$!
for file in /dev/ptmx "$work/silent.fifo"; do
	status=0
	timeout 10 "$jetstreamctl" -s "$socket" check -c "$work/settings.yaml" -p "$file" >/dev/null \
		2>check.err || status=$?
	[ "$status" -eq 78 ] && grep -qx "$file: error: not a regular file: a check through the control socket reads only regular files" check.err ||
		{ cat check.err; fail "check -p $file: exit $status"; }
	ctl status >/dev/null || fail "no status after check -p $file"
done
kill "$fifo_writer" 2>/dev/null || true
wait "$fifo_writer" 2>/dev/null || true
echo "  ok: /dev/ptmx and a silent FIFO refused (not regular files), the daemon still answers"

echo "checks: stop, then compare"
ctl status --json >status.json
sleep 1.2 # a live window closes after the sources request: its records are out at the stop
kill -TERM "$running_pid"
wait_exit 20
[ "$exit_status" -eq 0 ] || { cat stderr.txt; fail "exit status $exit_status"; }
[ ! -e "$socket" ] || fail "the socket file is still there after the stop"
checks status-vs-summary status.json stderr.txt rx count per_second by_destination pair out ||
	{ cat stderr.txt; fail "status and exit summary disagree"; }
checks sources-vs-records per_second.json out.jsonl 5
checks sources-vs-records live_count.json live.jsonl 5
checks sources-vs-records by_destination.json out.jsonl 5
checks sources-vs-records pair.json out.jsonl 5

echo "checks: no daemon"
status=0
ctl status 2>error.txt || status=$?
[ "$status" -eq 69 ] && grep -q "control socket $socket" error.txt ||
	fail "status without a daemon: exit $status, stderr $(cat error.txt)"
echo "  ok: exit 69, $(head -1 error.txt)"
