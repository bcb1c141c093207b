#!/usr/bin/env bash
# Issue 19: which GEMM a small study step could use. (1) OpenBLAS's sgemm_ (what libtorch 1.13 calls, under
# OPENBLAS_CORETYPE=Haswell) against oneDNN's dnnl_sgemm (shipped with, and loaded by, the same libtorch) on
# the study's linear-layer shapes, one thread. (2) The whole training step with every libtorch GEMM answered
# by oneDNN (NANOLM_GEMM=onednn, Sources/CTorch/gemm.cpp; the default since 2026-12-03) against OpenBLAS
# (NANOLM_GEMM=openblas, the column "before") and PyTorch 1.13 from Python, by bench/train_speed.sh.
#   bench/gemm_engines.sh [repeats]     (default 5; ONLY as in bench/train_speed.sh, default the V384 one-thread rows)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/deps.sh
ensure_system; ensure_python
out=.build/bench-gemm; mkdir -p "$out"
lib=/usr/lib/x86_64-linux-gnu
g++ -O2 -std=c++17 bench/gemm_engines.cpp -o "$out/gemm_engines" -L$lib -lopenblas $lib/libdnnl.so.2
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
taskset -c 0 "$out/gemm_engines"
if [ -z "${NANOLM:-}" ]; then
  swift build -c release 2>&1 | grep -E "error|complete" | tail -1 || true
  NANOLM="$(swift build -c release --show-bin-path)/nanolm"
fi
plain=$(realpath "$NANOLM")
# nanolm with each GEMM: NANOLM_GEMM set for nanolm (and the nanolm-torch it runs), not for the peer.
for gemm in onednn openblas; do
  printf '#!/usr/bin/env bash\nNANOLM_GEMM=%s exec "%s" "$@"\n' "$gemm" "$plain" > "$out/nanolm-$gemm"
  chmod +x "$out/nanolm-$gemm"
done
unset OMP_NUM_THREADS OPENBLAS_NUM_THREADS
NANOLM="$out/nanolm-onednn" NANOLM_BEFORE="$out/nanolm-openblas" ONLY="${ONLY:-V384 T128 fp32 t1}" STEPS_SMALL=${STEPS_SMALL:-40} \
  bash bench/train_speed.sh "${1:-5}" small
