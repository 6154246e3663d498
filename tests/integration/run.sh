#!/usr/bin/env bash
# Run every tests/integration/test_*.sh against build/jetstreamd (or
# $JETSTREAMD) and end with one line `N passed, N failed` (`, N skipped` when
# some were skipped). A test exits 0 to pass, 77 to skip, anything else to
# fail. Exits non-zero when any test failed.
#
#   tests/integration/run.sh                 every test
#   tests/integration/run.sh oracles check   only test_oracles.sh and test_check.sh
set -euo pipefail

directory="$(cd "$(dirname "$0")" && pwd)"
tests=()
if [ "$#" -gt 0 ]; then
	for name in "$@"; do
		name="${name#test_}"
		tests+=("$directory/test_${name%.sh}.sh")
	done
else
	tests=("$directory"/test_*.sh)
fi

passed=0 failed=0 skipped=0
failed_names=()
suite_start=$SECONDS
for test in "${tests[@]}"; do
	name="$(basename "$test" .sh)"
	echo "=== $name"
	start=$SECONDS
	status=0
	if [ -x "$test" ]; then
		# each test makes and removes its own temporary directory
		set +e
		"$test" 2>&1 | sed 's/^/    /'
		status="${PIPESTATUS[0]}"
		set -e
	else
		echo "    $test is missing or not executable"
		status=1
	fi
	elapsed=$((SECONDS - start))
	case "$status" in
	0) passed=$((passed + 1)) && echo "--- PASS $name (${elapsed} s)" ;;
	77) skipped=$((skipped + 1)) && echo "--- SKIP $name (${elapsed} s)" ;;
	*) failed=$((failed + 1)) && failed_names+=("$name") && echo "--- FAIL $name (exit $status, ${elapsed} s)" ;;
	esac
done

echo "integration tests took $((SECONDS - suite_start)) s${failed_names[*]:+; failed: ${failed_names[*]}}"
summary="$passed passed, $failed failed"
[ "$skipped" -eq 0 ] || summary+=", $skipped skipped"
echo "$summary"
[ "$failed" -eq 0 ]
