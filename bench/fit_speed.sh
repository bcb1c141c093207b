#!/usr/bin/env bash
# Fit speed: nanolm's Chinchilla fit (4,500 L-BFGS starts, Huber on log L) against scipy's on Epoch's 240
# points (../shared/reference, not in the repository), in the same run; scipy on every 45th start (100
# starts), scaled to 4,500. Plus a 10-point μScaling fit, timed over 10,000 fits.
#   bench/fit_speed.sh [REFERENCE_DIR]     (default ../shared/reference)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/deps.sh
ensure_system; ensure_python
ref=${1:-../shared/reference}
csv="$ref/subsets/chinchilla_240.csv"
[ -f "$csv" ] || { echo "error: $csv not found: pass the directory holding subsets/chinchilla_240.csv" >&2; exit 1; }
swift build -c release 2>&1 | grep -E "error|complete" | tail -1 || true
NANOLM="$(swift build -c release --show-bin-path)/nanolm"
echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores"
# Paired repeats: nanolm's whole command, then scipy; wall time and CPU time (all threads) of each. On a
# machine shared with other jobs the wall ratio moves with the load; the CPU ratio much less.
"$NANOLM_PYTHON" - "$NANOLM" "$csv" <<'PY'
import json, resource, statistics as st, subprocess, sys, time
nanolm, csv = sys.argv[1], sys.argv[2]
def cpu(): r = resource.getrusage(resource.RUSAGE_CHILDREN); return r.ru_utime + r.ru_stime
ours, ours_cpu, theirs, theirs_cpu = [], [], [], []
for _ in range(3):
    t, c = time.perf_counter(), cpu()
    fit = json.loads(subprocess.run([nanolm, "fit", "--law", "chinchilla", "--input", csv, "--json"], check=True, capture_output=True, text=True).stdout)
    ours.append(time.perf_counter() - t); ours_cpu.append(cpu() - c)
    scipy = json.loads(subprocess.run([sys.executable, "scripts/chinchilla_scipy.py", "bench", csv, "45"], check=True, capture_output=True, text=True).stdout)
    theirs.append(scipy["seconds_for_4500"]); theirs_cpu.append(scipy["cpu_seconds_for_4500"])
with open("/proc/loadavg") as f: load = f.read().split()[0]
m = lambda v: st.median(v)
print(f"chinchilla 4,500 starts (load average {load}): wall nanolm {m(ours):.2f} s (whole command), scipy {m(theirs):.0f} s (scaled from 100 starts), ratio {m(theirs)/m(ours):.0f}x")
print(f"  CPU time: nanolm {m(ours_cpu):.2f} s (both threads), scipy {m(theirs_cpu):.0f} s, ratio {m(theirs_cpu)/m(ours_cpu):.0f}x")
print("  nanolm's fit: " + ", ".join(f"{k} {v:.5g}" for k, v in sorted(fit["coefficients"].items())))
PY
printf "params,loss\n" > /tmp/nanolm-mu.csv
for c in 0.038 0.076 0.126 0.189 0.265 0.353 0.454 1.714 3.2 6.4; do echo "${c}e9,$(echo "3.37 + 0.0768 * e(-0.608 * l($c))" | bc -l)" >> /tmp/nanolm-mu.csv; done
"$NANOLM" fit --input /tmp/nanolm-mu.csv --benchmark 10000
