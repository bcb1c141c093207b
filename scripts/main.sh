#!/usr/bin/env bash
# The main job from a fresh Debian 12 machine with Swift: installs what is missing, builds nanolm,
# and runs it.
source "$(dirname "${BASH_SOURCE[0]}")/deps.sh"
ensure_system
cd "$ROOT"
echo "==> swift build -c release"
swift build -c release --product nanolm 2>&1 | grep -vE "^\[[0-9]+/[0-9]+\]" || true
NANOLM="$(swift build -c release --show-bin-path)/nanolm"
[ -x "$NANOLM" ] || { echo "error: build failed; run 'swift build -c release' to see why" >&2; exit 1; }
"$NANOLM" --help
echo
echo "==> nanolm demo (a tiny MLP: checks that libtorch trains from Swift on this machine)"
"$NANOLM" demo
