#!/usr/bin/env bash
# Runs Debian's python3 (torch 1.13, scipy) with PyPI's safetensors, for the golden and check scripts.
source "$(dirname "${BASH_SOURCE[0]}")/deps.sh"
ensure_system
ensure_python
exec "$NANOLM_PYTHON" "$@"
