#!/usr/bin/env bash
# The corpus of bad configuration files in tests/bad-configs/: each NAME.yaml
# has its first error line in NAME.yaml.expected (settings-*.yaml are daemon
# settings files, checked with -c beside a valid pipeline).
#
# 1. `jetstreamd --check` of each exits 78 and prints exactly that first line.
# 2. Files too large to keep in the corpus are made here: over the size limit,
#    over the value limit; a file with a BOM at its start is valid; SIGTERM and
#    SIGINT stop a --check that is still reading (a FIFO whose writer is quiet).
# 3. One daemon runs a valid pipeline with an endless synthetic source; each
#    bad file in turn replaces its pipeline (or settings) file, then SIGHUP:
#    the log prints the same first line, STATUS= says `reload failed: ` with
#    that line, generation 1 keeps running. A refused reload of a large file
#    leaves the resident size where it was. After the good files are back and
#    reloaded, SIGTERM: the counter's records hold every packet the source made.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"

corpus="$repo_root/tests/bad-configs"
good_pipeline="$corpus/good/pipeline.yaml"
reload_timeout=10

# check_command NAME: the arguments that --check a corpus file, from the corpus directory.
check_arguments() {
	if [[ "$1" == settings-* ]]; then
		echo "-c $1 -p good/pipeline.yaml"
	else
		echo "-p $1"
	fi
}

echo "checks: --check of each tests/bad-configs file exits 78 with its expected first error line"
cd "$corpus"
count=0
for file in *.yaml; do
	[ -f "$file.expected" ] || fail "$file has no $file.expected"
	expected="$(cat "$file.expected")"
	status=0
	# shellcheck disable=SC2046 # two or four words
	"$jetstreamd" --check $(check_arguments "$file") >"$work/stdout" 2>"$work/stderr" || status=$?
	first="$(head -n 1 "$work/stderr")"
	[ "$status" -eq 78 ] || { cat "$work/stderr"; fail "$file: --check exited $status, expected 78"; }
	[ "$first" = "$expected" ] || fail "$file: first error line
    expected: $expected
    found:    $first"
	count=$((count + 1))
done
[ "$count" -ge 60 ] || fail "only $count files in the corpus, expected at least 60"
echo "  ok: $count files, each exit 78 with the expected first line"

echo "checks: limits on made files; a BOM at the start; SIGTERM/SIGINT during --check"
cd "$work"
truncate -s 17M huge.yaml
status=0
"$jetstreamd" --check -p huge.yaml 2>"$work/stderr" || status=$?
[ "$status" -eq 78 ] && [ "$(cat "$work/stderr")" = "huge.yaml: error: the file is 17825792 bytes, more than the 16 MB a configuration file may have" ] ||
	{ cat "$work/stderr"; fail "a 17 MB file: exit $status"; }
echo "  ok: a 17 MB file: $(cat "$work/stderr")"
python3 -c 'print("version: 1\nkernels:\n  rx: [" + "1, " * 100001 + "1]")' >values.yaml
status=0
"$jetstreamd" --check -p values.yaml 2>"$work/stderr" || status=$?
[ "$status" -eq 78 ] && [ "$(cat "$work/stderr")" = "values.yaml:3:299987: error: more than 100000 values in one file (each key, value, list and mapping counts): the limit of a configuration file" ] ||
	{ cat "$work/stderr"; fail "100002 values: exit $status"; }
echo "  ok: 100002 values: $(cat "$work/stderr")"
printf '\xef\xbb\xbf' | cat - "$good_pipeline" >bom.yaml
run_ok "$work/stderr" --check -p bom.yaml
echo "  ok: a BOM at the start of a valid file: exit 0"

mkfifo quiet.yaml
for signal in TERM INT; do
	sleep 30 >quiet.yaml &
	writer=$!
	"$jetstreamd" --check -p quiet.yaml 2>"$work/stderr" &
	running_pid=$!
	sleep 0.3
	kill -0 "$running_pid" 2>/dev/null || { cat "$work/stderr"; fail "--check of a FIFO with a quiet writer did not wait for it"; }
	kill -"$signal" "$running_pid"
	wait_exit 2
	kill "$writer" 2>/dev/null || true
	wait "$writer" 2>/dev/null || true
	expected_status=$((128 + $(kill -l "$signal")))
	[ "$exit_status" -eq "$expected_status" ] ||
		{ cat "$work/stderr"; fail "SIG$signal during --check: exit status $exit_status (255: still running after 2 s), expected $expected_status"; }
	[ "$(cat "$work/stderr")" = "jetstreamd: SIG$signal while reading the configuration: stopping" ] ||
		{ cat "$work/stderr"; fail "SIG$signal during --check: unexpected stderr"; }
done
echo "  ok: SIGTERM and SIGINT stop a --check still reading: exit 143 and 130 within 2 s"

echo "checks: each bad file as a live reload is refused with the same line; generation 1 keeps running"
live="$work/live"
mkdir "$live"
cd "$live"
printf 'log_level: info\n' >settings.yaml
cp "$good_pipeline" pipeline.yaml
start_notify_listener
"$jetstreamd" -c settings.yaml -p pipeline.yaml 2>"$work/stderr" &
running_pid=$!
wait_notify READY=1 1 20

# reload_refused TARGET EXPECTED_LINE: SIGHUP with TARGET (pipeline.yaml or settings.yaml) bad;
# fails unless the reload logs EXPECTED_LINE first and keeps generation 1.
reloads=0
reload_refused() {
	local target="$1" expected="$2" log_lines first status_field
	log_lines="$(wc -l <"$work/stderr")"
	reloads=$((reloads + 1))
	kill -HUP "$running_pid"
	wait_notify READY=1 $((reloads + 1)) "$reload_timeout"
	first="$(tail -n +$((log_lines + 1)) "$work/stderr" | grep -m 1 ': error: ' || true)"
	[ "$first" = "$expected" ] || fail "reload $reloads ($target): first error line
    expected: $expected
    found:    $first"
	tail -n +$((log_lines + 1)) "$work/stderr" | grep -q 'reload failed: keeping generation 1$' ||
		fail "reload $reloads: no 'reload failed: keeping generation 1' in the log"
	status_field="$(notify_message READY=1 $((reloads + 1)) | tr '\t' '\n' | grep '^STATUS=' || true)"
	[ "$status_field" = "STATUS=reload failed: $expected" ] ||
		fail "reload $reloads: READY=1 came with '$status_field', expected 'STATUS=reload failed: $expected'"
}

for source_file in "$corpus"/*.yaml; do
	name="$(basename "$source_file")"
	expected="$(cat "$source_file.expected")"
	if [[ "$name" == settings-* ]]; then
		target=settings.yaml
	else
		target=pipeline.yaml
	fi
	replace_file "$target" <"$source_file"
	reload_refused "$target" "${expected//$name/$target}"
	cp "$good_pipeline" pipeline.yaml
	printf 'log_level: info\n' >settings.yaml
done
echo "  ok: $reloads refused reloads, each with --check's first line in the log and in STATUS="

# A large refused file: the memory of its parse is given back.
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$running_pid/status"; }
rss_before="$(rss_kb)"
python3 -c 'print("version: 1\nkernels:\n  rx: [" + "1, " * 99990 + "1]\n  x: \"" + "y" * (16 * 1024 * 1024 - 400000) + "\"")' >big.yaml
mv big.yaml pipeline.yaml
reload_refused pipeline.yaml "pipeline.yaml:3:7: error: kernel 'rx' needs a mapping of keys (type, input, ...), not a list"
rss_after="$(rss_kb)"
cp "$good_pipeline" pipeline.yaml
echo "  ok: a refused 16 MB file: resident size $rss_before KB before, $rss_after KB after"
if grep -qa __asan_init "$jetstreamd"; then
	echo "  (not compared: AddressSanitizer keeps freed memory in its quarantine)"
else
	[ "$rss_after" -le $((rss_before + 8192)) ] || fail "the refused reload left the resident size $((rss_after - rss_before)) KB higher"
fi
truncate -s 17M pipeline.yaml
reload_refused pipeline.yaml "pipeline.yaml: error: the file is 17825792 bytes, more than the 16 MB a configuration file may have"
cp "$good_pipeline" pipeline.yaml
echo "  ok: a 17 MB file refused as a whole-file error, STATUS= without a position"

# The good files back: the reload succeeds, then SIGTERM.
reloads=$((reloads + 1))
kill -HUP "$running_pid"
wait_notify READY=1 $((reloads + 1)) "$reload_timeout"
status_field="$(notify_message READY=1 $((reloads + 1)) | tr '\t' '\n' | grep '^STATUS=' || true)"
[[ "$status_field" == "STATUS=generation 2: "* ]] || fail "the good files back: READY=1 came with '$status_field'"
sleep 0.3
kill -TERM "$running_pid"
wait_exit 20
[ "$exit_status" -eq 0 ] || { tail -n 30 "$work/stderr"; fail "exit status $exit_status after SIGTERM, expected 0"; }
packets="$(records_tool summary "$work/stderr" packets)" || { tail -n 30 "$work/stderr"; fail "no exit summary"; }
dropped="$(records_tool summary "$work/stderr" dropped)"
counted="$(records_tool totals "$live/records.jsonl" count | awk -F'\t' '{ n += $2 } END { print n + 0 }')"
[ "$packets" -gt 0 ] || fail "the source made no packet"
[ "$dropped" = 0 ] || fail "$dropped packets dropped"
[ "$counted" = "$packets" ] || fail "the counter's records hold $counted packets, the source made $packets"
echo "  ok: generation 2 after the good files came back; SIGTERM: exit 0, $packets packets made, $counted in the counter's records, 0 dropped"
echo "ok: $count bad files refused by --check and by $reloads live reloads with the same first line"
