#!/usr/bin/env bash
# Same-shape runs trained together against one by one: the grid phase of a study at the README study's
# base-width size (GPT, 2 layers, width 32, headDim 16, sequence 128, batch 16, synthetic tokens), R learning
# rates, `options.stackGrid: on` against `off`, interleaved, medians. The time is the grid phase as a user
# waits for it: from starting `nanolm study run` to its μTransfer event (the study is then stopped).
#   bench/stack_speed.sh [repeats]      (default 3)
#   R="5 10" STEPS=40 VOCAB=384 NANOLM=path/to/nanolm (default: a release build)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/deps.sh
ensure_python
if [ -z "${NANOLM:-}" ]; then
  swift build -c release 2>&1 | grep -E "error|Compiling|Build complete" | tail -1 || true
  NANOLM="$(swift build -c release --show-bin-path)/nanolm"
fi
repeats=${1:-3}; steps=${STEPS:-40}; vocab=${VOCAB:-384}
out=$(mktemp -d); trap 'rm -rf "$out"' EXIT
echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); $NANOLM"
printf "%-4s %-6s %s\n" R mode "grid wall s (each repeat)"
for r in ${R:-5 10}; do
  lrs=$("$NANOLM_PYTHON" -c "print([round(0.001 * 1.5 ** i, 6) for i in range($r)])")
  declare -A times=([on]="" [off]="")
  for rep in $(seq "$repeats"); do
    for mode in on off; do
      dir="$out/$r-$mode-$rep"; mkdir -p "$dir"
      cat > "$dir/s.yaml" <<YAML
name: stack-bench
data: synthetic
vocabularySize: $vocab
baseWidth: 32
designs: [{name: gpt, architecture: gpt, layers: 2, headDim: 16}]
grid: {learningRates: $lrs}
proxyWidths: [32, 48, 64, 96]
targetWidth: 128
budget: {steps: $steps, batchSize: 16, sequenceLength: 128, warmupSteps: 4, checkpointEvery: $steps}
options: {stackGrid: $mode}
YAML
      t=$("$NANOLM_PYTHON" - "$NANOLM" "$dir" <<'PY'
import subprocess, sys, time
nanolm, d = sys.argv[1:3]
start = time.monotonic()
p = subprocess.Popen([nanolm, "study", "run", f"{d}/s.yaml", "--dir", f"{d}/study", "--json"],
                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
for line in p.stderr:
    if '"muTransferPhase"' in line:
        print(f"{time.monotonic() - start:.2f}")
        break
p.kill(); p.wait()
PY
)
      times[$mode]+="$t "
    done
  done
  for mode in on off; do printf "%-4s %-6s %s\n" "$r" "$mode" "${times[$mode]}"; done
  "$NANOLM_PYTHON" -c "
import statistics as s, sys
on = [float(x) for x in sys.argv[1].split()]; off = [float(x) for x in sys.argv[2].split()]
print(f'R={sys.argv[3]}: median stacked {s.median(on):.1f} s, one by one {s.median(off):.1f} s, speed-up {s.median(off) / s.median(on):.2f}x')
" "${times[on]}" "${times[off]}" "$r"
done
