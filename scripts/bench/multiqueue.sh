#!/usr/bin/env bash
# Row 11: the cost of the hop from a multi-queue port source to its consumers'
# replicas. A veth pair in network namespaces made here (as the integration
# tests make them; needs root and tcpreplay); tcpreplay replays one trace of a
# few thousand flows into it from one namespace, jetstreamd reads the other end
# with af_packet and two queue pairs (`qpairs=2`, one PACKET_FANOUT group) and
# `queues: 2`, and feeds a flow_tracker and a per_src_counter of 2 replicas
# each. Once with `queue_mapping: direct` (queue i feeds replica i on its lcore,
# no software hash) and once with `software` (the software partition over
# rings), alternately, the same traffic:
#   11a/11b worker busy ns per packet (TSC busy cycles of the worker lcores,
#           from `jetstreamctl status --json`, scripts/bench/busy_per_packet.py)
#   11c     the difference: the per-packet cost of the source-to-replica hop.
# Every run must count exactly: received = processed + named drops (the exit
# summary's accounting line), 0 dropped, and per-source totals = the oracle.
#
# Environment: RUNS (5); MQ_FRAMES (400000 frames in the trace); MQ_LOOPS (5:
# tcpreplay --loop, a run replays MQ_FRAMES x MQ_LOOPS frames; one pass at the 250 kpps
# the veth gave on 2 shared CPUs lasts under 2 s, a single one-second tick of figures);
# MQ_RATE (topspeed, or packets per second for tcpreplay --pps); MQ_IDLE (sleep, or
# poll: the busy share counts the whole of every round that found any work, and at
# 250 kpps a polling worker's rounds find little each, so the fixed cost of a round
# dominates: 2030-2130 ns/packet at a busy share of 0.47-0.49, against 430-515 with
# sleep, whose rounds take what gathered in the socket rings meanwhile);
# MQ_MODES ("direct software"; the mode `none` writes no queue_mapping key, the
# daemon's own behaviour, to check this script on a daemon without the key).
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
. "$(dirname "$0")/lib.sh"
bench_root="$repo_root"
if [ "$(id -u)" -ne 0 ] || ! command -v tcpreplay >/dev/null; then
	record multiqueue "11 multi-queue af_packet" "not run: needs root and tcpreplay" "-" "-" "scripts/bench/multiqueue.sh"
	exit 0
fi
# shellcheck source=tests/integration/lib.sh
. "$bench_root/tests/integration/lib.sh"
cd "$bench_root"
[ -x build/jetstreamctl ] || die "build/jetstreamctl is missing: run 'make build/jetstreamctl'"

runs="${RUNS:-5}"
trace_frames="${MQ_FRAMES:-400000}"
loops="${MQ_LOOPS:-5}"
frames=$((trace_frames * loops))
rate="${MQ_RATE:-topspeed}"
read -r -a modes <<<"${MQ_MODES:-direct software}"
if [ "$rate" = topspeed ]; then
	replay_rate=(--topspeed)
else
	replay_rate=(--pps="$rate")
fi

setup_veth_namespaces
# 30 sources with one source port each: about 30 x 20 destinations x 6 server ports TCP
# and UDP 5-tuples, a few thousand flows (ICMP echoes, 5 % of IPv4, are more); 64-byte
# frames, no VLAN tag (the veth could take it off into metadata)
mkdir -p build/bench
trace="build/bench/multiqueue.pcap"
trace_command="python3 scripts/gen_trace.py --packets $trace_frames --sources 30 --source-ports 1 --vlan-share 0 --size 64 --output $trace --oracle"
$trace_command >/dev/null
# what a run must count: the oracle times the loops
awk -F'\t' -v loops="$loops" 'BEGIN { OFS = "\t" } { print $1, $2 * loops, $3 * loops }' "$trace.src.tsv" \
	>"$work/expected.tsv"
arp_frames=$((frames - $(awk -F'\t' '{ sum += $2 } END { print sum + 0 }' "$work/expected.tsv")))

# pipeline FILE MODE: source (2 queues) -> flow_tracker x2 and per_src_counter x2 -> sinks.
pipeline() {
	local mapping=""
	[ "$2" = none ] || mapping=$'\n    queue_mapping: '"$2"
	cat >"$1" <<YAML
# make bench, row 11 ($2): written by scripts/bench/multiqueue.sh.
version: 1
kernels:
  rx:
    type: source
    port: "net_af_packet0,iface=$capture_interface,qpairs=2"
    queues: 2$mapping
  flows:
    type: flow_tracker
    input: rx
    replicas: 2
  count:
    type: per_src_counter
    input: rx
    replicas: 2
    window: total
  flows_out:
    type: sink
    input: flows
    format: jsonl
    path: "$work/flows.jsonl"
  count_out:
    type: sink
    input: count
    format: jsonl
    path: "$work/records.jsonl"
YAML
}

settings="$work/settings.yaml"
socket="$work/control.sock"
idle="${MQ_IDLE:-sleep}"
printf 'version: 1\ncontrol_socket: %s\nidle: %s\n' "$socket" "$idle" >"$settings"

# check_mode MODE: the daemon must accept the pipeline of MODE, or the row cannot be measured.
check_mode() {
	local status=0
	pipeline "$work/check.yaml" "$1"
	ip netns exec "$capture_namespace" build/jetstreamd -c "$settings" -p "$work/check.yaml" --check \
		>"$work/check.log" 2>&1 || status=$?
	[ "$status" -ne 78 ] || die "jetstreamd refuses the pipeline of queue_mapping: $1 (--check exit 78):" \
		"$(grep -v '^$' "$work/check.log" | head -5 | paste -sd ' ' -). This row needs the port source's" \
		"queue_mapping key (direct | software); run it once the daemon has it (MQ_MODES=none checks the script)"
	[ "$status" -eq 0 ] || die "jetstreamd --check exit $status for queue_mapping: $1: $(tail -5 "$work/check.log")"
}

# measure MODE: one run; sets measured_ns (busy ns per packet), measured_peak (pps) and
# measured_flows. Not in a subshell: the daemon is cleaned up by this shell.
measure() {
	local mode="$1" poller replies="$work/replies_$1.jsonl" received processed drops unread
	pipeline "$work/multiqueue_$mode.yaml" "$mode"
	rm -f "$work/records.jsonl" "$work/flows.jsonl" "$replies"
	ready_count=$((ready_count + 1))
	ip netns exec "$capture_namespace" build/jetstreamd -c "$settings" -p "$work/multiqueue_$mode.yaml" \
		2>"$work/stderr" &
	running_pid=$!
	wait_notify READY=1 "$ready_count" 20
	sleep 1 # past start-up, and a first one-second tick
	(
		while :; do
			build/jetstreamctl -s "$socket" status --json 2>/dev/null | tr -d '\n' || true
			echo
			sleep 0.2
		done
	) >"$replies" &
	poller=$!
	# tcpreplay (and the veth's delivery into the socket rings, in its softirq) on CPU 0, the
	# control thread's, so that the worker's CPU does only the worker's work
	ip netns exec "$replay_namespace" taskset -c 0 tcpreplay --intf1="$replay_interface" "${replay_rate[@]}" --loop="$loops" "$trace" \
		>"$work/tcpreplay.log" 2>&1 || { kill "$poller"; die "tcpreplay failed: $(cat "$work/tcpreplay.log")"; }
	kill "$poller"
	wait "$poller" 2>/dev/null || true
	grep -Eq "Successful packets: +$frames\$" "$work/tcpreplay.log" ||
		die "tcpreplay did not send all $frames frames: $(grep -i packets "$work/tcpreplay.log")"
	stop_live_capture >/dev/null
	read_live_summary >/dev/null
	read -r received processed drops unread < <(accounting_line_figures "$work/stderr" rx) ||
		die "no accounting line for source rx: $(tail -5 "$work/stderr")"
	[ "$received" = "$((processed + drops + unread))" ] ||
		die "$mode: received $received != processed $processed + drops $drops + unread $unread"
	if [ "$drops" != 0 ] || [ "$unread" != 0 ]; then
		die "$mode: $drops frames dropped, $unread unread (received $received): the worker could not keep up; set MQ_RATE (packets per second) below the rate it sustains"
	fi
	check_live_summary "$frames" "$arp_frames" >/dev/null
	records_tool totals "$work/records.jsonl" count >"$work/actual.tsv"
	cmp -s "$work/expected.tsv" "$work/actual.tsv" ||
		die "$mode: per-source totals differ from the oracle (diff $work/expected.tsv $work/actual.tsv)"
	read -r measured_ns _ measured_lcores measured_peak measured_share < <(python3 scripts/bench/busy_per_packet.py "$replies") ||
		die "$mode: no busy figure from $replies"
	measured_flows=$(wc -l <"$work/flows.jsonl")
	cp "$work/multiqueue_$mode.yaml" "build/bench/multiqueue_$mode.yaml"
}

for mode in "${modes[@]}"; do
	check_mode "$mode"
done
start_notify_listener
ready_count=0
declare -A busy peaks shares
flows=0 lcores=0
for ((run = 1; run <= runs; run++)); do
	line="multiqueue: run $run/$runs:"
	for mode in "${modes[@]}"; do
		measure "$mode"
		busy[$mode]="${busy[$mode]:-} $measured_ns"
		shares[$mode]="${shares[$mode]:-} $measured_share"
		peaks[$mode]="${peaks[$mode]:-} $measured_peak"
		flows="$measured_flows" lcores="$measured_lcores"
		line="$line $mode $measured_ns ns/packet (peak $measured_peak pps, busy $measured_share);"
	done
	echo "$line"
done

command="scripts/bench/multiqueue.sh  # veth pair in namespaces, tcpreplay ${replay_rate[*]}, busy from jetstreamctl status --json"
label=(a b)
index=0
declare -A medians
for mode in "${modes[@]}"; do
	read -r -a values <<<"${busy[$mode]}"
	read -r -a rates <<<"${peaks[$mode]}"
	read -r -a busy_shares <<<"${shares[$mode]}"
	medians[$mode]=$(awk -v m="$(median "${values[@]}")" 'BEGIN { printf "%.1f", m }')
	record multiqueue "11${label[index]:-x} queue_mapping: $mode, worker busy per packet" "${medians[$mode]} ns/packet" "$runs" \
		"min-max $(min_seconds "${values[@]}")-$(max_seconds "${values[@]}"); per run: $(joined "${values[@]}"); $frames frames of 64 B per run ($trace_frames x $loops loops, $flows flows), all counted, 0 dropped, per-source totals = oracle; $lcores worker lcores, idle: $idle; peak source rate per run (pps): $(joined "${rates[@]}"); worker busy share per run: $(joined "${busy_shares[@]}")" \
		"$command"
	index=$((index + 1))
done
if [ -n "${medians[direct]:-}" ] && [ -n "${medians[software]:-}" ]; then
	record multiqueue "11c the source-to-replica hop (software - direct)" \
		"$(awk -v s="${medians[software]}" -v d="${medians[direct]}" 'BEGIN { printf "%.1f", s - d }') ns/packet" "-" \
		"difference of the medians; software / direct = $(ratio "${medians[software]}" "${medians[direct]}")x" "-"
fi
echo "$trace_command; tcpreplay ${replay_rate[*]} --loop=$loops" >build/bench/multiqueue_trace_command
