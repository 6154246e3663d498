#!/usr/bin/env bash
# The README's pipeline reference must equal `jetstreamd --describe`, which is
# printed from the same tables that parse the configuration.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"

echo "checks: README.md's pipeline reference equals jetstreamd --describe"
python3 "$repo_root/scripts/readme_reference.py" check || fail "README reference is stale"
