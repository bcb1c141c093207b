#!/usr/bin/env bash
# The whole test suite from a fresh Debian 12 machine with Swift: installs what is missing, then tests.
source "$(dirname "${BASH_SOURCE[0]}")/deps.sh"
ensure_system
ensure_python
cd "$ROOT"
echo "==> swift test"
swift test 2>&1 | tee "${TMPDIR:-/tmp}/nanolm-test.log" | grep -vE "^\[[0-9]+/[0-9]+\]|^Test Case .* (started|passed)" || true
status=${PIPESTATUS[0]}
exit "$status"
