#!/usr/bin/env bash
# Sourced by the other scripts: installs what nanolm needs on Debian 12, only what is missing.
#   ensure_system   apt packages: libtorch (the engine), python3-torch + scipy (goldens), zstd
#   ensure_python   .venv: Debian's python3 with its torch/scipy, plus PyPI's safetensors, and
#                   tokenizers + tiktoken (the tokenizer's goldens and benchmark peers)
#                   and transformers 4.46.3 (scripts/hf_verify.py: the Hugging Face export check)
#   needs_data_build DIR   whether DIR holds no data build, or one made before the validation set of excerpts
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# OpenBLAS misdetects some virtual CPUs; keep a core type set unless the machine sets its own.
export OPENBLAS_CORETYPE="${OPENBLAS_CORETYPE:-Haswell}"

SYSTEM_PACKAGES=(libtorch-dev libgloo-dev libsqlite3-dev python3-torch python3-scipy python3-numpy python3-venv python3-pip zstd gzip zlib1g-dev libzstd-dev)
# The nano data track's text (see NanoTrack.swift and docs/DESIGN.md, "The nano track").
SYSTEM_PACKAGES+=(python3.11 python3.11-doc dict-gcide dictd bible-kjv debian-faq c++-annotations-latex)

ensure_system() {
    local missing=()
    for p in "${SYSTEM_PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    if [ -n "${LIBTORCH:-}" ]; then
        [ -d "$LIBTORCH/lib" ] || { echo "error: LIBTORCH=$LIBTORCH has no lib/ directory (expected a pytorch.org libtorch layout: include/, lib/)" >&2; exit 1; }
        missing=("${missing[@]/libtorch-dev}")
    fi
    missing=($(printf '%s\n' "${missing[@]}" | grep -v '^$' || true))
    if [ ${#missing[@]} -gt 0 ]; then
        echo "==> installing with apt: ${missing[*]}"
        if [ "$(id -u)" -ne 0 ] && ! command -v sudo >/dev/null; then
            echo "error: need root to run: apt-get install ${missing[*]}" >&2; exit 1
        fi
        local SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
        $SUDO apt-get update -qq
        DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
    fi
    command -v swift >/dev/null || { echo "error: swift not found: install Swift 6 (https://swift.org/install) and put it on PATH" >&2; exit 1; }
}

ensure_python() {
    local py="$ROOT/.venv/bin/python"
    if [ ! -x "$py" ]; then
        echo "==> creating .venv (Debian python3 with system torch/scipy, plus safetensors, tokenizers, tiktoken from PyPI)"
        /usr/bin/python3 -m venv --system-site-packages "$ROOT/.venv"
    fi
    "$py" -c "import safetensors" 2>/dev/null || "$py" -m pip install -q --disable-pip-version-check "safetensors>=0.4"
    "$py" -c "import tokenizers, tiktoken" 2>/dev/null || "$py" -m pip install -q --disable-pip-version-check "tokenizers>=0.15" "tiktoken>=0.5"
    "$py" -c "import transformers; assert transformers.__version__ == '4.46.3'" 2>/dev/null || "$py" -m pip install -q --disable-pip-version-check "transformers==4.46.3"  # runs on torch 1.13 (export checks)
    export NANOLM_PYTHON="$py"
}

# A build without "validationDocumentTokens" in its index predates the validation set of excerpts (a57bbd5).
needs_data_build() { [ ! -f "$1/index.json" ] || ! grep -q '"validationDocumentTokens"' "$1/index.json"; }
