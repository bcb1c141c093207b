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
swift build -c release --product nanolm 2>&1 | grep -E "error|complete" | tail -1 || true
NANOLM="$(swift build -c release --show-bin-path)/nanolm"
echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores"
ours=(); theirs=()
for r in 1 2 3; do
  s=$(date +%s.%N); "$NANOLM" fit --law chinchilla --input "$csv" --json > /tmp/nanolm-chin.json; e=$(date +%s.%N)
  ours+=("$(echo "$e - $s" | bc)")
  theirs+=("$("$NANOLM_PYTHON" scripts/chinchilla_scipy.py bench "$csv" 45 | "$NANOLM_PYTHON" -c 'import json,sys; print(json.load(sys.stdin)["seconds_for_4500"])')")
done
"$NANOLM_PYTHON" - "${ours[*]}" "${theirs[*]}" <<'PY'
import json, statistics as s, sys
o = [float(x) for x in sys.argv[1].split()]; t = [float(x) for x in sys.argv[2].split()]
fit = json.load(open("/tmp/nanolm-chin.json"))["coefficients"]
print(f"chinchilla 4,500 starts: nanolm {s.median(o):.2f} s (whole command), scipy {s.median(t):.0f} s (scaled from 100 starts), ratio {s.median(t)/s.median(o):.0f}x")
print("nanolm's fit: " + ", ".join(f"{k} {v:.5g}" for k, v in sorted(fit.items())))
PY
printf "params,loss\n" > /tmp/nanolm-mu.csv
for c in 0.038 0.076 0.126 0.189 0.265 0.353 0.454 1.714 3.2 6.4; do echo "${c}e9,$(echo "3.37 + 0.0768 * e(-0.608 * l($c))" | bc -l)" >> /tmp/nanolm-mu.csv; done
"$NANOLM" fit --input /tmp/nanolm-mu.csv --benchmark 10000
