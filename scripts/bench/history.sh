#!/usr/bin/env bash
# Row 9: the history kernel on one worker lcore.
#   10a-10f synthetic -> passthrough -> sink(null) against synthetic -> history -> sink(null),
#         in the same run, at 64-byte and 1500-byte frames, history with snaplen 0 (whole
#         frames) and 128. Mpps = packets / elapsed of the daemon's exit summary. The
#         seconds of 10 Gbit/s line rate 1 GiB holds follow from the record size (16 bytes
#         + the captured length rounded up to 8) and the line rate (frame + 20 bytes of
#         preamble and gap): what a ring of `memory: 1G` looks back at such traffic.
#   10g the time to write a 10-second dump: a generated trace of 1,000,000 64-byte frames
#      over 10 s from one source; a `window: total` counter and `above: 0` threshold
#      trigger once, at the last packet, so the dump of [T - 10s, T] is written wholly
#      from the ring: from the file's opening to its rename, as the daemon logs it.
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
. "$(dirname "$0")/lib.sh"
cd "$repo_root"

runs="${RUNS:-5}"
packets="${SYNTHETIC_PACKETS:-20000000}"
mkdir -p build/bench

# history_pipeline FILE ROW SIZE SNAPLEN: synthetic -> history -> sink(null), one lcore
history_pipeline() {
	cat >"$1" <<YAML
# make bench, row $2: written by scripts/bench; run from the repository root.
version: 1
kernels:
  rx:
    type: source
    synthetic: {packets: $packets, sources: 1024, size: $3}
    cores: 1
  cap:
    type: history
    input: rx
    snaplen: $4
    memory: 1G
    dump_dir: build/bench
    cores: 1
  out:
    type: sink
    input: cap
    format: null
    cores: 1
YAML
}

run_rate() {
	local result count elapsed
	result=$(run_summary "$1" "$2")
	read -r count elapsed <<<"$result"
	[ "$count" -eq "$packets" ] || die "$1: $count packets, expected $packets"
	mpps "$count" "$elapsed"
}

# seconds_per_gib FRAME SNAPLEN: seconds of 10 Gbit/s line rate held by 1 GiB
seconds_per_gib() {
	awk -v frame="$1" -v snaplen="$2" 'BEGIN {
		captured = (snaplen == 0 || snaplen > frame) ? frame : snaplen
		record = 16 + int((captured + 7) / 8) * 8
		pps = 10e9 / ((frame + 20) * 8)
		printf "%.2f", 1073741824 / (pps * record) }'
}

for size in 64 1500; do
	passthrough_pipeline "build/bench/history_pass_$size.yaml" 9 \
		"synthetic: {packets: $packets, sources: 1024, size: $size}" 1
	for snaplen in 0 128; do
		history_pipeline "build/bench/history_${size}_$snaplen.yaml" 9 "$size" "$snaplen"
	done
done

row=a
for size in 64 1500; do
	pass=() whole=() cut=()
	for ((run = 1; run <= runs; run++)); do
		pass+=("$(run_rate "build/bench/history_pass_$size.yaml" build/bench/history_pass.stderr)")
		whole+=("$(run_rate "build/bench/history_${size}_0.yaml" build/bench/history_whole.stderr)")
		cut+=("$(run_rate "build/bench/history_${size}_128.yaml" build/bench/history_cut.stderr)")
		echo "history: ${size}-byte frames, run $run/$runs: passthrough ${pass[-1]}, history ${whole[-1]} (snaplen 0), ${cut[-1]} (snaplen 128) Mpps"
	done
	range() { printf '%s\n' "$@" | sort -g | sed -n '1p;$p' | paste -sd '-' -; }
	record history "10$row synthetic ${size}B -> passthrough -> sink(null), one lcore" \
		"$(two_decimals "$(median "${pass[@]}")") Mpps" "$runs" \
		"the same run's baseline; min-max $(range "${pass[@]}")" \
		"build/jetstreamd -p build/bench/history_pass_$size.yaml"
	row=$(echo "$row" | tr 'a-e' 'b-f')
	record history "10$row synthetic ${size}B -> history (snaplen 0) -> sink(null)" \
		"$(two_decimals "$(median "${whole[@]}")") Mpps" "$runs" \
		"1 GiB holds $(seconds_per_gib "$size" 0) s of 10 Gbit/s; min-max $(range "${whole[@]}")" \
		"build/jetstreamd -p build/bench/history_${size}_0.yaml"
	row=$(echo "$row" | tr 'a-e' 'b-f')
	record history "10$row synthetic ${size}B -> history (snaplen 128) -> sink(null)" \
		"$(two_decimals "$(median "${cut[@]}")") Mpps" "$runs" \
		"1 GiB holds $(seconds_per_gib "$size" 128) s of 10 Gbit/s; min-max $(range "${cut[@]}")" \
		"build/jetstreamd -p build/bench/history_${size}_128.yaml"
	row=$(echo "$row" | tr 'a-e' 'b-f')
done

# 9g: a 10-second dump written from the ring
trace=build/bench/history_10s.pcap
[ -s "$trace" ] || python3 scripts/gen_trace.py --packets 1000000 --duration 10 --size 64 \
	--heavy-share 1.0 --arp-share 0 --vlan-share 0 --output "$trace" >/dev/null
dump_pipeline=build/bench/history_dump.yaml
cat >"$dump_pipeline" <<YAML
# make bench, row 10g: written by scripts/bench; run from the repository root.
version: 1
kernels:
  rx:
    type: source
    pcap: $trace
  count:
    type: per_src_counter
    input: rx
    window: total
  alarm:
    type: threshold
    input: count
    above: 0
  cap:
    type: history
    input: rx
    trigger: alarm
    dump_key: src
    before: 10s
    after: 0s
    memory: 256M
    dump_dir: build/bench/history_dumps
YAML
times=()
for ((run = 1; run <= runs; run++)); do
	rm -rf build/bench/history_dumps && mkdir -p build/bench/history_dumps
	build/jetstreamd -p "$dump_pipeline" >/dev/null 2>build/bench/history_dump.stderr ||
		die "$dump_pipeline failed: $(tail -5 build/bench/history_dump.stderr)"
	line=$(grep "kernel 'cap': dump 1 done" build/bench/history_dump.stderr) ||
		die "no dump in build/bench/history_dump.stderr"
	written=$(sed -E 's/.*, ([0-9]+) packets in ([0-9.]+) s.*/\1/' <<<"$line")
	[ "$written" -eq 1000000 ] || die "the dump holds $written packets, expected 1000000"
	times+=("$(sed -E 's/.*, ([0-9]+) packets in ([0-9.]+) s.*/\2/' <<<"$line")")
	echo "history: 10-second dump, run $run/$runs: ${times[-1]} s"
done
record history "10g time to write a 10-second dump (1,000,000 64B packets, 80 MB file)" \
	"$(median "${times[@]}") s" "$runs" \
	"from the ring to a renamed pcapng file on the writer thread; min-max $(printf '%s\n' "${times[@]}" | sort -g | sed -n '1p;$p' | paste -sd '-' -)" \
	"build/jetstreamd -p $dump_pipeline"
