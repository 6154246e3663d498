#!/usr/bin/env bash
# SIGKILL while the sink writes, then a restart that appends to the same file:
# every line of the file parses as JSON. A cut last line left by the kill is
# ended (and logged) before the restart appends.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"

cd "$work"
cat >live.yaml <<PIPELINE
version: 1
kernels:
  rx:
    type: source
    synthetic: {packets: 0, sources: 100000, seed: 5}
  count:
    type: per_src_counter
    input: rx
    window: 10ms
  out:
    type: sink
    input: count
    path: "$work/out.jsonl"
PIPELINE

echo "checks: SIGKILL in the middle of writing"
"$jetstreamd" -p live.yaml 2>live.stderr &
running_pid=$!
deadline=$((SECONDS + 20))
until [ "$(stat -c %s out.jsonl 2>/dev/null || echo 0)" -gt 1000000 ]; do
	kill -0 "$running_pid" 2>/dev/null || { cat live.stderr; fail "jetstreamd exited"; }
	[ "$SECONDS" -lt "$deadline" ] || fail "less than 1 MB written in 20 s"
	sleep 0.05
done
kill -KILL "$running_pid"
wait_exit 10
cut=no
[ "$(tail -c 1 out.jsonl | od -An -c | tr -d ' ')" = '\n' ] || cut=yes
if [ "$cut" = no ]; then
	# the kill fell between two writes: leave the fragment a kill inside a write leaves
	printf '{"type":"src_count","kernel":"count","src":"198.5' >>out.jsonl
fi
size=$(stat -c %s out.jsonl)
echo "  ok: killed with $size bytes written (the kill itself cut a line: $cut)"

echo "checks: a restart ends the cut line, says so, and appends whole lines"
python3 "$repo_root/scripts/gen_trace.py" --packets 2000 --sources 100 --output small.pcap
write_counter_pipeline restart.yaml "pcap: small.pcap" "window: total" "$work/out.jsonl"
run_ok restart.stderr -p restart.yaml
grep -q "warning: kernel 'out': ended a cut line at offset $size of $work/out.jsonl" restart.stderr ||
	{ cat restart.stderr; fail "the cut line was not reported"; }
python3 - out.jsonl <<'PYTHON'
import json, sys
with open(sys.argv[1], "rb") as stream:
    lines = stream.read().split(b"\n")
assert lines[-1] == b"", "the file ends in a cut line"
cut = [number for number, line in enumerate(lines[:-1], 1) if not line.endswith(b"}")]
assert len(cut) == 1, f"expected one cut line (the fragment), found lines {cut}"
for number, line in enumerate(lines[:-1], 1):
    if number not in cut:
        json.loads(line)
print(f"  ok: {len(lines) - 1} lines, all whole JSON but the one fragment the kill left, on a line of its own")
PYTHON
