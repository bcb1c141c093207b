# Sourced by bench scripts: system packages, then NANOLM, a release build of nanolm (or the build that
# NANOLM already names, skipping the build).
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/deps.sh"
ensure_system
if [ -z "${NANOLM:-}" ]; then
  swift build -c release 2>&1 | grep -E "error|complete" | tail -1 || true
  NANOLM="$(swift build -c release --show-bin-path)/nanolm"
fi
