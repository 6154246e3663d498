#!/usr/bin/env bash
# Measure live reload: how long SIGHUP takes to answer READY=1, and what the
# reloads cost in throughput. Not a test (make check does not run it).
#
#   scripts/reload_latency.sh [RELOADS] [SECONDS] [REPEATS]   defaults: 30 reloads, 10 s per run, 2 repeats
#
# A 10-kernel graph (a looping pcap source, 3 counters with windows 1s, 10s and
# total, a threshold on each, a sink for each threshold) runs on a generated
# trace, read as fast as it goes (`loop: forever`). A Python driver receives
# the sd_notify datagrams itself and timestamps them with time.monotonic(), in
# the same process that sends SIGHUP, so a latency is SIGHUP -> READY=1 on one
# clock. The pipeline file is rewritten (atomically) before the clock starts;
# each reload changes one threshold's `above`. Runs of the same length, with
# no reload and with RELOADS of them spread over the run, alternated REPEATS
# times, give the throughput (exit summary Mpps) with and without reloads.
#
# Uses build/jetstreamd, or $JETSTREAMD.
set -euo pipefail

repo_root="$(cd "$(dirname "$0")/.." && pwd)"
jetstreamd="${JETSTREAMD:-$repo_root/build/jetstreamd}"
reloads="${1:-30}"
seconds="${2:-10}"
repeats="${3:-2}"
[[ "$reloads" =~ ^[0-9]+$ && "$seconds" =~ ^[0-9]+$ && "$seconds" -gt 1 && "$repeats" =~ ^[1-9][0-9]*$ ]] ||
	{ echo "usage: $0 [RELOADS] [SECONDS] [REPEATS]" >&2; exit 64; }
[ -x "$jetstreamd" ] || { echo "$jetstreamd is missing: run 'make build/jetstreamd'" >&2; exit 1; }

work="$(mktemp -d "${TMPDIR:-/tmp}/jetstream-reload-latency.XXXXXX")"
trap 'rm -rf "$work"' EXIT

# 20,000 frames over 1 s of packet time: a 1s window holds one pass of the file.
python3 "$repo_root/scripts/gen_trace.py" --packets 20000 --sources 300 --seed 7 --duration 1 \
	--output "$work/trace.pcap"

python3 - "$jetstreamd" "$work" "$reloads" "$seconds" "$repeats" <<'EOF'
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import time

jetstreamd, work = sys.argv[1], sys.argv[2]
reloads, seconds, repeats = int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
pipeline = os.path.join(work, "pipeline.yaml")

# Per counter: window, threshold above (pkts per window). The heavy hitter sends 2,000 per pass.
COUNTERS = (("1s", 1000), ("10s", 10000), ("total", 1000000))


def write_pipeline(first_above):
    lines = ["version: 1", "kernels:", "  rx:", "    type: source",
             f"    pcap: \"{work}/trace.pcap\"", "    loop: forever"]
    for index, (window, above) in enumerate(COUNTERS, 1):
        if index == 1:
            above = first_above
        lines += [f"  count{index}:", "    type: per_src_counter", "    input: rx", f"    window: {window}",
                  f"  alarm{index}:", "    type: threshold", f"    input: count{index}", "    metric: pkts",
                  f"    above: {above}",
                  f"  out{index}:", "    type: sink", f"    input: alarm{index}",
                  f"    path: \"{work}/alerts{index}.jsonl\""]
    temporary = pipeline + ".new"
    with open(temporary, "w", encoding="utf-8") as stream:
        stream.write("\n".join(lines) + "\n")
    os.replace(temporary, pipeline)  # atomic, as an operator's deployment should do


def fields(datagram):
    return datagram.decode("utf-8", "replace").split("\n")


def run(reload_count):
    """One run of `seconds`; returns (latencies in s, RELOADING delays in s, summary line, stderr)."""
    socket_path = os.path.join(work, "notify.socket")
    if os.path.exists(socket_path):
        os.unlink(socket_path)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    listener.bind(socket_path)
    write_pipeline(COUNTERS[0][1])
    stderr_path = os.path.join(work, f"stderr.{reload_count}")
    environment = dict(os.environ, NOTIFY_SOCKET=socket_path)
    with open(stderr_path, "w", encoding="utf-8") as stderr:
        daemon = subprocess.Popen([jetstreamd, "-p", pipeline], stderr=stderr, env=environment)

    def receive(wanted, deadline):
        """Wait for a datagram with the field @wanted; returns (arrival time, fields)."""
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or daemon.poll() is not None:
                sys.exit(f"no {wanted} from jetstreamd (exit status {daemon.poll()}); see its log:\n"
                         + open(stderr_path, encoding="utf-8").read())
            listener.settimeout(remaining)
            try:
                datagram = listener.recv(65536)
            except socket.timeout:
                continue
            arrived = time.monotonic()
            message = fields(datagram)
            if wanted in message:
                return arrived, message

    try:
        ready_time, _ = receive("READY=1", time.monotonic() + 30)
        latencies, reloading_delays = [], []
        interval = seconds / (reload_count + 1)
        for number in range(1, reload_count + 1):
            time.sleep(max(0.0, ready_time + number * interval - time.monotonic()))
            write_pipeline(COUNTERS[0][1] + number % 2)  # a small change: alarm1's `above`
            sent = time.monotonic()
            daemon.send_signal(signal.SIGHUP)
            reloading_time, message = receive("RELOADING=1", sent + 30)
            stamps = [field for field in message if field.startswith("MONOTONIC_USEC=")]
            if not stamps:
                sys.exit(f"RELOADING=1 without MONOTONIC_USEC=: {message}")
            ready, message = receive("READY=1", sent + 30)
            status = next((field for field in message if field.startswith("STATUS=")), "")
            if not status.startswith(f"STATUS=generation {number + 1}:"):
                sys.exit(f"reload {number} did not succeed: {status}")
            latencies.append(ready - sent)
            reloading_delays.append(reloading_time - sent)
            print(f"  reload {number:3d}: SIGHUP -> RELOADING=1 {1000 * (reloading_time - sent):7.2f} ms,"
                  f" -> READY=1 {1000 * (ready - sent):7.2f} ms   {status}")
        time.sleep(max(0.0, ready_time + seconds - time.monotonic()))
        daemon.send_signal(signal.SIGTERM)
        status = daemon.wait(60)
    finally:
        if daemon.poll() is None:
            daemon.kill()
            daemon.wait()
        listener.close()
    log = open(stderr_path, encoding="utf-8").read()
    summary = [line for line in log.splitlines()
               if re.match(r"^jetstreamd: \d+ packets in [0-9.]+ s \([0-9.]+ Mpps\), \d+ dropped$", line)]
    if status != 0 or len(summary) != 1:
        sys.exit(f"jetstreamd exited {status} without a summary:\n{log}")
    return latencies, reloading_delays, summary[0], log


def mpps(summary):
    return float(re.search(r"\(([0-9.]+) Mpps\)", summary).group(1))


print(f"jetstreamd: {jetstreamd}")
print("graph: 10 kernels (source loop: forever -> 3 counters [1s, 10s, total] -> 3 thresholds -> 3 sinks)")
quiet_rates, busy_rates, latencies, reloading_delays = [], [], [], []
for repeat in range(1, repeats + 1):
    # alternated, so that a slow phase of the machine does not count against one kind of run only
    print(f"run {2 * repeat - 1}: {seconds} s, no reload")
    _, _, summary, _ = run(0)
    quiet_rates.append(mpps(summary))
    print(f"  {summary}")
    print(f"run {2 * repeat}: {seconds} s, {reloads} reloads (alarm1 above {COUNTERS[0][1]} <-> {COUNTERS[0][1] + 1})")
    run_latencies, run_delays, summary, log = run(reloads)
    latencies += run_latencies
    reloading_delays += run_delays
    busy_rates.append(mpps(summary))
    print(f"  {summary}")
    reload_lines = [line for line in log.splitlines() if "reload: generation" in line]
    if reload_lines:
        print(f"  last reload logged: {reload_lines[-1]}")

print()
print("report")
if latencies:
    milliseconds = sorted(1000 * latency for latency in latencies)
    print(f"  SIGHUP -> READY=1 over {len(milliseconds)} reloads: median {statistics.median(milliseconds):.2f} ms,"
          f" max {milliseconds[-1]:.2f} ms, min {milliseconds[0]:.2f} ms")
    delays = sorted(1000 * delay for delay in reloading_delays)
    print(f"  SIGHUP -> RELOADING=1: median {statistics.median(delays):.2f} ms, max {delays[-1]:.2f} ms")
quiet, busy = statistics.mean(quiet_rates), statistics.mean(busy_rates)
change = 100 * (busy - quiet) / quiet if quiet else 0.0
print(f"  throughput, mean of {repeats} runs each: {quiet:.2f} Mpps with no reload"
      f" ({', '.join(f'{rate:.2f}' for rate in quiet_rates)}), {busy:.2f} Mpps with {reloads} reloads"
      f" ({', '.join(f'{rate:.2f}' for rate in busy_rates)}): {change:+.1f} %")
EOF
