#!/usr/bin/env bash
# Training throughput: nanolm train against the same GPT in PyTorch (bench/train_reference.py), both on
# Debian's libtorch 1.13, interleaved in one run, each with its best thread settings of those tried.
#   bench/train_speed.sh [repeats]     (default 3; medians reported)
# GPT: 4 layers, sequence 256, batch 16, vocabulary 8192, widths 128/256/512, fp32 and bf16 autocast.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/deps.sh
ensure_system; ensure_python
swift build -c release --product nanolm 2>&1 | grep -E "error|complete" | tail -1 || true
NANOLM="$(swift build -c release --show-bin-path)/nanolm"
repeats=${1:-3}; steps=${STEPS:-6}; threads=$(nproc)
out=$(mktemp -d)
echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores; libtorch $("$NANOLM" demo --steps 0 --json | "$NANOLM_PYTHON" -c 'import json,sys; print(json.load(sys.stdin)["libtorch"])')"
printf "%-6s %-5s %-22s %12s %12s %7s %7s %7s\n" width prec setting nanolm_tok/s torch_tok/s ratio mfu_nl mfu_pt
for prec in fp32 bf16; do
  for width in 128 256 512; do
    [ "$prec" = bf16 ] && [ "$width" != 256 ] && continue
    flag=""; pyflag=""; [ "$prec" = bf16 ] && flag="--autocast" && pyflag="--bf16"
    for setting in "omp=$threads" "omp=$threads,passive"; do
      envs=(); [[ "$setting" == *passive* ]] && envs=(OMP_WAIT_POLICY=PASSIVE)
      nl=(); pt=(); peak=()
      for r in $(seq "$repeats"); do
        rm -rf "$out/run"
        env "${envs[@]}" "$NANOLM" train --arch gpt --layers 4 --width "$width" --vocab 8192 --seq-len 256 --batch 16 \
          --steps "$steps" --warmup 1 --data synthetic --threads "$threads" $flag --out "$out/run" --json > "$out/nl.json"
        # tokens/s over steps 3…N (skips the first two, as the reference skips its warmup)
        nl+=("$("$NANOLM_PYTHON" - "$out/run/metrics.jsonl" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if '"loss"' in l]
t = rows[-1]["elapsed"] - rows[1]["elapsed"]; n = rows[-1]["tokens"] - rows[1]["tokens"]
print(n / t)
PY
)")
        line=$(env "${envs[@]}" "$NANOLM_PYTHON" bench/train_reference.py --width "$width" --steps "$((steps - 2))" --warmup 2 --threads "$threads" $pyflag)
        pt+=("$(echo "$line" | "$NANOLM_PYTHON" -c 'import json,sys; print(json.load(sys.stdin)["tokens_per_s"])')")
        peak+=("$(echo "$line" | "$NANOLM_PYTHON" -c 'import json,sys; d=json.load(sys.stdin); print(d["gemm_peak_flops"], d["parameters"])')")
      done
      "$NANOLM_PYTHON" - "$width" "$prec" "$setting" "${nl[*]}" "${pt[*]}" "${peak[*]}" <<'PY'
import statistics as s, sys
w, prec, setting = sys.argv[1:4]
nl = [float(x) for x in sys.argv[4].split()]; pt = [float(x) for x in sys.argv[5].split()]
pk = [float(x) for x in sys.argv[6].split()]; peak = s.median(pk[0::2]); params = pk[1]
w = int(w)
# 6 x (non-embedding parameters, lm_head included) plus attention's 12·L·w·T (Kaplan et al.)
flops_per_token = 6 * (params - 8192 * w - 256 * w) + 12 * 4 * w * 256
mn, mp = s.median(nl), s.median(pt)
print(f"{w:<6} {prec:<5} {setting:<22} {mn:12.0f} {mp:12.0f} {mn/mp:7.2f} {mn*flops_per_token/peak:7.1%} {mp*flops_per_token/peak:7.1%}")
PY
    done
  done
done
rm -rf "$out"
