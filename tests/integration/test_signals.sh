#!/usr/bin/env bash
# SIGTERM (and SIGINT, SIGQUIT) stops a never-ending source gracefully: exit
# 0, the exit summary is printed, and the records account for every packet
# read. SIGUSR1 (reopen), SIGUSR2 (a status line), SIGALRM and SIGRTMIN+3 (ignored), sent
# before, leave it running and lose nothing. The file is read
# over and over (`loop: forever`), so after T packets the count of each source
# must be exactly (T div N) times its count in the file plus its count in the
# first (T mod N) frames of the file, N being the frames in the file.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"

trace="$work/trace.pcap"
frames=20000
python3 "$repo_root/scripts/gen_trace.py" --packets "$frames" --sources 300 --seed 11 \
	--output "$trace" --oracle
start_notify_listener
for signal in TERM INT QUIT; do
	records="$work/records.$signal.jsonl"
	: >"$work/notify.log"
	write_counter_pipeline "$work/forever.yaml" $'pcap: "'"$trace"$'"\nloop: forever' "window: total" "$records"

	echo "checks: loop: forever + SIGUSR1, SIGUSR2, SIGALRM, then SIG$signal 1 s after READY=1 -> exit 0, a summary, and exact records"
	"$jetstreamd" -p "$work/forever.yaml" 2>"$work/stderr" &
	running_pid=$!
	wait_ready 20
	for other in USR1 USR2 ALRM RTMIN+3; do
		kill -"$other" "$running_pid"
		sleep 0.3
		kill -0 "$running_pid" 2>/dev/null || { cat "$work/stderr"; fail "SIG$other ended jetstreamd"; }
	done
	grep -q "^jetstreamd: info: kernel 'out': reopened $records\$" "$work/stderr" || fail "SIGUSR1 did not reopen $records"
	grep -Eq '^jetstreamd: info: status: generation 1, up [0-9]+ s, [0-9]+ packets received' "$work/stderr" ||
		fail "SIGUSR2 logged no status line"
	grep -q '^jetstreamd: info: Alarm clock (signal 14): ignored$' "$work/stderr" || fail "SIGALRM was not logged as ignored"
	grep -q "^jetstreamd: info: Real-time signal 3 (signal $(kill -l RTMIN+3)): ignored\$" "$work/stderr" ||
		fail "SIGRTMIN+3 was not logged as ignored"
	echo "  ok: SIGUSR1 reopened the records file, SIGUSR2 logged the status, SIGALRM and SIGRTMIN+3 were ignored; still running"
	sleep 0.4
	kill -"$signal" "$running_pid"
	wait_exit 30
	[ "$exit_status" -ne 255 ] || fail "jetstreamd still runs 30 s after SIG$signal"
	[ "$exit_status" -eq 0 ] || { cat "$work/stderr"; fail "exit status $exit_status after SIG$signal, expected 0"; }
	echo "  ok: exit status 0 after SIG$signal"
	grep -q '^STOPPING=1' "$work/notify.log" || fail "no STOPPING=1 sent to systemd"
	echo "  ok: STOPPING=1 sent to systemd"

	packets="$(records_tool summary "$work/stderr" packets)" || { cat "$work/stderr"; fail "no exit summary"; }
	read_packets="$(records_tool summary "$work/stderr" rx.packets)"
	non_ip="$(records_tool summary "$work/stderr" rx.non_ip_packets)"
	unkeyed="$(records_tool summary "$work/stderr" count.unkeyed_packets)"
	dropped="$(records_tool summary "$work/stderr" dropped)"
	echo "  ok: summary: $packets packets ($((packets / frames)) passes and $((packets % frames)) frames), $non_ip non-IP, $dropped dropped"
	[ "$packets" = "$read_packets" ] || fail "summary total $packets != rx packets=$read_packets"
	[ "$dropped" = 0 ] || fail "$dropped packets dropped"
	[ "$non_ip" = "$unkeyed" ] || fail "rx non_ip_packets=$non_ip but count unkeyed_packets=$unkeyed"
	[ "$packets" -gt "$frames" ] || fail "only $packets packets read in about 1 s: the file was not looped"
	[ -s "$records" ] || fail "the records file is empty"

	records_tool totals "$records" >"$work/actual.tsv"
	in_records="$(awk -F'\t' '{ sum += $2 } END { print sum + 0 }' "$work/actual.tsv")"
	[ "$in_records" -eq $((packets - non_ip)) ] ||
		fail "records hold $in_records packets, the source read $packets of which $non_ip non-IP"
	echo "  ok: records hold $in_records packets = $packets read - $non_ip non-IP"

	# Expected: every whole pass counted, plus the first (packets mod frames) frames of the file.
	records_tool scale "$trace.src.tsv" $((packets / frames)) >"$work/whole_passes.tsv"
	records_tool prefix "$trace" $((packets % frames)) >"$work/last_pass.tsv"
	records_tool add "$work/whole_passes.tsv" "$work/last_pass.tsv" >"$work/expected.tsv"
	diff -u "$work/expected.tsv" "$work/actual.tsv" >"$work/diff" ||
		{ head -n 30 "$work/diff"; fail "per-source counts are not the whole passes plus the file's prefix"; }
	echo "  ok: each of $(wc -l <"$work/actual.tsv") sources = passes x its oracle count + its count in the partial pass"
done
echo "ok: SIGTERM, SIGINT and SIGQUIT drain the graph and lose nothing; SIGUSR1, SIGUSR2 and SIGALRM do not stop it"
