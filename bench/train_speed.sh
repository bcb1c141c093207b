#!/usr/bin/env bash
# Training throughput: nanolm train against the same GPT in PyTorch (bench/train_reference.py), both on
# Debian's libtorch 1.13, interleaved in one run (nanolm, PyTorch, nanolm, PyTorch, …), medians reported.
#   bench/train_speed.sh [repeats] [small|large|all]     (default 3 repeats, all)
# small: the README study's models — GPT, 2 layers, head size 16, sequence 128, batch 16, widths 32/64/128,
#        vocabulary 384 (the byte tokenizer's) and 8192; STEPS_SMALL steps (default 20).
# large: GPT, 4 layers, head size 64, sequence 256, batch 16, vocabulary 8192, widths 128/256/512 fp32 and
#        256 under bf16 autocast; STEPS steps (default 6).
# Each at THREADS (default "1 2") libtorch threads; each engine's idle OpenMP threads wait as is fastest for
# it: asleep for PyTorch (OMP_WAIT_POLICY=PASSIVE: its OpenBLAS threads need the cores), nanolm's own choice
# (libgomp's short spin under its oneDNN GEMMs; docs/BENCHMARKS.md, "How idle threads wait"). An
# OMP_WAIT_POLICY set by the caller applies to both. tokens/s over steps 3…N: both skip two warm-up steps.
# ONLY=regex runs the models whose label and thread count ("L2 w64 V384 T128 fp32 t1") match it.
# NANOLM=path runs that binary instead of building; NANOLM_BEFORE=path adds a column for a second binary
# (an earlier build), interleaved with the others, and its ratio to the first.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/deps.sh
ensure_system; ensure_python
if [ -z "${NANOLM:-}" ]; then
  swift build -c release 2>&1 | grep -E "error|complete" | tail -1 || true
  NANOLM="$(swift build -c release --show-bin-path)/nanolm"
fi
BEFORE=${NANOLM_BEFORE:-}
repeats=${1:-3}; sets=${2:-all}
peer_wait=${OMP_WAIT_POLICY:-PASSIVE}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); libtorch $("$NANOLM" demo --steps 0 --json | "$NANOLM_PYTHON" -c 'import json,sys; print(json.load(sys.stdin)["libtorch"])')"
if [ -n "$BEFORE" ]; then
  printf "%-30s %-7s %12s %12s %12s %7s %7s\n" model threads before_tok/s nanolm_tok/s torch_tok/s ratio vs_before
else
  printf "%-30s %-7s %12s %12s %7s\n" model threads nanolm_tok/s torch_tok/s ratio
fi

# tokens/s of the nanolm binary $1 over steps 3…N, then the rest of the train arguments
nanolm_speed() {
  local binary=$1; shift
  rm -rf "$out/run"
  # l = 0.001 as the peer's AdamW: at nanolm's default 0.01 a width-128 run on random tokens diverges by step 5
  # and stops, which had left two steps to time.
  "$binary" train "$@" --lr 0.001 --warmup 1 --data synthetic --out "$out/run" --json > "$out/nl.json"
  "$NANOLM_PYTHON" - "$out/run/metrics.jsonl" <<'PY'
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
if any(l.get("diverged") for l in lines):
    sys.exit(f"{sys.argv[1]}: the run diverged and stopped: its tokens/s would time only the steps before it")
rows = [l for l in lines if "elapsed" in l]
t = rows[-1]["elapsed"] - rows[1]["elapsed"]; n = rows[-1]["tokens"] - rows[1]["tokens"]
print(n / t)
PY
}

# bench LABEL STEPS THREADS LAYERS WIDTH VOCAB SEQ HEAD_DIM PRECISION
bench() {
  local label=$1 steps=$2 threads=$3 layers=$4 width=$5 vocab=$6 seq=$7 head=$8 prec=$9
  [[ "$label t$threads" =~ ${ONLY:-.} ]] || return 0
  local flag="" pyflag="" nl=() pt=() nb=()
  [ "$prec" = bf16 ] && flag="--autocast" && pyflag="--bf16"
  local args=(--arch gpt --layers "$layers" --width "$width" --vocab "$vocab" --seq-len "$seq" --head-dim "$head"
              --batch 16 --steps "$steps" --threads "$threads" $flag)
  for _ in $(seq "$repeats"); do
    [ -n "$BEFORE" ] && nb+=("$(nanolm_speed "$BEFORE" "${args[@]}")")
    nl+=("$(nanolm_speed "$NANOLM" "${args[@]}")")
    pt+=("$(OMP_WAIT_POLICY=$peer_wait "$NANOLM_PYTHON" bench/train_reference.py --layers "$layers" --width "$width" --vocab "$vocab" --seq "$seq" \
      --head-dim "$head" --steps "$((steps - 2))" --warmup 2 --threads "$threads" --no-peak $pyflag \
      | "$NANOLM_PYTHON" -c 'import json,sys; print(json.load(sys.stdin)["tokens_per_s"])')")
  done
  "$NANOLM_PYTHON" - "$label" "$threads" "${nl[*]}" "${pt[*]}" "${nb[*]:-}" <<'PY'
import statistics as s, sys
label, threads = sys.argv[1:3]
nl = [float(x) for x in sys.argv[3].split()]; pt = [float(x) for x in sys.argv[4].split()]
nb = [float(x) for x in sys.argv[5].split()]
mn, mp = s.median(nl), s.median(pt)
if nb:
    mb = s.median(nb)
    print(f"{label:<30} {threads:<7} {mb:12.0f} {mn:12.0f} {mp:12.0f} {mn/mp:7.2f} {mn/mb:7.2f}")
else:
    print(f"{label:<30} {threads:<7} {mn:12.0f} {mp:12.0f} {mn/mp:7.2f}")
PY
}

for threads in ${THREADS:-1 2}; do
  if [ "$sets" != large ]; then
    for vocab in 384 8192; do
      for width in 32 64 128; do
        bench "L2 w$width V$vocab T128 fp32" "${STEPS_SMALL:-20}" "$threads" 2 "$width" "$vocab" 128 16 fp32
      done
    done
  fi
  if [ "$sets" != small ]; then
    for width in 128 256 512; do
      bench "L4 w$width V8192 T256 fp32" "${STEPS:-6}" "$threads" 4 "$width" 8192 256 64 fp32
    done
    bench "L4 w256 V8192 T256 bf16" "${STEPS:-6}" "$threads" 4 256 8192 256 64 bf16
  fi
done
