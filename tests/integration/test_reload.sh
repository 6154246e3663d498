#!/usr/bin/env bash
# Live reload (SIGHUP) on a finite, paced source loses nothing and keeps state.
#
# A generated trace is read L times at a fixed rate (`rate_pps`), so the run
# lasts about RUN_SECONDS. While it runs, the pipeline file (or the settings
# file) is rewritten atomically and SIGHUP sent, 50 valid and 5 invalid times,
# each time after the previous reload has answered READY=1. The valid ones
# add, change and remove thresholds and a second sink, and move a threshold
# between a counter and the main sink; the `count` counter (window: total)
# never changes, so it is kept with its state, and its records at the end must
# equal L times the oracle exactly. The invalid ones (YAML syntax error,
# unknown kernel type, cycle, refused changes of mempool_size and memory) must
# each log the same file:line:col errors as --check (or name the refused key),
# `reload failed: keeping generation N`, send STATUS=reload failed, and change
# nothing.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"

frames=20000
rate_pps=100000
run_seconds="${RUN_SECONDS:-12}"
passes=$((run_seconds * rate_pps / frames)) # L
valid_reloads=50
reload_timeout=10 # seconds from SIGHUP to READY=1 before the test fails
pause=0.05        # seconds between READY=1 and the next SIGHUP

trace="$work/trace.pcap"
python3 "$repo_root/scripts/gen_trace.py" --packets "$frames" --sources 300 --seed 21 \
	--output "$trace" --oracle
settings="$work/settings.yaml"
pipeline="$work/pipeline.yaml"
records="$work/main.jsonl"
second_records="$work/second.jsonl"

# write_settings MEMPOOL_SIZE MEMORY: the settings file, listing the pipeline file.
write_settings() {
	replace_file "$settings" <<EOF
version: 1
log_level: info
mempool_size: $1
memory: $2
pipelines:
  - pipeline.yaml
EOF
}

# The pipeline, from the state of these variables:
#   alarm_above: '' or the `above` of threshold `alarm` (pkts), which then sits between the
#                per-second counter and the main sink (the sink reads alarm, not per_second);
#   bytes_above: '' or the `above` of threshold `alarm_bytes` (bytes), beside it;
#   copy:        1 when the second sink `copy` (count and per_second) is present.
alarm_above="" bytes_above="" copy=0
pipeline_text() {
	local out_inputs="count"
	if [ -n "$alarm_above" ]; then out_inputs+=", alarm"; else out_inputs+=", per_second"; fi
	[ -z "$bytes_above" ] || out_inputs+=", alarm_bytes"
	cat <<EOF
version: 1
kernels:
  rx:
    type: source
    pcap: "$trace"
    loop: $passes
    rate_pps: $rate_pps
$(pipeline_counter count rx total)
$(pipeline_counter per_second rx 1s)
EOF
	[ -z "$alarm_above" ] || cat <<EOF
  alarm:
    type: threshold
    input: per_second
    metric: pkts
    above: $alarm_above
EOF
	[ -z "$bytes_above" ] || cat <<EOF
  alarm_bytes:
    type: threshold
    input: per_second
    metric: bytes
    above: $bytes_above
EOF
	[ "$copy" -eq 0 ] || cat <<EOF
  copy:
    type: sink
    input: [count, per_second]
    path: "$second_records"
EOF
	cat <<EOF
  out:
    type: sink
    input: [$out_inputs]
    format: jsonl
    path: "$records"
EOF
}

# The invalid pipelines, each the current one with one mistake. Line numbers are those
# --check reports, so the test does not depend on where the mistake lands.
invalid_pipeline() {
	case "$1" in
	syntax) pipeline_text | sed 's/^    window: 1s$/    window: [1s/' ;;
	unknown_type) pipeline_text | sed '0,/^    type: per_src_counter$/s//    type: per_src_countr/' ;;
	cycle)
		pipeline_text
		cat <<EOF
  loop_a:
    type: threshold
    input: loop_b
    above: 1
  loop_b:
    type: threshold
    input: loop_a
    above: 1
EOF
		;;
	esac
}

# Which reload (1-based) is invalid, and how; the others are valid.
declare -A invalid_at=([7]=syntax [18]=unknown_type [29]=cycle [40]=mempool_size [51]=memory)
total_reloads=$((valid_reloads + ${#invalid_at[@]}))

# glob_escape: standard input with the characters special in a bash pattern escaped.
glob_escape() {
	sed 's/[][*?\\]/\\&/g'
}

write_settings 16383 512M
pipeline_text | replace_file "$pipeline"
"$jetstreamd" --check -c "$settings" >/dev/null || fail "the first pipeline does not pass --check"

echo "checks: $passes passes of a $frames-frame trace at $rate_pps pps (~$run_seconds s), $total_reloads SIGHUPs"
echo "        ($valid_reloads valid, ${#invalid_at[@]} invalid), each after READY=1 of the previous one"
start_notify_listener
"$jetstreamd" -c "$settings" 2>"$work/stderr" &
running_pid=$!
wait_notify READY=1 1 20
start_time=$SECONDS

generation=1
expected_log=() # what `records_tool reloads` must print, in order (lines starting with "glob " are patterns)
expected_status=()
expected_actions=() # "GENERATION ACTION KERNEL" lines `records_tool reload-actions` must print
alarm_values=() bytes_values=()
valid=0
for ((reload = 1; reload <= total_reloads; reload++)); do
	kind="${invalid_at[$reload]:-valid}"
	case "$kind" in
	valid)
		valid=$((valid + 1))
		# ten steps, each changing one thing, repeated
		case $((valid % 10)) in
		1) alarm_above=$((150 + valid)) && change="added alarm" ;; # between per_second and out
		2 | 4) alarm_above=$((150 + valid)) && change="changed alarm" ;;
		3 | 7 | 0)
			copy=$((1 - copy))
			change="$(if [ "$copy" -eq 1 ]; then echo added; else echo removed; fi) copy"
			;;
		5) bytes_above=$((100000 + valid * 100)) && change="added alarm_bytes" ;;
		6) alarm_above="" && change="removed alarm" ;; # out reads per_second again
		8) bytes_above=$((100000 + valid * 100)) && change="changed alarm_bytes" ;;
		9) bytes_above="" && change="removed alarm_bytes" ;;
		esac
		[ -z "$alarm_above" ] || alarm_values+=("$alarm_above")
		[ -z "$bytes_above" ] || bytes_values+=("$bytes_above")
		pipeline_text | replace_file "$pipeline"
		generation=$((generation + 1))
		expected_actions+=("$generation $change")
		expected_log+=("ok $generation")
		expected_status+=("STATUS=generation $generation: *")
		;;
	syntax | unknown_type | cycle)
		invalid_pipeline "$kind" | replace_file "$pipeline"
		# the reload must log the errors --check finds in the same files
		status=0
		"$jetstreamd" --check -c "$settings" >"$work/check" 2>&1 || status=$?
		[ "$status" -eq 78 ] || { cat "$work/check"; fail "--check of the $kind pipeline exited $status, expected 78"; }
		[ "$kind" != cycle ] || grep -q ': error: cycle: ' "$work/check" || { cat "$work/check"; fail "--check reports no cycle"; }
		while IFS= read -r line; do expected_log+=("error $line"); done <"$work/check"
		expected_log+=("failed $generation")
		first_error="$(head -n 1 "$work/check")"
		expected_status+=("STATUS=reload failed: *$(glob_escape <<<"${first_error#*: error: }")")
		;;
	mempool_size)
		write_settings 8191 512M
		expected_log+=("glob error $(glob_escape <<<"$settings"):3:*: error: *mempool_size*" "failed $generation")
		expected_status+=("STATUS=reload failed: *mempool_size*")
		;;
	memory)
		write_settings 16383 256M
		expected_log+=("glob error $(glob_escape <<<"$settings"):4:*: error: *memory*" "failed $generation")
		expected_status+=("STATUS=reload failed: *memory*")
		;;
	esac
	kill -HUP "$running_pid" 2>/dev/null || fail "jetstreamd exited before reload $reload (after $((SECONDS - start_time)) s)"
	wait_notify RELOADING=1 "$reload" "$reload_timeout"
	wait_notify READY=1 $((reload + 1)) "$reload_timeout"
	if [ "$kind" != valid ]; then
		# put the valid files back; the next SIGHUP reloads them
		write_settings 16383 512M
		pipeline_text | replace_file "$pipeline"
	fi
	sleep "$pause" # traffic between reloads: windows close, thresholds alert
done
kill -0 "$running_pid" 2>/dev/null ||
	fail "the input ran out before the last reload: raise RUN_SECONDS (reloads took $((SECONDS - start_time)) s)"
reload_seconds=$((SECONDS - start_time))
echo "  ok: $total_reloads reloads answered in $reload_seconds s, jetstreamd still running"

wait_exit $((run_seconds + 30))
[ "$exit_status" -ne 255 ] || fail "jetstreamd still runs $((run_seconds + 30)) s after the last reload"
[ "$exit_status" -eq 0 ] || { sed 's/^/    /' "$work/stderr"; fail "exit status $exit_status at the end of input, expected 0"; }
echo "  ok: exit status 0 at the end of input, $((SECONDS - start_time)) s after READY=1"

# sd_notify: READY=1, then per reload RELOADING=1 (with a CLOCK_MONOTONIC time) and READY=1.
messages="$(awk -F'\t' '{ for (i = 2; i <= NF; i++) if ($i == "READY=1" || $i == "RELOADING=1") printf "%s ", $i }' \
	"$work/notify.messages")"
expected_messages="READY=1 $(for ((i = 0; i < total_reloads; i++)); do printf 'RELOADING=1 READY=1 '; done)"
[ "$messages" = "$expected_messages" ] ||
	fail "sd_notify messages out of order (first field of each): $messages"
for ((reload = 1; reload <= total_reloads; reload++)); do
	message="$(notify_message RELOADING=1 "$reload")"
	arrived="${message%%$'\t'*}"
	stamp="$(tr '\t' '\n' <<<"$message" | sed -n 's/^MONOTONIC_USEC=//p')"
	[[ "$stamp" =~ ^[0-9]+$ ]] || fail "RELOADING=1 number $reload has no MONOTONIC_USEC=: $message"
	# sent just before it arrived, on the same clock
	if [ "$stamp" -gt "$arrived" ] || [ $((arrived - stamp)) -ge 1000000 ]; then
		fail "RELOADING=1 number $reload: MONOTONIC_USEC=$stamp, but it arrived at $arrived (CLOCK_MONOTONIC, us)"
	fi
	message="$(notify_message READY=1 $((reload + 1)))"
	status_field="$(tr '\t' '\n' <<<"$message" | grep '^STATUS=' || true)"
	# shellcheck disable=SC2053 # the expected status is a pattern
	[[ "$status_field" == ${expected_status[reload - 1]} ]] ||
		fail "reload $reload: READY=1 came with '$status_field', expected '${expected_status[reload - 1]}'"
done
echo "  ok: each SIGHUP sent RELOADING=1 with MONOTONIC_USEC=, then READY=1 with the expected STATUS="
echo "      e.g. $(notify_message READY=1 $((total_reloads + 1)) | cut -f 3-) (the last)"
first_invalid="$(printf '%s\n' "${!invalid_at[@]}" | sort -n | head -n 1)"
echo "      and $(notify_message READY=1 $((first_invalid + 1)) | cut -f 3-) (the first invalid)"

# The log: per reload, its errors and `reload failed: keeping generation N`, or
# `reload: generation N running:`; then the summary of the last generation.
expected_log+=("summary $generation")
records_tool reloads "$work/stderr" >"$work/reloads"
mapfile -t actual_log <"$work/reloads"
for ((i = 0; i < ${#expected_log[@]} || i < ${#actual_log[@]}; i++)); do
	expected="${expected_log[i]:-(nothing)}" actual="${actual_log[i]:-(nothing)}"
	if [[ "$expected" == "glob "* ]]; then
		# shellcheck disable=SC2053 # a pattern
		[[ "$actual" == ${expected#glob } ]] && continue
	else
		[ "$actual" = "$expected" ] && continue
	fi
	echo "  the reload lines of the log (records_tool reloads), from line $((i > 3 ? i - 2 : 1)):"
	sed -n "$((i > 3 ? i - 2 : 1)),$((i + 4))p" "$work/reloads" | sed 's/^/    /'
	fail "reload log line $((i + 1)): expected '$expected', found '$actual'"
done
echo "  ok: the log has generations 2..$generation in order, each invalid reload's errors (as --check"
echo "      prints them) and 'keeping generation N', and 'summary (generation $generation)'"
records_tool reload-actions "$work/stderr" >"$work/actions"
for action in "${expected_actions[@]}"; do
	grep -Fxq "$action" "$work/actions" || { grep 'reload: generation' "$work/stderr"; fail "generation ${action%% *} should have ${action#* }"; }
done
[ "$(grep -c ' kept count$' "$work/actions")" -eq "$valid_reloads" ] ||
	{ grep 'reload: generation' "$work/stderr"; fail "count (unchanged) should be kept by every reload"; }
echo "  ok: the log names each reload's change (added/changed/removed alarm, alarm_bytes, copy); count kept by all"

packets="$(records_tool summary "$work/stderr" packets)" || { cat "$work/stderr"; fail "no exit summary"; }
dropped="$(records_tool summary "$work/stderr" dropped)"
[ "$packets" -eq $((passes * frames)) ] || fail "the summary counts $packets packets, $((passes * frames)) were read"
[ "$dropped" = 0 ] || fail "$dropped packets dropped"
echo "  ok: summary: $packets packets ($passes passes), 0 dropped"

records_tool scale "$trace.src.tsv" "$passes" >"$work/expected.tsv"
records_tool totals "$records" count >"$work/actual.tsv"
diff -u "$work/expected.tsv" "$work/actual.tsv" >"$work/diff" ||
	{ head -n 30 "$work/diff"; fail "count (kept over $valid_reloads reloads): per-source totals differ from $passes x the oracle"; }
echo "  ok: count, kept over $valid_reloads reloads: each of $(wc -l <"$work/actual.tsv") sources = $passes x its oracle count"

# the last pipeline has the second sink: it gets count's records too
[ "$copy" -eq 1 ] || fail "the last pipeline should have the second sink (the test's steps changed)"
records_tool totals "$second_records" count >"$work/second.tsv"
diff -u "$work/expected.tsv" "$work/second.tsv" >"$work/diff" ||
	{ head -n 30 "$work/diff"; fail "the second sink, present at the end, has other totals for count"; }
echo "  ok: the second sink, present at the end, has the same totals for count"

# Alerts: from exactly the two thresholds, each above one of the limits it was given.
records_tool alert-thresholds "$records" >"$work/alerts" || { cat "$work/alerts"; fail "bad alert records"; }
kernels="$(awk '{ print $1 }' "$work/alerts" | sort -u | tr '\n' ' ')"
[ "$kernels" = "alarm alarm_bytes " ] || { cat "$work/alerts"; fail "alerts came from '$kernels', expected 'alarm alarm_bytes '"; }
while read -r kernel metric threshold _; do
	case "$kernel" in
	alarm) [ "$metric" = pkts ] && [[ " ${alarm_values[*]} " == *" $threshold "* ]] ;;
	alarm_bytes) [ "$metric" = bytes ] && [[ " ${bytes_values[*]} " == *" $threshold "* ]] ;;
	esac || fail "an alert of $kernel has metric $metric and threshold $threshold, never configured"
done <"$work/alerts"
echo "  ok: $(awk '{ n += $4 } END { print n }' "$work/alerts") alerts, from alarm and alarm_bytes only, with $(wc -l <"$work/alerts") of the limits they were given"
# Every record line of both files is JSON (read_records stops on the first that is not).
records_tool kinds "$records" >/dev/null
records_tool kinds "$second_records" >/dev/null
echo "ok: $valid_reloads reloads kept count's state and lost no packet; ${#invalid_at[@]} invalid ones changed nothing"
