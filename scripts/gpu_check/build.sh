#!/usr/bin/env bash
# Builds the GPU check: one file, .gpu-check/nanolm-gpu-check.tar.gz, within the GPU machine's 64 MB
# limit. That machine has Python 3.12 with PyTorch 2.11 (CUDA 13), no Swift and no network; run.sh there
# (in the archive) does the checks and prints one table.
#   bash scripts/gpu_check/build.sh
# Inside: nanolm and nanolm-torch (release, Swift runtime linked statically, built by scripts/check_cuda_build.sh against
# torch 2.11's headers; it loads that machine's libtorch at run time), run.sh, report.py,
# bench/train_reference.py (the PyTorch peer), the model goldens, and 2M byte-level tokens of the nano track.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
bash scripts/check_cuda_build.sh
site="$ROOT/.torch2-cuda/site-packages"
stage=.gpu-check/nanolm-gpu-check
rm -rf "$stage"; mkdir -p "$stage/fixtures"
strip -o "$stage/nanolm" .build-cuda/release/nanolm               # fit, predict, cost, --help; runs nanolm-torch for the rest
strip -o "$stage/nanolm-torch" .build-cuda/release/nanolm-torch
cp scripts/gpu_check/run.sh scripts/gpu_check/report.py bench/train_reference.py "$stage/"
cp Tests/NanoLMTests/Fixtures/models/*.safetensors "$stage/fixtures/"
# Text for the CUDA-against-CPU run: 2M byte-level tokens of the nano track (no tokenizer to ship).
LD_LIBRARY_PATH="$site/torch/lib" "$stage/nanolm" data build --track nano --tokenizer bytes --tokens 2000000 \
    --out "$stage/data" > /dev/null
tar -C .gpu-check -czf .gpu-check/nanolm-gpu-check.tar.gz nanolm-gpu-check
size=$(stat -c %s .gpu-check/nanolm-gpu-check.tar.gz)
echo "==> .gpu-check/nanolm-gpu-check.tar.gz: $((size / 1000000)) MB ($(du -sh "$stage" | cut -f1) unpacked; nanolm-torch $(du -m "$stage/nanolm-torch" | cut -f1) MB)"
[ "$size" -le $((64 * 1024 * 1024)) ] || { echo "error: over the 64 MB transfer limit" >&2; exit 1; }
