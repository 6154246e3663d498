#!/usr/bin/env bash
# A 30-second run of scripts/soak.sh: synthetic traffic, a changing reload
# every second, a sink that stalls 2 s out of 5, exact counts in both sinks
# and no growth of the RSS (the release soak is `scripts/soak.sh 10`).
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"

JETSTREAMD="$jetstreamd" "$repo_root/scripts/soak.sh" 0.5
