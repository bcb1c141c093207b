#!/usr/bin/env bash
# PyPI's torch 2.x as nanolm's second engine, CPU only, in its own ignored folder .torch2/.
#   bash scripts/torch2.sh            downloads and unpacks (once), prints the LIBTORCH to build with
#   source scripts/torch2.sh          defines the pins and fetch_wheels / unpack_wheel for other scripts
# Build and test against it (a separate scratch path, so the two engines never share objects):
#   LIBTORCH=$(bash scripts/torch2.sh) swift build --scratch-path .build-torch2
#   NANOLM_ENGINE=torch2 bash scripts/test.sh
#
# The pin is the GPU check machine's torch (docs/DESIGN.md, "Two engines"): one download serves the
# CPU engine, the CUDA build check (scripts/check_cuda_build.sh) and the GPU check's headers.
# PyPI's wheel is a CUDA build; libtorch_cpu.so alone needs libc10.so, the bundled libgomp, and
# libcudart.so.13 + libcupti.so.13 (readelf -d), which the wheel's RPATH finds in ../../nvidia/cu13/lib.
# So the CPU engine takes torch's headers and CPU libraries plus those two small nvidia wheels, and
# leaves out libtorch_cuda.so (without it Package.swift builds for the CPU only).
# Wheels are cached in $NANOLM_WHEELS (default .torch2/wheels); pip skips any already there.
set -euo pipefail

TORCH2_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TORCH2_VERSION=2.11.0
# torch 2.11.0's CUDA pieces: cuda-toolkit 13.0.2's pins and torch's own nvidia-* requirements.
TORCH2_RUNTIME=('nvidia-cuda-runtime==13.0.96.*' 'nvidia-cuda-cupti==13.0.85.*')   # libtorch_cpu.so needs these two
TORCH2_CUDA=('nvidia-cuda-crt==13.0.88.*' 'nvidia-cuda-cccl==13.0.85.*' 'nvidia-cublas==13.1.0.3.*' 'nvidia-cufft==12.0.0.61.*'
             'nvidia-cufile==1.15.1.6.*' 'nvidia-curand==10.4.0.35.*' 'nvidia-cusolver==12.0.4.66.*'
             'nvidia-cusparse==12.6.3.3.*' 'nvidia-nvjitlink==13.0.88.*' 'nvidia-cudnn-cu13==9.19.0.56'
             'nvidia-cusparselt-cu13==0.8.0' 'nvidia-nccl-cu13==2.28.9' 'nvidia-nvshmem-cu13==3.4.5')
TORCH2_DIR="$TORCH2_ROOT/.torch2"
NANOLM_WHEELS="${NANOLM_WHEELS:-$TORCH2_DIR/wheels}"
# What of torch the CPU engine needs: headers, the CPU libraries, the version.
TORCH2_CPU_FILES='torch/include/* torch/version.py torch/lib/libc10.so torch/lib/libtorch.so torch/lib/libtorch_cpu.so torch/lib/libgomp.so.1 torch/share/cmake/*'

# fetch_wheels SPEC...: downloads the wheels (no dependencies) into $NANOLM_WHEELS.
fetch_wheels() {
    mkdir -p "$NANOLM_WHEELS"
    local py="${NANOLM_PYTHON:-/usr/bin/python3}"
    "$py" -m pip download -q --disable-pip-version-check --no-deps --only-binary=:all: -d "$NANOLM_WHEELS" "$@" >&2 \
        || { echo "error: pip could not download $* (network? disk space in $NANOLM_WHEELS?)" >&2; return 1; }
}

# wheel_file SPEC: the cached wheel file name glob for a pin like 'nvidia-cublas==13.1.0.3.*'.
wheel_file() { local name=${1%%==*} version=${1#*==}; echo "${name//-/_}-${version%.\*}-*.whl"; }

# unpack_wheel NAME-GLOB DEST [MEMBER-GLOB...]: extracts a cached wheel (the members matching, or all)
# into DEST, a site-packages-like folder.
unpack_wheel() {
    local wheel
    wheel=$(ls "$NANOLM_WHEELS"/$1 2>/dev/null | head -1)
    [ -n "$wheel" ] || { echo "error: no wheel $1 in $NANOLM_WHEELS" >&2; return 1; }
    shift
    local dest=$1; shift
    /usr/bin/python3 - "$wheel" "$dest" "$@" <<'EOF'
import fnmatch, os, sys, zipfile
wheel, dest, patterns = sys.argv[1], sys.argv[2], sys.argv[3:]
with zipfile.ZipFile(wheel) as z:
    for info in z.infolist():
        if info.is_dir() or (patterns and not any(fnmatch.fnmatch(info.filename, p) for p in patterns)):
            continue
        path = z.extract(info, dest)
        if info.external_attr >> 16 & 0o111:
            os.chmod(path, 0o755)
EOF
}

install_torch2() {
    local site="$TORCH2_DIR/site-packages"
    if [ ! -f "$site/.complete-$TORCH2_VERSION" ]; then
        echo "==> torch $TORCH2_VERSION (CPU engine) into $site" >&2
        rm -rf "$site"
        fetch_wheels "torch==$TORCH2_VERSION" "${TORCH2_RUNTIME[@]}"
        # shellcheck disable=SC2086
        unpack_wheel "torch-$TORCH2_VERSION-*.whl" "$site" $TORCH2_CPU_FILES
        unpack_wheel "$(wheel_file "${TORCH2_RUNTIME[0]}")" "$site" 'nvidia/cu13/lib/libcudart.so.*'
        unpack_wheel "$(wheel_file "${TORCH2_RUNTIME[1]}")" "$site" 'nvidia/cu13/lib/libcupti.so.*'
        touch "$site/.complete-$TORCH2_VERSION"
    fi
    echo "$site/torch"
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then install_torch2; fi
