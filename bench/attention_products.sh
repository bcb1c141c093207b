#!/usr/bin/env bash
# Attention's products through ct_head_matmul against at::matmul (bench/attention_products.cpp), one thread,
# at the README study's head size 16, sequence 128, batch 16.
#   bench/attention_products.sh ["64 256"]     widths (heads = width / 16)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/deps.sh
ensure_system
bin=$(mktemp -d)/attention_products
trap 'rm -rf "$(dirname "$bin")"' EXIT
g++ -O2 -std=c++17 -w -I Sources/CTorch/include -I Sources/CTorch -isystem /usr/include/torch/csrc/api/include \
    bench/attention_products.cpp Sources/CTorch/head_matmul.cpp -o "$bin" -ltorch_cpu -lc10 -ldl
echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
for width in ${1:-64 256}; do "$bin" "$width"; done
