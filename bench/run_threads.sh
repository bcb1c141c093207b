#!/usr/bin/env bash
# The rule behind `study run --jobs auto` (RunThreads): for the README study's models (GPT, 2 layers,
# vocabulary 384, sequence 128, batch 16), seconds per step of one run on 1 thread, one run on every core,
# and each of (cores) one-thread runs side by side. Side by side wins where
#   t(parallel) / cores < t(all cores),
# and a lone run on one thread costs t(1) / t(all cores) against every core.
#   bench/run_threads.sh [widths]     (default 32 64 128 256 512; STEPS=30, REPEATS=1)
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/release_nanolm.sh   # NANOLM=path: an existing build instead
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}   # as scripts/main.sh runs the study
widths=${1:-"32 64 128 256 512"}; steps=${STEPS:-30}; repeats=${REPEATS:-1}; cores=$(nproc)
out=$(mktemp -d); trap 'rm -rf "$out"' EXIT
echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $cores cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
train() {  # train DIR THREADS WIDTH: seconds per step over steps 3…N
    rm -rf "$1"
    "$NANOLM" train --arch gpt --layers 2 --width "$3" --head-dim 16 --vocab 384 --seq-len 128 --batch 16 --steps "$steps" \
        --lr 0.001 --warmup 1 --checkpoint-every 0 --data synthetic --threads "$2" --out "$1" --json > /dev/null
    # l = 0.001: at the default 0.01 widths from 128 on diverge within a few steps and stop (nothing left to time)
    python3 -c "import json,sys; L=[json.loads(l) for l in open(sys.argv[1])]; any(l.get('diverged') for l in L) and sys.exit(sys.argv[1] + ': diverged'); r=[l for l in L if 'elapsed' in l]; print((r[-1]['elapsed']-r[1]['elapsed'])/(len(r)-2))" "$1/metrics.jsonl"
}
printf "%-6s %12s %12s %14s %10s %10s\n" width "s/step 1t" "s/step ${cores}t" "s/step ${cores}x1t" "side/all" "1t/all"
for w in $widths; do
  for r in $(seq "$repeats"); do
    t1=$(train "$out/a" 1 "$w")
    tn=$(train "$out/b" "$cores" "$w")
    pids=(); for j in $(seq "$cores"); do train "$out/p$j" 1 "$w" > "$out/p$j.t" & pids+=($!); done
    wait "${pids[@]}"
    tp=$(cat "$out"/p*.t | python3 -c "import sys,statistics; print(statistics.mean(float(x) for x in sys.stdin))")
    python3 -c "import sys; w,t1,tn,tp,c=sys.argv[1],*map(float,sys.argv[2:5]),int(sys.argv[5]); print(f'{w:<6} {t1:12.4f} {tn:12.4f} {tp:14.4f} {tp/c/tn:10.2f} {t1/tn:10.2f}')" "$w" "$t1" "$tn" "$tp" "$cores"
  done
done
