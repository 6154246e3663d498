#!/usr/bin/env bash
# Sink format syslog: one RFC 5424 message per alert record in a UDP
# datagram to a local listener (python3): checked exactly but for the
# timestamp (RFC 3339, UTC, microseconds) and the hostname; PRI is the
# facility (daemon by default, local5 here) and the severity (warning at
# start and update, notice at the end); the structured data carries the
# alert's fields, MSG its jsonl line.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source=tests/integration/action_pipeline.sh
source "$integration_directory/action_pipeline.sh"

cd "$work"
python3 - port messages.txt <<'PYTHON' &
import os, socket, sys
listener = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
listener.bind(("127.0.0.1", 0))
with open(sys.argv[1] + ".tmp", "w") as output:
    output.write(str(listener.getsockname()[1]))
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
with open(sys.argv[2], "ab", buffering=0) as output:
    while True:
        output.write(listener.recv(65536) + b"\n")
PYTHON
at_exit "kill $! 2>/dev/null"
for _ in $(seq 100); do [ -f port ] && break; sleep 0.05; done
[ -f port ] || fail "the UDP listener did not start"

# expected_messages PRI_START PRI_END PID ID: 198.51.100.7's start and end messages
expected_messages() {
	cat <<TEXT
<$1>1 TIME HOST jetstreamd $3 ALERT [alert@32473 state="start" id="$4" key="198.51.100.7" dst="198.51.100.7" group="customers" metric="pkts" value="100" threshold="50" peak="100" pkts="100" bytes="10000" start="1700000001.000000000" end="1700000002.000000000" duration="1.000000000" kernel="ddos"] {"type":"alert","kernel":"ddos","state":"start","alert_id":"$4","dst":"198.51.100.7","group":"customers","metric":"pkts","value":100,"threshold":50,"peak":100,"pkts":100,"bytes":10000,"start":1700000001.000000000,"end":1700000002.000000000,"duration":1.000000000}
<$2>1 TIME HOST jetstreamd $3 ALERT [alert@32473 state="end" id="$4" key="198.51.100.7" dst="198.51.100.7" group="customers" metric="pkts" value="100" threshold="50" peak="100" pkts="370" bytes="37000" start="1700000001.000000000" end="1700000006.000000000" duration="5.000000000" reason="below" kernel="ddos"] {"type":"alert","kernel":"ddos","state":"end","alert_id":"$4","dst":"198.51.100.7","group":"customers","metric":"pkts","value":100,"threshold":50,"peak":100,"pkts":370,"bytes":37000,"start":1700000001.000000000,"end":1700000006.000000000,"duration":5.000000000,"reason":"below"}
TEXT
}

# run_syslog NAME PRI_START PRI_END [SINK_LINE...]: run the pipeline, check its messages
run_syslog() {
	local pid id
	: >messages.txt
	rm -f alerts.jsonl # the jsonl sink appends
	write_action_pipeline "format: syslog" "server: 127.0.0.1:$(cat port)" "${@:4}" >"$1.yaml"
	"$jetstreamd" --check -p "$1.yaml" || fail "--check refused $1.yaml"
	"$jetstreamd" -p "$1.yaml" 2>"$1.stderr" &
	pid=$!
	wait "$pid" || { cat "$1.stderr"; fail "jetstreamd exited $?"; }
	check_accounting "$1.stderr"
	expect_stats "$1.stderr" records=9 actions_run=9 actions_failed=0 dropped_records=0
	for _ in $(seq 50); do [ "$(wc -l <messages.txt)" -ge 9 ] && break; sleep 0.05; done
	[ "$(wc -l <messages.txt)" -eq 9 ] || fail "$(wc -l <messages.txt) messages, expected 9"
	# TIMESTAMP is RFC 3339 UTC to the microsecond, HOSTNAME this host's name
	grep -Evq "^<[0-9]+>1 [0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}Z $(hostname) jetstreamd $pid ALERT \[alert@32473 " messages.txt &&
		{ cat messages.txt; fail "a message without the RFC 5424 header"; }
	id="$(grep '"state":"start"' alerts.jsonl | grep '"dst":"198.51.100.7"' | sed 's/.*"alert_id":"\([0-9a-f]*\)".*/\1/')"
	grep "\"dst\":\"198.51.100.7\"" messages.txt | grep -v '"state":"update"' |
		sed -E 's/^(<[0-9]+>1) [^ ]+ [^ ]+ /\1 TIME HOST /' >"$1.got"
	expected_messages "$2" "$3" "$pid" "$id" | diff -u - "$1.got" || fail "the messages differ"
	# MSG is each record's jsonl line, exactly
	sed 's/^[^]]*\] //' messages.txt | sort | diff -u <(sort alerts.jsonl) - || fail "a MSG is not its alert's line"
	echo "  ok: 9 messages, PRI $2 and $3; 198.51.100.7's start and end exactly; each MSG its jsonl line"
}

echo "checks: facility daemon (the default)"
run_syslog daemon 28 29
echo "checks: facility local5"
run_syslog local5 172 173 "facility: local5"
echo "ok: syslog sends one RFC 5424 message per alert"
