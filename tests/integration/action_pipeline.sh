# shellcheck shell=bash
# shellcheck disable=SC2154 # integration_directory and fail come from lib.sh, sourced first
# Shared by the test_action_*.sh tests: the alerts of alerts_trace.py's known
# answer (test_alerts.sh), four lifecycle alerts of nine records, made into
# the pipeline an action sink is appended to.
#
# write_alert_pipeline: trace.pcap (made once) and the pipeline on stdout:
# source, counter by destination, lifecycle threshold `ddos` with groups (the
# YAML anchor &groups), a jsonl sink `out` writing alerts.jsonl.
write_alert_pipeline() {
	[ -f trace.pcap ] || python3 "$integration_directory/alerts_trace.py" trace.pcap >/dev/null
	cat <<'YAML'
version: 1
kernels:
  rx:
    type: source
    pcap: trace.pcap
  watch:
    type: per_src_counter
    input: rx
    key: dst
    window: 1s
  ddos:
    type: threshold
    input: watch
    alerts: lifecycle
    hold: 3s
    update: 2s
    groups: &groups
      - name: customers
        networks: [198.51.100.0/24, "2001:db8:100::/48"]
        pkts: 50
      - name: lab
        networks: ["2001:db8:100:1::/64"]
        pkts: 200
      - {name: servers, networks: [203.0.113.0/24], bytes: 50000, per: second}
      - {name: rest, pkts: 500}
  out:
    type: sink
    input: ddos
    path: alerts.jsonl
YAML
}

# write_action_pipeline SINK_LINES...: write_alert_pipeline's, then an
# action sink `act` with input ddos and the lines given (indented as its keys).
write_action_pipeline() {
	write_alert_pipeline
	printf '  act:\n    type: sink\n    input: ddos\n'
	printf '    %s\n' "$@"
}

# sink_stat STDERR NAME: the value of statistic NAME of the sink `act` in the exit summary.
sink_stat() {
	grep -E '^  act +sink ' "$1" | grep -o " $2=[0-9]*" | cut -d= -f2
}

# expect_stats STDERR NAME=VALUE...: each statistic of `act` is that value.
expect_stats() {
	local stderr_file="$1" pair value
	shift
	for pair in "$@"; do
		value="$(sink_stat "$stderr_file" "${pair%%=*}")"
		[ "$value" = "${pair#*=}" ] || { sed 's/^/    /' "$stderr_file"; fail "${pair%%=*} is '$value', expected ${pair#*=}"; }
	done
}
