#!/usr/bin/env python3
"""Peer of bench/tokenizer_speed.sh: Hugging Face `tokenizers` and tiktoken on the same files and text.

  tokenizer_speed.py text OUT [MB]          write the benchmark text: Python's stdlib sources and the GCIDE
                                            dictionary (nano-track sources), MB/2 each, as clean UTF-8
  tokenizer_speed.py check DIR TEXT IDS     do nanolm's ids (IDS, space-separated) equal both peers'?
  tokenizer_speed.py time DIR TEXT          one single-threaded encode with each peer, as JSON seconds
                                            (HF also as encode_batch over the text's lines: HF is slow
                                            on one multi-megabyte string)

DIR is a tokenizer saved by `nanolm tokenizer train` (vocab.json + merges.txt); tiktoken gets the same
tokens as ranks (rank = id) and GPT-2's pattern, so all three apply the same merges.
"""
import gzip
import json
import os
import sys
import time

os.environ["RAYON_NUM_THREADS"] = "1"  # single thread for both Rust libraries
os.environ["TOKENIZERS_PARALLELISM"] = "false"

GPT2_PATTERN = r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""


def write_text(out, megabytes=4.0):
    half = int(megabytes * 1e6 / 2)
    code, n = [], 0
    for root, dirs, files in sorted(os.walk("/usr/lib/python3.11")):
        dirs.sort()
        if "test" in root or "site-packages" in root:
            continue
        for f in sorted(files):
            if f.endswith(".py") and n < half:
                text = open(os.path.join(root, f), "rb").read().decode("utf-8", "ignore")
                code.append(text)
                n += len(text.encode())
    words = gzip.open("/usr/share/dictd/gcide.dict.dz").read(half * 2).decode("utf-8", "ignore")
    text = "".join(code)[:half] + "\n\n" + words[:half]
    with open(out, "w", encoding="utf-8") as f:
        f.write(text)


def peers(directory):
    import tiktoken
    from tokenizers import Tokenizer, models, pre_tokenizers

    hf = Tokenizer(models.BPE.from_file(os.path.join(directory, "vocab.json"), os.path.join(directory, "merges.txt")))
    hf.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    vocab = json.load(open(os.path.join(directory, "vocab.json"), encoding="utf-8"))
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs, n = bs[:], 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    byte_of = {chr(c): b for b, c in zip(bs, cs)}
    specials = {"<|endoftext|>", "[MASK]", "[PAD]"} | {f"<extra_id_{i}>" for i in range(100)}
    ranks = {bytes(byte_of[ch] for ch in t): i for t, i in vocab.items() if t not in specials}
    tk = tiktoken.Encoding(name="bench", pat_str=GPT2_PATTERN, mergeable_ranks=ranks, special_tokens={})
    return hf, tk


def main():
    mode = sys.argv[1]
    if mode == "text":
        write_text(sys.argv[2], float(sys.argv[3]) if len(sys.argv) > 3 else 4.0)
        return
    hf, tk = peers(sys.argv[2])
    text = open(sys.argv[3], encoding="utf-8").read()
    if mode == "check":
        ours = [int(x) for x in open(sys.argv[4]).read().split()]
        a, b = hf.encode(text).ids, tk.encode_ordinary(text)
        print(json.dumps({"tokens": len(ours), "equal_hf": ours == a, "equal_tiktoken": ours == b, "hf_equals_tiktoken": a == b}))
    elif mode == "time":
        lines = text.splitlines(keepends=True)
        t0 = time.perf_counter(); hf.encode(text); t1 = time.perf_counter()
        tk.encode_ordinary(text); t2 = time.perf_counter()
        hf.encode_batch(lines); t3 = time.perf_counter()
        print(json.dumps({"hf": t1 - t0, "tiktoken": t2 - t1, "hf_lines": t3 - t2}))


if __name__ == "__main__":
    main()
