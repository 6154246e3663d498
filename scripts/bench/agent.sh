#!/usr/bin/env bash
# Row 6: agent mode (`idle: sleep`), the CPU the daemon takes beside production
# work, over af_packet on a veth pair in network namespaces made here (as the
# integration tests make them; needs root and tcpreplay):
#   6a idle: nothing arrives for SECONDS_IDLE s;
#   6b 150 kpps: tcpreplay --pps=150000 replays a 64-byte-frame trace;
#   6c/6d the same two with the default `idle: poll`, for comparison.
# CPU = the daemon's utime + stime (/proc/PID/stat, all its threads) over the
# measured interval, in % of one core. Every replayed frame must be counted,
# with 0 dropped, or the run fails.
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
. "$(dirname "$0")/lib.sh"
bench_root="$repo_root"
if [ "$(id -u)" -ne 0 ] || ! command -v tcpreplay >/dev/null; then
	record agent "6 agent mode" "not run: needs root and tcpreplay" "-" "-" "scripts/bench/agent.sh"
	exit 0
fi
# shellcheck source=tests/integration/lib.sh
. "$bench_root/tests/integration/lib.sh"
cd "$bench_root"

runs="${RUNS:-5}"
seconds_idle="${SECONDS_IDLE:-5}"
replay_frames="${AGENT_FRAMES:-450000}" # 3 s at 150 kpps
ticks_per_second=$(getconf CLK_TCK)

setup_veth_namespaces
trace="$work/agent.pcap"
python3 scripts/gen_trace.py --packets "$replay_frames" --sources 1000 --vlan-share 0 --size 64 \
	--output "$trace" --oracle >/dev/null
frames="$replay_frames"
arp_frames=$((frames - $(awk -F'\t' '{ sum += $2 } END { print sum + 0 }' "$trace.src.tsv")))

# process_ticks PID: utime + stime of the whole process, in clock ticks.
process_ticks() {
	awk '{ print $14 + $15 }' "/proc/$1/stat"
}

# percent TICKS SECONDS: % of one core.
percent() {
	awk -v t="$1" -v s="$2" -v hz="$ticks_per_second" 'BEGIN { printf "%.1f", 100 * t / hz / s }'
}

# measure MODE: one run; sets measured_idle and measured_busy (% of a core). Not run in a
# subshell: the daemon and the notify listener it starts are cleaned up by this shell.
measure() {
	local mode="$1" before after start end
	printf 'version: 1\nidle: %s\n' "$mode" >"$work/settings.yaml"
	write_counter_pipeline "$work/agent.yaml" "port: \"net_af_packet0,iface=$capture_interface\"" \
		"window: total" "$work/records.jsonl"
	ready_count=$((ready_count + 1))
	ip netns exec "$capture_namespace" "$jetstreamd" -c "$work/settings.yaml" -p "$work/agent.yaml" \
		2>"$work/stderr" &
	running_pid=$!
	wait_notify READY=1 "$ready_count" 20
	sleep 1 # past start-up
	before=$(process_ticks "$running_pid")
	start=$(now_ns)
	sleep "$seconds_idle"
	measured_idle=$(percent "$(($(process_ticks "$running_pid") - before))" "$(elapsed_s "$start" "$(now_ns)")")
	before=$(process_ticks "$running_pid")
	start=$(now_ns)
	ip netns exec "$replay_namespace" tcpreplay --intf1="$replay_interface" --pps=150000 "$trace" \
		>"$work/tcpreplay.log" 2>&1 || die "tcpreplay failed: $(cat "$work/tcpreplay.log")"
	end=$(now_ns)
	after=$(process_ticks "$running_pid")
	measured_busy=$(percent "$((after - before))" "$(elapsed_s "$start" "$end")")
	grep -Eq "Successful packets: +$frames\$" "$work/tcpreplay.log" || die "tcpreplay did not send all $frames frames"
	stop_live_capture >/dev/null
	read_live_summary >/dev/null
	check_live_summary "$frames" "$arp_frames" >/dev/null
}

start_notify_listener
ready_count=0
sleep_idle=() sleep_busy=() poll_idle=() poll_busy=()
for ((run = 1; run <= runs; run++)); do
	measure sleep
	sleep_idle+=("$measured_idle") sleep_busy+=("$measured_busy")
	measure poll
	poll_idle+=("$measured_idle") poll_busy+=("$measured_busy")
	echo "agent: run $run/$runs: idle: sleep ${sleep_idle[-1]} % idle, ${sleep_busy[-1]} % at 150 kpps;" \
		"idle: poll ${poll_idle[-1]} %, ${poll_busy[-1]} %"
done
command="scripts/bench/agent.sh  # veth pair in namespaces, tcpreplay --pps=150000, CPU from /proc/PID/stat"
record agent "6a idle: sleep, nothing arriving" "$(median "${sleep_idle[@]}") % of a core" "$runs" \
	"target <= 2 %; per run: $(joined "${sleep_idle[@]}")" "$command"
record agent "6b idle: sleep, 150 kpps of 64-byte frames (af_packet)" "$(median "${sleep_busy[@]}") % of a core" "$runs" \
	"target <= 15 %; all $frames frames counted, 0 dropped, each run; per run: $(joined "${sleep_busy[@]}")" "$command"
record agent "6c idle: poll (default), nothing arriving" "$(median "${poll_idle[@]}") % of a core" "$runs" \
	"per run: $(joined "${poll_idle[@]}")" "$command"
record agent "6d idle: poll (default), 150 kpps" "$(median "${poll_busy[@]}") % of a core" "$runs" \
	"per run: $(joined "${poll_busy[@]}")" "$command"
