#!/usr/bin/env bash
# The fidelity benchmark (issue 16, item 5): how close, and how honest, are the predictions?
# Runs every study of bench/fidelity/ (GPT, Llama, BERT, T5; the nano track with byte ids and with a
# 512-id BPE; several seeds; targets ≥ 4× the widest proxy's C) end to end, target included, and prints
# per study: predicted, 95% interval, actual, error, covered; overall: median |error|, coverage of the
# intervals, median interval half-width (a fraction of the predicted loss). Writes the same as JSON and
# markdown (bench/fidelity_summary.py). A causal study takes 2–6 minutes on 2 cores, a BERT one (4× the
# steps) 6–16; all ten 40–45 with OpenBLAS's GEMMs, 39 with oneDNN's, 50 since the validation set of
# 393,216 tokens (a57bbd5), on a shared machine (2026-12-03).
#   bench/fidelity.sh [STUDY.yaml ...]        (default: bench/fidelity/*.yaml)
# Environment:
#   NANOLM=path        a built nanolm (default: `swift build -c release`, as scripts/main.sh)
#   FIDELITY_DIR=dir   study directories, results and summary (default: studies/fidelity)
#   FIDELITY_JOBS=K    studies run at once, each on one thread (default 1: one study at a time, its runs side
#                      by side by `--jobs auto`)
#   FIDELITY_SEED_OFFSET=K  a replicate: every study with its seed and dataSeed raised by K (other
#                      initialisations and data orders, the same designs and budgets); the study files so
#                      made are written to FIDELITY_DIR/files/ and run from there
# Idempotent like `nanolm study run`: finished runs are read back, so a rerun after a change to the fit
# only refits (a change to what a run trains retrains it).
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/deps.sh"
cd "$ROOT"
if [ -z "${NANOLM:-}" ]; then
    swift build -c release 2>&1 | grep -vE "^\[[0-9]+/[0-9]+\]" || true
    NANOLM="$(swift build -c release --show-bin-path)/nanolm"
fi
[ -x "$NANOLM" ] || { echo "error: no nanolm at $NANOLM: run 'swift build -c release' or set NANOLM" >&2; exit 1; }
out=${FIDELITY_DIR:-studies/fidelity}
mkdir -p "$out"

# The two data builds the studies read (data/ is git-ignored).
if needs_data_build data/fidelity-bytes; then
    "$NANOLM" data build --track nano --tokenizer bytes --out data/fidelity-bytes
fi
if needs_data_build data/fidelity-bpe; then
    "$NANOLM" data build --track nano --vocab 512 --sample-bytes 2000000 --out data/fidelity-bpe
fi

studies=("$@")
[ ${#studies[@]} -gt 0 ] || studies=(bench/fidelity/*.yaml)
if [ -n "${FIDELITY_SEED_OFFSET:-}" ]; then
    mkdir -p "$out/files"
    for i in "${!studies[@]}"; do
        copy="$out/files/$(basename "${studies[$i]}")"
        awk -v k="$FIDELITY_SEED_OFFSET" -v data="$ROOT/data/" '
            /^seed: [0-9]+$/ { print "seed: " $2 + k; next }
            /^dataSeed: [0-9]+$/ { print "dataSeed: " $2 + k; next }
            /^data: / { sub(/\.\.\/\.\.\/data\//, data) }
            { print }' "${studies[$i]}" > "$copy"
        studies[$i]=$copy
    done
fi
run_one() {
    local f=$1 name start rc
    name=$(basename "$f" .yaml)
    echo "==> $name started $(date +%H:%M:%S)"
    start=$(date +%s)
    # The result as JSON on stdout; the narration to a log per study.
    rc=0
    "$NANOLM" study run "$f" --dir "$out/$name" --jobs auto --json > "$out/$name.json" 2> "$out/$name.log" || rc=$?
    if [ "$rc" -eq 0 ]; then
        echo "==> $name done in $(( $(date +%s) - start )) s"
    else
        echo "==> $name FAILED after $(( $(date +%s) - start )) s (exit $rc): see $out/$name.log"
    fi
}
export -f run_one
export NANOLM out
# FIDELITY_JOBS=K runs K studies at once, each on one intra-op thread (default 1 study, libtorch's threads).
jobs=${FIDELITY_JOBS:-1}
if [ "$jobs" -gt 1 ]; then export OMP_NUM_THREADS=1; fi
printf '%s\n' "${studies[@]}" | xargs -P "$jobs" -I{} bash -c 'run_one "$@"' _ {}
python3 "$ROOT/bench/fidelity_summary.py" "$out" "${studies[@]}"
