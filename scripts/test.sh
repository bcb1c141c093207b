#!/usr/bin/env bash
# The whole test suite from a fresh Debian 12 machine with Swift: installs what is missing, then tests.
source "$(dirname "${BASH_SOURCE[0]}")/deps.sh"
ensure_system
ensure_python
cd "$ROOT"
log="${TMPDIR:-/tmp}/nanolm-test-$$.log"
echo "==> swift test (XCTest; full log in $log)"
set +e
swift test --disable-swift-testing 2>&1 | tee "$log" | grep -vE "^\[[0-9]+/[0-9]+\]|^Test Case .* (started|passed)|^Test Suite .* (started|passed)"
status=${PIPESTATUS[0]}
set -e
# A plain closing line: the counts of the last "Executed N tests, with M failures" line.
summary=$(grep -E "Executed [0-9]+ tests?, with .*[0-9]+ failures?" "$log" | tail -1)
executed=$(sed -E 's/.*Executed ([0-9]+) tests?.*/\1/' <<<"$summary")
failed=$(sed -E 's/.* ([0-9]+) failures?.*/\1/' <<<"$summary")
skipped=$(grep -oE "[0-9]+ tests? skipped" <<<"$summary" | grep -oE "^[0-9]+" || echo 0)
if [ -n "$summary" ]; then echo "tests: $((executed - failed - skipped)) passed, $failed failed, $skipped skipped"; fi
[ "$status" -eq 0 ] && [ -n "$summary" ] || { echo "error: swift test failed (exit $status); see $log" >&2; exit 1; }
