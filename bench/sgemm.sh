#!/usr/bin/env bash
# Which engine multiplies faster on this CPU: fp32 matmul 2048² (and bf16 512²) on one thread through Debian's
# libtorch 1.13 and through PyPI's torch 2.x (scripts/torch2.sh), interleaved, medians of the rounds.
#   bench/sgemm.sh [rounds]     (default 5)
# The CPU default engine in docs/DESIGN.md ("Two engines") comes from this.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/deps.sh
torch2=$(bash scripts/torch2.sh)
out=.build/bench-sgemm; mkdir -p "$out"
build() {  # build NAME INCLUDE... -- LIBDIR
    local name=$1; shift; local flags=()
    while [ "$1" != -- ]; do flags+=(-isystem "$1"); shift; done
    [ -x "$out/$name" ] || g++ -O2 -std=c++17 -D_GLIBCXX_USE_CXX11_ABI=1 "${flags[@]}" bench/sgemm.cpp -o "$out/$name" \
        -L"$2" -Wl,-rpath,"$2" -ltorch_cpu -lc10
}
build debian /usr/include/torch/csrc/api/include -- /usr/lib/x86_64-linux-gnu
build torch2 "$torch2/include" "$torch2/include/torch/csrc/api/include" -- "$torch2/lib"
rounds=${1:-5}
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1  # one thread, whatever BLAS each engine uses
echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc --all) cores, load $(cut -d' ' -f1 /proc/loadavg)"
for r in $(seq "$rounds"); do "$out/debian"; "$out/torch2"; done | tee "$out/rounds.txt"
python3 - "$out/rounds.txt" <<'PY'
import statistics, sys
rows = {}
for line in open(sys.argv[1]):
    version, fp32, bf16 = line.split()
    rows.setdefault(version, []).append((float(fp32), float(bf16)))
med = {v: (statistics.median(r[0] for r in rs), statistics.median(r[1] for r in rs)) for v, rs in rows.items()}
print(f"{'libtorch':<16}{'fp32 2048²':>14}{'bf16 512²':>14}   (median of {len(next(iter(rows.values())))} rounds)")
for v, (f, b) in med.items(): print(f"{v:<16}{f:>14.1f}{b:>14.1f}")
(v1, m1), (v2, m2) = med.items()
print(f"fp32 {v1}/{v2} = {m1[0] / m2[0]:.2f}, bf16 {m1[1] / m2[1]:.2f}")
PY
