#!/usr/bin/env bash
# `jetstreamctl top` in a real terminal: tmux runs it in an 80x24 pane with
# TERM=xterm; the screen read back (capture-pane) shows the header and the
# kernels, no line is wider than 80 columns, the view refreshes (the uptime
# moves), `q` and Ctrl-C quit with exit 0, and the terminal is left in
# cooked mode with echo on (stty, after top, in the same pane).
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"

command -v tmux >/dev/null || skip "tmux is not installed (scripts/deps.sh installs it)"
require_jetstreamctl
cd "$work"
socket="$work/control.sock"
cat >settings.yaml <<EOF
version: 1
control_socket: $socket
metrics: "off"
pipelines: [pipeline.yaml]
EOF
cat >pipeline.yaml <<EOF
version: 1
kernels:
  live:
    type: source
    synthetic: {packets: 0, sources: 40, rate_pps: 5000}
$(pipeline_counter live_count live 1s)
  live_out:
    type: sink
    input: live_count
    format: null
EOF
start_notify_listener
"$jetstreamd" -c settings.yaml 2>stderr.txt &
running_pid=$!
wait_ready 20

# a tmux server of this test's own, on its own socket
tmux_socket="$work/tmux.sock"
tmux_() { tmux -S "$tmux_socket" "$@"; }
at_exit "tmux -S '$tmux_socket' kill-server 2>/dev/null"
tmux_ -f /dev/null new-session -d -x 80 -y 24 -s top \
	"TERM=xterm '$jetstreamctl' -s '$socket' top; echo \"top exited \$?\" >'$work/top.status'; stty -a >'$work/stty.txt'; sleep 60"
pane=top # the pane screen() reads
screen() { tmux_ capture-pane -p -t "$pane"; }
wait_screen() { # PATTERN SECONDS
	local deadline=$((SECONDS + $2))
	until screen | grep -q "$1"; do
		[ "$SECONDS" -lt "$deadline" ] || { screen; fail "'$1' not on the screen within $2 s"; }
		sleep 0.1
	done
}
wait_screen '^jetstreamd ' 10
wait_screen '^live_count ' 5
screen >first.txt
awk 'length > 80 { exit 1 }' first.txt || { cat first.txt; fail "a line wider than 80 columns"; }
grep -q '^q: quit' first.txt || { cat first.txt; fail "no key help on the last line"; }
echo "  ok: header, kernels and key help on the 80x24 screen:"
sed 's/^/    | /' first.txt | sed '/^    | $/d'
uptime_of() { sed -n 's/^jetstreamd .* up \([^ ]* [^ ]*\) .*/\1/p' "$1"; }
sleep 2.2
screen >second.txt
[ "$(uptime_of first.txt)" != "$(uptime_of second.txt)" ] || fail "the screen did not refresh in 2 s"
echo "  ok: refreshed (uptime $(uptime_of first.txt) -> $(uptime_of second.txt))"
# sorted by rate: the two 5000 pps kernels (source and counter) above the sink
[ "$(grep -n '^live_out ' second.txt | cut -d: -f1)" -gt "$(grep -n '^live_count ' second.txt | cut -d: -f1)" ] ||
	fail "live_out (fewer items a second) is listed above live_count"
tmux_ send-keys -t top q
deadline=$((SECONDS + 5))
until [ -s top.status ]; do
	[ "$SECONDS" -lt "$deadline" ] || { screen; fail "top did not quit on q within 5 s"; }
	sleep 0.1
done
[ "$(cat top.status)" = "top exited 0" ] || fail "$(cat top.status), expected 0"
deadline=$((SECONDS + 5))
until [ -s stty.txt ]; do [ "$SECONDS" -lt "$deadline" ] || fail "no stty output"; sleep 0.1; done
grep -q ' icanon ' stty.txt && grep -q ' echo ' stty.txt || { cat stty.txt; fail "the terminal was not restored"; }
echo "  ok: q quits with exit 0; the terminal is back in cooked mode with echo"
# Ctrl-C (SIGINT from the terminal) ends it the same way
rm -f top.status stty.txt
tmux_ new-window -t top -n second \
	"TERM=xterm '$jetstreamctl' -s '$socket' top; echo \"top exited \$?\" >'$work/top.status'; stty -a >'$work/stty.txt'; sleep 60"
pane=top:second
wait_screen '^live_count ' 10
tmux_ send-keys -t top:second C-c
deadline=$((SECONDS + 5))
until [ -s top.status ] && [ -s stty.txt ]; do
	[ "$SECONDS" -lt "$deadline" ] || { screen; fail "top did not end on Ctrl-C within 5 s"; }
	sleep 0.1
done
[ "$(cat top.status)" = "top exited 0" ] || fail "after Ctrl-C: $(cat top.status), expected 0"
grep -q ' icanon ' stty.txt && grep -q ' echo ' stty.txt || { cat stty.txt; fail "the terminal was not restored after Ctrl-C"; }
echo "  ok: Ctrl-C ends it with exit 0; the terminal is restored"
kill -TERM "$running_pid"
wait_exit 20
[ "$exit_status" -eq 0 ] || { cat stderr.txt; fail "exit status $exit_status"; }
