#!/usr/bin/env bash
# A reload the daemon refuses although `jetstreamd --check` accepts the
# files: a port source's `queues` changes only at a restart. `jetstreamctl
# check` (run by the daemon against its running configuration) and
# `jetstreamctl reload` both exit 78 with the refusal's exact line, and the
# generation stays 1. A net_null port needs no root and no NIC.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"

require_jetstreamctl
cd "$work"
socket="$work/control.sock"
cat >settings.yaml <<EOF
version: 1
control_socket: $socket
metrics: "off"
pipelines: [pipeline.yaml]
EOF
# write_pipeline QUEUES
write_pipeline() {
	replace_file pipeline.yaml <<EOF
version: 1
kernels:
  rx:
    type: source
    port: "net_null0"
    queues: $1
  count:
    type: per_src_counter
    input: rx
    replicas: $1
    window: total
  out:
    type: sink
    input: count
    format: null
EOF
}
write_pipeline 1
start_notify_listener
"$jetstreamd" -c settings.yaml 2>stderr.txt &
running_pid=$!
wait_ready 20

echo "checks: a queues change is refused by reload and check, accepted by --check"
write_pipeline 2
"$jetstreamd" --check -c settings.yaml >/dev/null 2>&1 || fail "jetstreamd --check refuses the new file"
expected="pipeline.yaml:6:13: error: kernel 'rx': key 'queues' cannot change without a restart (running: 1)"
for command in check reload; do
	status=0
	ctl "$command" >/dev/null 2>refused.txt || status=$?
	[ "$status" -eq 78 ] || { cat refused.txt; fail "$command exited $status, expected 78"; }
	[ "$(cat refused.txt)" = "$expected" ] ||
		fail "$command printed '$(cat refused.txt)', expected '$expected'"
	echo "  ok: $command: exit 78, $expected"
done
ctl status --json | python3 -c 'import json, sys; assert json.load(sys.stdin)["generation"] == 1' ||
	fail "the generation changed"
grep -q 'reload failed: keeping generation 1' stderr.txt || fail "no 'reload failed' in the log"
echo "  ok: generation 1 still runs"
kill -TERM "$running_pid"
wait_exit 20
[ "$exit_status" -eq 0 ] || { cat stderr.txt; fail "exit status $exit_status"; }
