#!/usr/bin/env bash
# Prometheus metrics, read by a real Prometheus: the test starts its own
# server (its own configuration, storage and port) scraping the daemon every
# second, reads jetstream_kernel_items_in_total back through Prometheus' HTTP
# API, and checks it against the exit summary after SIGTERM: never above it,
# and equal for a finite source that finished before the last scrape. Also:
# `promtool check metrics` prints nothing on a scrape; a taken port stops the start; every statistic of the
# built-in kernels has a family of its own; only GET /metrics is answered; a
# reload that makes a new instance of a kernel (a changed window) does not
# send its counters back (Prometheus' resets() stays 0); nor does one that
# lowers a kernel's replicas (2 -> 1): the kernel's sum over its replicas does
# not go down, and the exit summary is not below the last scrape. Last, a
# second daemon whose sink writes to a FIFO with a paused reader: a reload
# that replaces the sink drains while the reader is paused, and a scrape then
# (and one after the reader resumes) has no counter below the scrape before.
# shellcheck disable=SC2016 # wait_query's tests are evaluated on each answer, in single quotes
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"

for tool in prometheus promtool curl; do
	command -v "$tool" >/dev/null || skip "$tool is not installed (Debian: prometheus, curl)"
done

cd "$work"
# two free ports on the loopback: the daemon's metrics, Prometheus' own web port
read -r metrics_port prometheus_port < <(python3 -c '
import socket
sockets = [socket.socket() for _ in range(2)]
for s in sockets:
    s.bind(("127.0.0.1", 0))
print(*(s.getsockname()[1] for s in sockets))')
metrics_url="http://127.0.0.1:$metrics_port/metrics"

# pipeline WINDOW [ALARM] [REPLICAS]: a live paced generator into every built-in kernel
# type, and a finite one; the threshold `alarm` only when ALARM is given; `count` with
# REPLICAS replicas (2 by default)
pipeline() {
	local alarm="" alarm_input=""
	if [ -n "${2:-}" ]; then
		alarm="$(pipeline_threshold alarm count pkts 1000000000)"
		alarm_input=", alarm"
	fi
	cat <<YAML
version: 1
kernels:
  live:
    type: source
    synthetic: {packets: 0, sources: 40, rate_pps: 20000, seed: 5}
  finite:
    type: source
    synthetic: {packets: 5000, sources: 10, seed: 7}
$(pipeline_counter count live "$1" "replicas: ${3:-2}")
$alarm
$(pipeline_counter finite_count finite total)
  flows:
    type: flow_tracker
    input: live
  stats:
    type: proto_stats
    input: live
  forward:
    type: passthrough
    input: live
  discard:
    type: sink
    input: forward
    format: null
  out:
    type: sink
    input: [count$alarm_input, finite_count, flows, stats]
    path: "$work/records.jsonl"
YAML
}
pipeline 1s alarm | replace_file pipeline.yaml
cat >settings.yaml <<YAML
metrics: 127.0.0.1:$metrics_port
control_socket: off
pipelines: [pipeline.yaml]
YAML

# prometheus_query EXPRESSION: the value of an instant query's only sample, or "none"
prometheus_query() {
	python3 - "$prometheus_port" "$1" <<'PY'
import json, sys, urllib.parse, urllib.request
url = f"http://127.0.0.1:{sys.argv[1]}/api/v1/query?" + urllib.parse.urlencode({"query": sys.argv[2]})
with urllib.request.urlopen(url, timeout=5) as response:
    answer = json.load(response)
if answer["status"] != "success":
    sys.exit(f"query {sys.argv[2]}: {answer}")
result = answer["data"]["result"]
if len(result) > 1:
    sys.exit(f"query {sys.argv[2]}: {len(result)} samples, expected one")
print(result[0]["value"][1] if result else "none")
PY
}

# wait_query EXPRESSION TEST SECONDS: wait until the query's value passes TEST (a shell test on $value)
wait_query() {
	local deadline=$((SECONDS + $3))
	while :; do
		value="$(prometheus_query "$1")"
		if [ "$value" != none ] && eval "$2"; then
			return 0
		fi
		[ "$SECONDS" -lt "$deadline" ] || fail "Prometheus: '$1' is $value after $3 s (wanted $2)"
		sleep 0.5
	done
}

# scrape_kernel_sum FILE FAMILY KERNEL: the sum of FAMILY's samples of KERNEL over its replicas
scrape_kernel_sum() {
	awk -v family="$2" -v kernel="kernel=\"$3\"" '
		index($1, family "{") == 1 && index($1, "{" kernel ",") > 0 { sum += $2; found = 1 }
		END { if (found) print sum; exit found ? 0 : 1 }' "$1" ||
		fail "the scrape $1 has no sample of $2 for kernel $3"
}

# scrape_value FILE SAMPLE: the value of one sample line (name and labels as written) of a scrape
scrape_value() {
	awk -v sample="$2" '$1 == sample { print $2; found = 1 } END { exit found ? 0 : 1 }' "$1" ||
		fail "the scrape $1 has no sample $2"
}

echo "checks: a daemon that cannot listen on its metrics address does not start"
python3 -c '
import socket, sys, time
held = socket.socket()
held.bind(("127.0.0.1", int(sys.argv[1])))
held.listen(1)
open(sys.argv[2], "w").close()
time.sleep(30)' "$metrics_port" "$work/held" &
holder_pid=$!
at_exit "kill $holder_pid 2>/dev/null"
for _ in $(seq 100); do [ -e held ] && break; sleep 0.05; done
status=0
run_jetstreamd busy.txt -c settings.yaml || status=$?
[ "$status" -eq 1 ] || { cat busy.txt; fail "exit status $status with the port taken, expected 1"; }
grep -q "metrics: cannot listen on 127.0.0.1:$metrics_port: Address already in use" busy.txt ||
	{ cat busy.txt; fail "no reason given for the refused start"; }
kill "$holder_pid"
wait "$holder_pid" 2>/dev/null || true
echo "  ok: exit 1, 'cannot listen on 127.0.0.1:$metrics_port: Address already in use'"

start_notify_listener
"$jetstreamd" -c settings.yaml 2>stderr.txt &
running_pid=$!
wait_ready 20

echo "checks: a scrape is valid text format (promtool check metrics prints nothing)"
curl -sS --max-time 5 -o scrape1.txt -D headers1.txt "$metrics_url"
grep -qi '^content-type: text/plain; version=0.0.4' headers1.txt || { cat headers1.txt; fail "content type"; }
promtool_clean scrape1.txt
for family in jetstream_build_info jetstream_uptime_seconds jetstream_generation jetstream_reloads_total \
	jetstream_kernel_items_in_total jetstream_kernel_items_out_total jetstream_kernel_backpressure_total \
	jetstream_dropped_packets_total jetstream_dropped_packets_known jetstream_ring_fill_ratio \
	jetstream_lcore_busy_ratio jetstream_kernel_info jetstream_kernel_flows_active \
	jetstream_kernel_buffer_bytes jetstream_kernel_malformed_packets_total; do
	grep -q "^# TYPE $family " scrape1.txt || fail "no family $family in the scrape"
done
# the table of statistic kinds knows every statistic the built-in kernels report
! grep -q '^jetstream_kernel_plugin_stat' scrape1.txt ||
	{ grep '^jetstream_kernel_plugin_stat' scrape1.txt; fail "a built-in statistic has no family of its own"; }
[ "$(scrape_value scrape1.txt "jetstream_build_info{version=\"$(cat "$repo_root/VERSION")\"}")" = 1 ] ||
	fail "jetstream_build_info has not the version of VERSION"
[ "$(scrape_value scrape1.txt jetstream_generation)" = 1 ] || fail "generation is not 1"
# a generator has no device: only ring_overflow, known; no NIC drop is shown as 0
[ "$(scrape_value scrape1.txt 'jetstream_dropped_packets_known{kernel="live",type="source",reason="ring_overflow"}')" = 1 ] ||
	fail "ring_overflow of the live source is not known"
! grep -q '^jetstream_dropped_packets_total{kernel="live",type="source",reason="nic_imissed"}' scrape1.txt ||
	fail "a generator shows a NIC drop"
echo "  ok: promtool silent; every family present; no plugin_stat for built-in kernels"

echo "checks: only GET /metrics is answered"
[ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$metrics_port/")" = 404 ] || fail "/ is not 404"
[ "$(curl -s -o /dev/null -w '%{http_code}' -X POST -d x=1 "$metrics_url")" = 405 ] || fail "POST is not 405"
[ "$(curl -s -o /dev/null -w '%{http_code}' "$metrics_url")" = 200 ] || fail "GET after the refused ones is not 200"
echo "  ok: / 404, POST 405, GET 200"

echo "checks: 40 clients that connect and say nothing are closed after 5 s; then scrapes work"
python3 -c '
import socket, sys, time
held = [socket.create_connection(("127.0.0.1", int(sys.argv[1]))) for _ in range(40)]
open(sys.argv[2], "w").close()
time.sleep(15)' "$metrics_port" "$work/idle" &
idle_pid=$!
at_exit "kill $idle_pid 2>/dev/null"
for _ in $(seq 100); do [ -e idle ] && break; sleep 0.05; done
[ -e idle ] || fail "the idle clients did not connect"
sleep 6
curl -sS --max-time 5 -o idle_scrape.txt "$metrics_url" || fail "no scrape after the idle clients' time-out"
grep -q '^jetstream_generation 1$' idle_scrape.txt || fail "the scrape beside idle clients is incomplete"
kill -0 "$running_pid" || fail "jetstreamd died with 40 idle clients"
kill "$idle_pid"
echo "  ok: a scrape answered while the 40 idle connections are still open on their side"

echo "checks: a real Prometheus scrapes the daemon every second"
cat >prometheus.yml <<YAML
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: jetstream
    static_configs:
      - targets: ["127.0.0.1:$metrics_port"]
YAML
prometheus --config.file=prometheus.yml --storage.tsdb.path="$work/tsdb" \
	--web.listen-address="127.0.0.1:$prometheus_port" >prometheus.log 2>&1 &
prometheus_pid=$!
at_exit "kill $prometheus_pid 2>/dev/null; wait $prometheus_pid 2>/dev/null"
deadline=$((SECONDS + 30))
until curl -sf "http://127.0.0.1:$prometheus_port/-/ready" >/dev/null 2>&1; do
	kill -0 "$prometheus_pid" 2>/dev/null || { cat prometheus.log; fail "prometheus exited"; }
	[ "$SECONDS" -lt "$deadline" ] || { cat prometheus.log; fail "prometheus not ready within 30 s"; }
	sleep 0.2
done
wait_query 'up{job="jetstream"}' '[ "$value" = 1 ]' 20
wait_query 'sum(jetstream_kernel_items_in_total{kernel="count"})' '[ "$value" -gt 0 ]' 20
echo "  ok: up = 1; count's items in, read through Prometheus: $value"
# the finite generator ends early: its counter's figure stops at 5000
wait_query 'sum(jetstream_kernel_items_in_total{kernel="finite_count"})' '[ "$value" = 5000 ]' 20

echo "checks: a reload that makes a new instance (window 1s -> 2s) and removes one does not send counters back"
curl -sS --max-time 5 -o before.txt "$metrics_url"
pipeline 2s | replace_file pipeline.yaml
kill -HUP "$running_pid"
wait_notify READY=1 2 20
grep -q "changed count" stderr.txt || { cat stderr.txt; fail "the reload did not change count"; }
grep -q "removed alarm" stderr.txt || { cat stderr.txt; fail "the reload did not remove alarm"; }
curl -sS --max-time 5 -o after.txt "$metrics_url"
promtool_clean after.txt
alarm_sample='jetstream_kernel_items_in_total{kernel="alarm",type="threshold",replica="0"}'
[ "$(scrape_value after.txt "$alarm_sample")" -ge "$(scrape_value before.txt "$alarm_sample")" ] ||
	fail "the removed alarm's items in went down"
! grep -q '^jetstream_kernel_info{kernel="alarm"' after.txt || fail "the removed alarm still has a kernel_info"
[ "$(scrape_value after.txt jetstream_generation)" = 2 ] || fail "generation is not 2 after the reload"
[ "$(scrape_value after.txt 'jetstream_reloads_total{result="ok"}')" = 1 ] || fail "reloads ok is not 1"
for replica in 0 1; do
	sample="jetstream_kernel_items_in_total{kernel=\"count\",type=\"per_src_counter\",replica=\"$replica\"}"
	before=$(scrape_value before.txt "$sample")
	after=$(scrape_value after.txt "$sample")
	[ "$after" -ge "$before" ] || fail "count replica $replica: $before items in before the reload, $after after"
done
# two more scrapes of the new generation, then no series of it may have reset
sleep 2.5
wait_query 'jetstream_generation' '[ "$value" = 2 ]' 10
wait_query 'sum(resets(jetstream_kernel_items_in_total[1m]))' '[ "$value" = 0 ]' 5
echo "  ok: generation 2; count's counters went on from where they were; resets() = 0"

echo "checks: a reload that lowers count's replicas (2 -> 1) does not lower its items in"
curl -sS --max-time 5 -o before_replicas.txt "$metrics_url"
pipeline 2s "" 1 | replace_file pipeline.yaml
kill -HUP "$running_pid"
wait_notify READY=1 3 20
grep -q "replaced count" stderr.txt || { cat stderr.txt; fail "the reload did not replace count"; }
curl -sS --max-time 5 -o after_replicas.txt "$metrics_url"
promtool_clean after_replicas.txt
[ "$(scrape_value after_replicas.txt jetstream_generation)" = 3 ] || fail "generation is not 3 after the reload"
before=$(scrape_kernel_sum before_replicas.txt jetstream_kernel_items_in_total count)
after=$(scrape_kernel_sum after_replicas.txt jetstream_kernel_items_in_total count)
# the retired replica 1 counted what it did: its figures must still be in the kernel's sum
[ "$after" -ge "$before" ] ||
	{ grep '^jetstream_kernel_items_in_total{kernel="count"' before_replicas.txt after_replicas.txt
	  fail "count: $before items in over its replicas before the reload, $after after (replicas 2 -> 1)"; }
echo "  ok: count's items in over its replicas: $before before, $after after"

echo "checks: after SIGTERM, the exit summary is never below the last scrape"
curl -sS --max-time 5 -o last.txt "$metrics_url"
kill -TERM "$running_pid"
wait_exit 20
[ "$exit_status" -eq 0 ] || { cat stderr.txt; fail "exit status $exit_status after SIGTERM"; }
# the target is down now: the last samples scraped are in the last minute
wait_query 'up{job="jetstream"}' '[ "$value" = 0 ]' 10
# the sum at each scrape, then the last one: a replica that a reload retired is no series of its own
scraped=$(prometheus_query 'last_over_time(sum(jetstream_kernel_items_in_total{kernel="count"})[1m:1s])')
summary=$(records_tool summary stderr.txt count.in)
[ "$scraped" -gt 0 ] && [ "$summary" -ge "$scraped" ] ||
	fail "count: the last scrape says $scraped items in, the exit summary $summary"
last_scrape=$(scrape_kernel_sum last.txt jetstream_kernel_items_in_total count)
[ "$summary" -ge "$last_scrape" ] ||
	fail "count: the scrape before SIGTERM says $last_scrape items in, the exit summary $summary"
scraped_finite=$(prometheus_query 'sum(last_over_time(jetstream_kernel_items_in_total{kernel="finite_count"}[1m]))')
[ "$scraped_finite" = 5000 ] && [ "$(records_tool summary stderr.txt finite_count.in)" = 5000 ] ||
	fail "finite_count: the last scrape says $scraped_finite, the summary $(records_tool summary stderr.txt finite_count.in)"
scraped_live=$(prometheus_query 'sum(last_over_time(jetstream_kernel_items_out_total{kernel="live"}[1m]))')
[ "$(records_tool summary stderr.txt live.out)" -ge "$scraped_live" ] || fail "live: scraped $scraped_live out, above the summary"
echo "  ok: count: last scrapes $scraped (Prometheus) and $last_scrape (before SIGTERM) <= summary $summary; finite_count 5000 = 5000"

echo "checks: a scrape while a reload still drains (a sink held back by a paused FIFO reader): no counter went down"
# every counter sample of the scrape $1 is in the scrape $2, with a value not below
counters_not_lower() {
	python3 - "$1" "$2" <<'PY'
import sys
def counters(path):
    kinds, samples = {}, {}
    for line in open(path):
        if line.startswith("# TYPE "):
            _, _, family, kind = line.split()
            kinds[family] = kind
        elif line.strip() and not line.startswith("#"):
            sample, value = line.rsplit(" ", 1)
            family = sample.split("{", 1)[0]
            if kinds.get(family) == "counter":
                samples[sample] = float(value)
    return samples
before, after = counters(sys.argv[1]), counters(sys.argv[2])
lower = [f"{s}: {v:.0f} -> {after.get(s, 'absent')}" for s, v in before.items() if after.get(s, -1) < v]
if lower:
    sys.exit(f"{len(lower)} counters went down from {sys.argv[1]} to {sys.argv[2]}:\n  " + "\n  ".join(lower))
print(len(before))
PY
}
# drain_pipeline PATH: 10 ms windows of 200 sources make thousands of records a second for the sink
drain_pipeline() {
	cat <<YAML
version: 1
kernels:
  live:
    type: source
    synthetic: {packets: 0, sources: 200, rate_pps: 20000, seed: 3}
$(pipeline_counter fast live 10ms)
  slow:
    type: sink
    input: fast
    path: "$1"
YAML
}
mkfifo drain.fifo
cat drain.fifo >drain_read.jsonl &
reader_pid=$!
at_exit "kill -CONT $reader_pid 2>/dev/null; kill $reader_pid 2>/dev/null"
drain_pipeline "$work/drain.fifo" | replace_file pipeline.yaml
ready_before=$(notify_count READY=1)
"$jetstreamd" -c settings.yaml 2>drain_stderr.txt &
running_pid=$!
wait_notify READY=1 $((ready_before + 1)) 20
sleep 1
kill -STOP "$reader_pid"
# the pipe fills, then the sink's buffer: records wait for the paused reader
deadline=$((SECONDS + 10))
until curl -sS --max-time 5 -o drain_before.txt "$metrics_url" &&
	[ "$(scrape_value drain_before.txt 'jetstream_kernel_buffer_bytes{kernel="slow",type="sink",replica="0"}')" -gt 0 ]; do
	[ "$SECONDS" -lt "$deadline" ] || fail "the sink on the paused FIFO holds no records after 10 s"
	sleep 0.2
done
sleep 0.5
curl -sS --max-time 5 -o drain_before.txt "$metrics_url"
drain_pipeline "$work/drain_new.jsonl" | replace_file pipeline.yaml
kill -HUP "$running_pid"
wait_notify READY=1 $((ready_before + 2)) 20
grep -q "replaced slow" drain_stderr.txt || { cat drain_stderr.txt; fail "the reload did not replace slow"; }
# the old sink cannot finish while its reader is paused (its buffer held records before the
# reload): the reload is still draining
sleep 0.5
curl -sS --max-time 5 -o drain_during.txt "$metrics_url"
kill -0 "$running_pid" || fail "jetstreamd died during the drain"
checked=$(counters_not_lower drain_before.txt drain_during.txt 2>&1) || fail "during the drain, $checked"
kill -CONT "$reader_pid"
sleep 1.5
curl -sS --max-time 5 -o drain_after.txt "$metrics_url"
checked_after=$(counters_not_lower drain_during.txt drain_after.txt 2>&1) || fail "after the drain, $checked_after"
kill -TERM "$running_pid"
wait_exit 20
[ "$exit_status" -eq 0 ] || { cat drain_stderr.txt; fail "exit status $exit_status after SIGTERM (drain rig)"; }
echo "  ok: $checked counters during the drain and $checked_after after it, none below the scrape before"
