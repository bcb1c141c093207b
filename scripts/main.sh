#!/usr/bin/env bash
# The main job from a fresh Debian 12 machine with Swift: installs what is missing (apt), builds nanolm,
# builds the nano data track from Debian's packages, and runs the default μScaling study on it
# (examples/nano.yaml: GPT proxies predict a wider GPT's loss, which is then trained to check).
# Idempotent: a second run rebuilds nothing and trains nothing; an interrupted run resumes.
#   scripts/main.sh [STUDY_FILE]      (default examples/nano.yaml)
source "$(dirname "${BASH_SOURCE[0]}")/deps.sh"
ensure_system
cd "$ROOT"
study=${1:-examples/nano.yaml}
echo "==> swift build -c release"
swift build -c release 2>&1 | grep -vE "^\[[0-9]+/[0-9]+\]" || true
NANOLM="$(swift build -c release --show-bin-path)/nanolm"
[ -x "$NANOLM" ] || { echo "error: build failed; run 'swift build -c release' to see why" >&2; exit 1; }
# How libgomp's idle threads wait (OMP_WAIT_POLICY) is nanolm's choice unless set here (docs/BENCHMARKS.md).
# The data the study reads: the default study's 512-id BPE (its losses resolve width at this budget:
# docs/RESULTS.md), or the byte-level track the other examples read.
if grep -q "data/nano-bpe512" "$study" && needs_data_build data/nano-bpe512; then
    echo "==> nanolm data build --track nano --vocab 512 --sample-bytes 2000000 --out data/nano-bpe512"
    "$NANOLM" data build --track nano --vocab 512 --sample-bytes 2000000 --out data/nano-bpe512
fi
if grep -qE "data/nano( |$)" "$study" && needs_data_build data/nano; then
    echo "==> nanolm data build --track nano --tokenizer bytes --out data/nano"
    "$NANOLM" data build --track nano --tokenizer bytes --out data/nano
fi
echo "==> nanolm study run $study"
start=$(date +%s)
"$NANOLM" study run "$study" --jobs auto   # runs side by side; each run's bits as with --jobs 1
echo "==> done in $(( $(date +%s) - start )) s; 'nanolm study status $study' lists the runs"
