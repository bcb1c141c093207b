#!/usr/bin/env bash
# Tokenizer speed: encode throughput of nanolm's byte-level BPE against Hugging Face `tokenizers` and
# tiktoken, single thread, on the same text with the same tokens, in one run. The text is MB megabytes
# of nano-track sources (Python's stdlib, the GCIDE dictionary); the tokens are a 50,257-id BPE that
# `nanolm tokenizer train` learns on it (GPT-2's size). Each round runs nanolm once (a fresh process, cold
# cache) and each peer once (a fresh process); medians over ROUNDS and the median of per-round ratios.
#   bench/tokenizer_speed.sh [ROUNDS] [MB]      (default 5 rounds, 4 MB)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/deps.sh
ensure_system; ensure_python
rounds=${1:-5}; mb=${2:-4}
swift build -c release 2>&1 | grep -E "error|Compiling|Build complete" | tail -1 || true
NANOLM="$(swift build -c release --show-bin-path)/nanolm"
PY="$NANOLM_PYTHON"
tmp="${TMPDIR:-/tmp}/nanolm-tokenizer-bench-$mb"
mkdir -p "$tmp"
echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores"
[ -f "$tmp/text.txt" ] || "$PY" bench/tokenizer_speed.py text "$tmp/text.txt" "$mb"
[ -f "$tmp/tok/codec.json" ] || "$NANOLM" tokenizer train --input "$tmp/text.txt" --vocab 50257 --out "$tmp/tok"
"$NANOLM" tokenizer encode --tokenizer "$tmp/tok" --no-special < "$tmp/text.txt" > "$tmp/ids.txt"
echo "equality: $("$PY" bench/tokenizer_speed.py check "$tmp/tok" "$tmp/text.txt" "$tmp/ids.txt")"
: > "$tmp/rounds.jsonl"
for r in $(seq "$rounds"); do
  ours=$("$NANOLM" tokenizer encode --tokenizer "$tmp/tok" --no-special --benchmark-runs 1 < "$tmp/text.txt")
  peers=$("$PY" bench/tokenizer_speed.py time "$tmp/tok" "$tmp/text.txt")
  echo "{\"nanolm\": $ours, \"peers\": $peers}" >> "$tmp/rounds.jsonl"
done
"$PY" - "$tmp/rounds.jsonl" <<'PY'
import json, statistics as st, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
mb = rows[0]["nanolm"]["bytes"] / 1e6
ours = [r["nanolm"]["seconds"][0] for r in rows]
par = [r["nanolm"]["parallel_seconds"][0] for r in rows]
hf = [r["peers"]["hf"] for r in rows]; tk = [r["peers"]["tiktoken"] for r in rows]
lines = [r["peers"]["hf_lines"] for r in rows]
print(f"{mb:.2f} MB, {rows[0]['nanolm']['tokens']} tokens, {len(rows)} rounds")
print("| encoder | threads | median s | MB/s | nanolm speed-up |")
print("| --- | ---: | ---: | ---: | ---: |")
print(f"| nanolm | 1 | {st.median(ours):.3f} | {mb / st.median(ours):.1f} | – |")
print(f"| nanolm (encodeParallel) | all | {st.median(par):.3f} | {mb / st.median(par):.1f} | – |")
print(f"| HF tokenizers | 1 | {st.median(hf):.3f} | {mb / st.median(hf):.1f} | {st.median([h / o for h, o in zip(hf, ours)]):.2f}× |")
print(f"| HF tokenizers, encode_batch of lines | 1 | {st.median(lines):.3f} | {mb / st.median(lines):.1f} | {st.median([h / o for h, o in zip(lines, ours)]):.2f}× |")
print(f"| tiktoken | 1 | {st.median(tk):.3f} | {mb / st.median(tk):.1f} | {st.median([t / o for t, o in zip(tk, ours)]):.2f}× |")
PY
