#!/usr/bin/env bash
# The GPU check, on a machine with an NVIDIA GPU, Python 3 and PyTorch 2.11 (CUDA) and no Swift:
#   tar xzf nanolm-gpu-check.tar.gz && cd nanolm-gpu-check && bash run.sh
# The nanolm binary here (built by scripts/gpu_check/build.sh: release, Swift runtime linked statically,
# compiled against torch 2.11's headers) loads this machine's libtorch from its torch package. It runs
#   1. the model goldens (scripts/model_goldens.py's fixtures) on CUDA
#   2. 200 training steps on CUDA against the same run on the CPU, in fp32 and under bf16 autocast
#   3. a 3-width coordinate check on CUDA
#   4. training throughput, widths 512, 1024, 2048: nanolm (fp32, bf16 autocast) against the same GPT in
#      PyTorch, eager fp32, eager bf16 and torch.compile bf16
# and prints one table (also in results/table.md). Budget: under 8 minutes on one H200.
set -uo pipefail
cd "$(dirname "$0")"
export PYTHON="${PYTHON:-python3}"
TORCH_DIR=$("$PYTHON" -c 'import torch, os; print(os.path.dirname(torch.__file__))') \
    || { echo "error: $PYTHON cannot import torch; set PYTHON to the Python with PyTorch 2.11" >&2; exit 1; }
export LD_LIBRARY_PATH="$TORCH_DIR/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
missing=$(ldd ./nanolm-torch | grep 'not found')
if [ -n "$missing" ]; then
    # SQLite (GRDB) may live only beside Python's own sqlite3 module (conda, pyenv builds).
    sqlite=$("$PYTHON" -c 'import _sqlite3; print(_sqlite3.__file__)' 2>/dev/null | xargs -r ldd 2>/dev/null | awk '/libsqlite3/ {print $3}')
    [ -n "$sqlite" ] && export LD_LIBRARY_PATH="$LD_LIBRARY_PATH:$(dirname "$sqlite")"
    missing=$(ldd ./nanolm-torch | grep 'not found')
    [ -z "$missing" ] || { echo "error: nanolm needs libraries this machine lacks:" >&2; echo "$missing" >&2; exit 1; }
fi
mkdir -p results; rm -rf results/*
started=$(date +%s)
echo "== $(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2>/dev/null | head -1); torch $("$PYTHON" -c 'import torch; print(torch.__version__, "cuda", torch.cuda.is_available())'); nanolm $(./nanolm --version)"
step() { echo "== $1 ($(( $(date +%s) - started )) s)"; }

step "1. model goldens on CUDA (tolerance 1e-4: fp32, cuBLAS without TF32)"
for f in gpt gpt_tied llama bert bert_tied t5; do
    arch=${f%_tied}; tied=(); [ "$f" != "$arch" ] && tied=(--tied)
    timeout 120 ./nanolm golden "fixtures/$f.safetensors" --arch "$arch" "${tied[@]}" --device cuda --json \
        > "results/golden-$f.json" 2> "results/golden-$f.err" || echo "  $f failed: $(tail -1 "results/golden-$f.err")"
done

step "2. 200 steps on CUDA against the CPU (GPT, 4 layers, width 256, the bundled text)"
common=(--arch gpt --layers 4 --width 256 --head-dim 64 --seq-len 128 --batch 16 --steps 200 --warmup 20 --lr 0.01
        --data data --seed 1 --data-seed 1 --json)
for prec in fp32 bf16; do
    cast=(); [ "$prec" = bf16 ] && cast=(--autocast)
    for device in cuda cpu; do
        timeout 240 ./nanolm train "${common[@]}" "${cast[@]}" --device "$device" --out "results/train-$prec-$device" \
            > "results/train-$prec-$device.json" 2> "results/train-$prec-$device.err" \
            || echo "  $prec on $device failed: $(tail -1 "results/train-$prec-$device.err")"
    done
done

step "3. coordinate check on CUDA (GPT, widths 128, 256, 512)"
timeout 120 ./nanolm coord-check --arch gpt --param mup --widths 128,256,512 --device cuda --out results/coord --json \
    > results/coord.json 2> results/coord.err || echo "  coord-check failed: $(tail -1 results/coord.err)"

step "4. throughput: nanolm (fp32, bf16 autocast) against PyTorch eager fp32, eager bf16, torch.compile bf16"
for width in 512 1024 2048; do
    for prec in fp32 bf16; do
        cast=(); [ "$prec" = bf16 ] && cast=(--autocast)
        timeout 120 ./nanolm train --arch gpt --layers 4 --width "$width" --head-dim 64 --vocab 8192 --seq-len 256 --batch 16 \
            --steps 12 --warmup 1 --data synthetic --device cuda "${cast[@]}" --out "results/speed-$prec-$width" --json \
            > "results/speed-nanolm-$prec-$width.json" 2> "results/speed-nanolm-$prec-$width.err" \
            || echo "  nanolm $prec width $width failed"
    done
    for mode in eager-fp32 eager compile; do
        extra=(--bf16); [ "$mode" = compile ] && extra+=(--compile); [ "$mode" = eager-fp32 ] && extra=()
        timeout 150 "$PYTHON" train_reference.py --width "$width" --steps 10 --warmup 3 --device cuda "${extra[@]}" \
            > "results/speed-torch-$mode-$width.json" 2> "results/speed-torch-$mode-$width.err" \
            || echo "  PyTorch $mode width $width failed: $(tail -1 "results/speed-torch-$mode-$width.err")"
    done
done

step "table"
"$PYTHON" report.py results | tee results/table.md
echo "== done in $(( $(date +%s) - started )) s"
