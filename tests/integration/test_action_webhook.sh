#!/usr/bin/env bash
# Sink format webhook: each alert record's jsonl line POSTed (Content-Type
# application/json) to a real HTTP server (webhook_server.py, python3's
# http.server on loopback). The server fails its first 3 requests (HTTP
# 500), then recovers: every alert arrives exactly once with a 200, the 3
# failed attempts are counted as retries (and logged once). A URL that answers 404 is not
# retried: each action is counted as failed, and logged once.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source=tests/integration/action_pipeline.sh
source "$integration_directory/action_pipeline.sh"

cd "$work"
python3 "$integration_directory/webhook_server.py" port requests.jsonl 3 &
at_exit "kill $! 2>/dev/null"
for _ in $(seq 100); do [ -f port ] && break; sleep 0.05; done
[ -f port ] || fail "the webhook server did not start"
url="http://127.0.0.1:$(cat port)"

echo "checks: a server failing 3 requests with HTTP 500, then recovering"
write_action_pipeline "format: webhook" "url: $url/hook" "concurrency: 2" "retry: 20s" >webhook.yaml
"$jetstreamd" --check -p webhook.yaml || fail "--check refused webhook.yaml"
run_ok webhook.stderr -p webhook.yaml
expect_stats webhook.stderr records=9 actions_run=9 actions_failed=0 retries=3 dropped_records=0
python3 - requests.jsonl alerts.jsonl <<'PYTHON'
import json, sys
requests = [json.loads(line) for line in open(sys.argv[1])]
lines = [line.rstrip("\n") for line in open(sys.argv[2])]
failed = [r for r in requests if r["status"] == 500]
taken = sorted(r["body"] for r in requests if r["status"] == 200)
if len(failed) != 3 or len(requests) != 12:
    sys.exit(f"FAIL: {len(requests)} requests, {len(failed)} answered 500; expected 12 and 3")
if taken != sorted(lines):
    sys.exit(f"FAIL: the bodies taken differ from the alert lines:\n{taken}\n{sorted(lines)}")
if any(r["content_type"] != "application/json" or r["path"] != "/hook" for r in requests):
    sys.exit(f"FAIL: a request without Content-Type application/json: {requests}")
if any(r["body"] not in lines for r in failed):
    sys.exit("FAIL: a failed request's body is no alert line")
print("  ok: 12 POSTs to /hook (application/json), 3 answered 500 and retried, each of the 9 alert lines taken once")
PYTHON

[ "$(grep -c "warning: kernel 'act': POST $url/hook: HTTP 500, tried again in 100 ms" webhook.stderr)" -eq 1 ] ||
	{ cat webhook.stderr; fail "not one line for the retried POSTs"; }
echo "  ok: the failing endpoint logged once, its 3 failed attempts counted as retries"

echo "checks: a URL answering 404 fails each action at once"
: >requests.jsonl
write_action_pipeline "format: webhook" "url: $url/gone" >gone.yaml
run_ok gone.stderr -p gone.yaml
expect_stats gone.stderr records=0 actions_run=9 actions_failed=9 retries=0 dropped_records=0
[ "$(wc -l <requests.jsonl)" -eq 9 ] || fail "$(wc -l <requests.jsonl) requests, expected 9 (no retry of a 404)"
[ "$(grep -c "kernel 'act': the action for the .* failed: POST $url/gone: HTTP 404$" gone.stderr)" -eq 1 ] ||
	{ cat gone.stderr; fail "not one line for the failed POSTs"; }
echo "  ok: 9 POSTs, 9 actions_failed, no retry, one line logged"
echo "ok: webhook POSTs every alert line, retries a failing server, counts what fails"
