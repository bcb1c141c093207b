#!/usr/bin/env bash
# The whole test suite from a fresh Debian 12 machine with Swift: installs what is missing, then tests.
#   NANOLM_ENGINE=debian (default)   Debian's libtorch 1.13, scratch path .build
#   NANOLM_ENGINE=torch2             PyPI's torch 2.x (scripts/torch2.sh installs it), scratch path .build-torch2
#   NANOLM_TEST_FILTER=REGEX         only the matching tests (swift test --filter)
source "$(dirname "${BASH_SOURCE[0]}")/deps.sh"
ensure_system
ensure_python
engine=${NANOLM_ENGINE:-debian}
swift_args=()
case "$engine" in
    debian) ;;
    torch2) LIBTORCH=$(bash "$ROOT/scripts/torch2.sh"); export LIBTORCH; swift_args+=(--scratch-path "$ROOT/.build-torch2") ;;
    *) echo "error: NANOLM_ENGINE=$engine: use debian or torch2" >&2; exit 1 ;;
esac
[ -n "${NANOLM_TEST_FILTER:-}" ] && swift_args+=(--filter "$NANOLM_TEST_FILTER")
cd "$ROOT"
# A one-node Slurm for the study's Slurm executor test (root only; otherwise that test is skipped).
if [ "$(id -u)" -eq 0 ] && [ "${NANOLM_SLURM:-1}" != 0 ]; then
    eval "$(bash scripts/slurm_local.sh start 2>&1 | tail -1 | grep '^export SLURM_CONF=' || echo 'echo "note: local Slurm did not start; its test will be skipped"')"
fi
log="${TMPDIR:-/tmp}/nanolm-test-$$.log"
echo "==> swift test on engine $engine${LIBTORCH:+ (LIBTORCH=$LIBTORCH)} (XCTest; full log in $log)"
set +e
swift test --disable-swift-testing "${swift_args[@]}" 2>&1 | tee "$log" | grep -vE "^\[[0-9]+/[0-9]+\]|^Test Case .* (started|passed)|^Test Suite .* (started|passed)"
status=${PIPESTATUS[0]}
set -e
# A plain closing line: the counts of the last "Executed N tests, with M failures" line.
summary=$(grep -E "Executed [0-9]+ tests?, with .*[0-9]+ failures?" "$log" | tail -1)
executed=$(sed -E 's/.*Executed ([0-9]+) tests?.*/\1/' <<<"$summary")
failed=$(sed -E 's/.* ([0-9]+) failures?.*/\1/' <<<"$summary")
skipped=$(grep -oE "[0-9]+ tests? skipped" <<<"$summary" | grep -oE "^[0-9]+" || echo 0)
if [ -n "$summary" ]; then echo "$engine: $((executed - failed - skipped)) passed, $failed failed, $skipped skipped"; fi
[ "$status" -eq 0 ] && [ -n "$summary" ] || { echo "error: swift test failed (exit $status); see $log" >&2; exit 1; }
