#!/usr/bin/env bash
# Builds nanolm against a CUDA libtorch without a GPU, and shows what it links: compiling and linking
# need only files, not a device.
#   bash scripts/check_cuda_build.sh        → .build-cuda/release/nanolm and nanolm-torch
# The CUDA libtorch is PyPI's torch wheel at scripts/torch2.sh's pin (a CUDA 13 build) with the nvidia-*
# packages libtorch_cuda.so links to (cuBLAS, cuDNN, NCCL, … about 3 GB unpacked) in .torch2-cuda/
# (ignored); wheels are cached in $NANOLM_WHEELS. Package.swift sees libtorch_cuda.so, links torch_cuda,
# and the shim compiles ProcessGroupNCCL because nccl.h and the CUDA headers are beside the torch package.
# The build is the one scripts/gpu_check/ ships: release, the Swift standard library linked statically,
# so a GPU machine without Swift runs it against its own torch of the same version.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/torch2.sh"
cd "$TORCH2_ROOT"
site="$TORCH2_ROOT/.torch2-cuda/site-packages"

if [ ! -f "$site/.complete-$TORCH2_VERSION" ]; then
    echo "==> torch $TORCH2_VERSION with its CUDA libraries into $site"
    rm -rf "$site"
    fetch_wheels "torch==$TORCH2_VERSION" "${TORCH2_RUNTIME[@]}" "${TORCH2_CUDA[@]}"
    unpack_wheel "torch-$TORCH2_VERSION-*.whl" "$site" 'torch/include/*' 'torch/lib/*' 'torch/share/cmake/*' 'torch/version.py'
    for spec in "${TORCH2_RUNTIME[@]}" "${TORCH2_CUDA[@]}"; do
        unpack_wheel "$(wheel_file "$spec")" "$site" 'nvidia/*/lib/*' 'nvidia/*/include/*'
    done
    touch "$site/.complete-$TORCH2_VERSION"
fi

echo "==> swift build -c release --static-swift-stdlib (LIBTORCH=$site/torch, scratch .build-cuda)"
LIBTORCH="$site/torch" swift build -c release --static-swift-stdlib --scratch-path .build-cuda 2>&1 \
    | grep -vE '^\[[0-9]+/[0-9]+\]'
bin=.build-cuda/release/nanolm-torch   # the binary that links libtorch (nanolm runs it for tensor commands)

echo "==> $bin ($(du -m "$bin" | cut -f1) MB) needs:"
readelf -d "$bin" | grep NEEDED | sed -E 's/.*\[(.*)\]/  \1/'
echo "==> resolved (ldd), libtorch and CUDA:"
ldd "$bin" | grep -E 'torch|c10|nccl|cudart|cublas|cudnn|not found' | sed 's/^\s*/  /'
if ldd "$bin" | grep -q 'not found'; then echo "error: unresolved libraries above" >&2; exit 1; fi
echo "==> ProcessGroupNCCL symbols the shim calls (from libtorch_cuda.so):"
nccl=$(nm -D --undefined-only "$bin" | c++filt | grep -E 'c10d::ProcessGroupNCCL::ProcessGroupNCCL' || true)  # not grep -q: pipefail
[ -n "$nccl" ] || { echo "error: the shim was built without NCCL (nccl.h or the CUDA headers not found)" >&2; exit 1; }
echo "$nccl" | sed 's/^\s*U /  /' | head -3
echo "CUDA build OK: $bin links torch_cuda, and the shim has ProcessGroupNCCL"
