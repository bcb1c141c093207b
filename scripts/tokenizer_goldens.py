#!/usr/bin/env python3
"""Makes the tokenizer's reference fixtures (Tests/NanoLMTests/Fixtures/tokenizer/) with Hugging Face
`tokenizers` and OpenAI's `tiktoken` (PyPI, installed into .venv by scripts/deps.sh `ensure_python`):

  corpus.txt         ~75 KB of text: Python's FAQ and stdlib sources (python3.11-doc, python3.11) and a
                     seeded multilingual block (letters, digits, punctuation, emoji, CJK, combining marks)
  hf-vocab.json      HF's ByteLevel BPE trained on corpus.txt (one document) to VOCAB ids, the 103
  hf-merges.txt      special tokens first (GPT-2's pre-tokenizer, no prefix space)
  hf.tiktoken        the same tokens as tiktoken ranks (rank = HF id)
  goldens.json       test strings with HF's ids and tiktoken's ids (all specials allowed, and ordinary),
                     and tiktoken's ids with cl100k_base's pattern on the same ranks

Run from the repository root:  .venv/bin/python scripts/tokenizer_goldens.py
"""
import base64
import json
import os
import random
import sys

import tiktoken
from tiktoken_ext.openai_public import r50k_pat_str
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "Tests/NanoLMTests/Fixtures/tokenizer")
VOCAB = 1536  # ids including the 103 special tokens, as HF's BpeTrainer counts them
SPECIALS = ["<|endoftext|>", "[MASK]", "[PAD]"] + [f"<extra_id_{i}>" for i in range(100)]
# cl100k_base's pattern as tiktoken 0.14 defines it (tiktoken_ext/openai_public.py, inside cl100k_base(),
# which would download the ranks; the pattern is all we need).
CL100K_PATTERN = r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+|\s++$|\s*[\r\n]|\s+(?!\S)|\s"""


def bytes_to_unicode():
    """GPT-2's byte → printable character map."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, map(chr, cs)))


# A pool of characters from every class the pattern distinguishes (assigned since Unicode 6, so every
# engine's tables agree): ASCII, Latin-1 and extended letters, digits and other numbers, punctuation,
# symbols, whitespace of several kinds, combining marks, CJK, Hangul, Arabic, Devanagari, emoji.
POOL = (
    list("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") * 3
    + list(" " * 30 + "\n" * 6 + "\t\r\x0b\x0c")
    + list("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~") * 2
    + list("éèçñüößøåÆŒœĳŁłǅǈ") + list("²³¹½¼Ⅻⅻ٣३௰") + list("\u00a0\u2003\u3000\u2028\u0085\u200b\u200d\ufeff")
    + list("\u0301\u0308\u0327\u20dd") + list("日本語中文字漢テキストのかな、。「」") + list("한국어글")
    + list("مرحبا") + list("नमस्ते") + list("€£¥©®™°±×÷§¶•…—–") + ["👍", "🏽", "😀", "🇺", "🇸", "🐍", "𝔘", "𠀀"]
)


def multilingual_block(seed=6, n=600):
    rng = random.Random(seed)
    words = ["don't", "it's", "we'll", "they're", "I'm", "you've", "he'd", "O'Neil", "rock'n'roll",
             "naïve", "café", "Straße", "東京", "ソフトウェア", "서울", "القاهرة", "दिल्ली", "π≈3.14159", "1,000,000",
             "2024-06-01", "x²+y²", "€12.50", "👍🏽", "👨‍👩‍👧", "🇺🇸", "e\u0301", "a\u0308", "   ", "\t\t", "\n\n"]
    out = []
    for _ in range(n):
        if rng.random() < 0.6:
            out.append(rng.choice(words))
        else:
            out.append("".join(rng.choice(POOL) for _ in range(rng.randint(1, 12))))
        out.append(rng.choice([" ", " ", " ", "\n", "  ", ", ", ". "]))
    return "".join(out)


def corpus():
    parts = []
    for path, limit in [("/usr/share/doc/python3.11/html/_sources/faq/programming.rst.txt", 35000),
                        ("/usr/share/doc/python3.11/html/_sources/faq/design.rst.txt", 15000),
                        ("/usr/lib/python3.11/textwrap.py", 12000)]:
        with open(path, encoding="utf-8") as f:
            parts.append(f.read()[:limit])
    parts.append(multilingual_block())
    return "\n\n".join(parts)


def test_strings():
    fixed = [
        "", "a", " ", "Hello, world!", "Hello world", "  leading and trailing  ", "trailing space ",
        "I'm sure they'll say it's what we've done, and he'd've said 'twas 'Tis DON'T",
        "'s 't 're 've 'm 'll 'd ''s '  'x", "foo's bar'S baz' qux''",
        "one  two   three    four\tfive\t\tsix", "line one\nline two\n\nline four\n", "\n\n\n", " \n \n ",
        "a \n b", "x\r\ny\r\n", "tabs\t\tand spaces  \t  mixed", "end with newline\n", "   ",
        "12345 3.14159 1,000,000 -42 +7 0x1F 1e-9 2024-06-01", "a1b2c3 123abc abc123",
        "²³ ½ Ⅻ ٣٤ ३ ௰", "!!! ... ?!? --- *** ((()))", "a.b,c;d:e!f?g", "@user #tag $5 %20 ^_^ &amp; ~/.bashrc",
        "👍🏽 👨‍👩‍👧 🇺🇸 😀😀😀 🐍", "日本語のテキスト、中文字符。", "한국어 텍스트", "مرحبا بالعالم", "नमस्ते दुनिया",
        "e\u0301 a\u0308 n\u0303 combining\u0301\u0302 marks", "\u00a0nbsp\u00a0 \u3000ideographic\u3000 \u2028ls \u0085nel",
        "zero\u200bwidth\u200djoiner\ufeffbom", "\x00\x01\x02\x7f control", "ÿÿÿ ĀāĂ",
        "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𠀀𠀁 astral", "def f(x):\n    return x ** 2  # square\n",
        "if (a && b) { return c; } // C-like", "<html><body>Hi</body></html>",
        "a" * 300, "ab" * 150 + " " + "ｘ" * 80, " " * 100 + "x", "\n" * 70 + "y", "1" * 120,
        "hello<|endoftext|>world", "<|endoftext|>", "<|endoftext|><|endoftext|>", "  <|endoftext|>  ",
        "[MASK] x [PAD] y[MASK]z", "<extra_id_0><extra_id_99> <extra_id_100> <extra_id_05> <extra_id_7",
        "text <extra_id_12>\n\n<extra_id_3> more [MASK]", "<|endoftext", "[MASK", "<extra_id_>",
        "I'M HE'S WE'LL THEY'RE YOU'VE SHE'D 'T", "'Sup 'LLama 'REd DON'Tcha 'sup 'llama", "(parens) [brackets] \tTabbed \u3000Ideographic", "12345678 1234 x123",
        "a.\n\nb!!\r\n\r\nc  \n  d \n", "  \n\n  ", "end\n\n  ", "x  \t\n\ty", "'hello 'world",
    ]
    rng = random.Random(2024)
    randoms = ["".join(rng.choice(POOL) for _ in range(rng.randint(1, 40))) for _ in range(80)]
    return fixed + randoms


def main():
    os.makedirs(OUT, exist_ok=True)
    text = corpus()
    with open(os.path.join(OUT, "corpus.txt"), "w", encoding="utf-8", newline="") as f:
        f.write(text)

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=VOCAB, min_frequency=0, special_tokens=SPECIALS, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator([text], trainer)
    tok.model.save(OUT, "hf")  # hf-vocab.json, hf-merges.txt

    byte_of = {c: b for b, c in bytes_to_unicode().items()}
    vocab = tok.get_vocab()
    ranks = {bytes(byte_of[c] for c in t): i for t, i in vocab.items() if t not in SPECIALS}
    with open(os.path.join(OUT, "hf.tiktoken"), "w") as f:
        for t, r in sorted(ranks.items(), key=lambda kv: kv[1]):
            f.write(f"{base64.b64encode(t).decode()} {r}\n")
    # nanolm's special ids for a .tiktoken file: EOS, [MASK], [PAD] after the last rank, sentinels
    # descending from the top of the vocabulary padded to a multiple of 64.
    n = max(ranks.values()) + 1
    size = (n + 3 + 100 + 63) // 64 * 64
    special_ids = {"<|endoftext|>": n, "[MASK]": n + 1, "[PAD]": n + 2}
    special_ids.update({f"<extra_id_{i}>": size - 1 - i for i in range(100)})
    enc = tiktoken.Encoding(name="fixture", pat_str=r50k_pat_str, mergeable_ranks=ranks, special_tokens=special_ids)
    cl100k = tiktoken.Encoding(name="fixture-cl100k", pat_str=CL100K_PATTERN, mergeable_ranks=ranks, special_tokens=special_ids)

    cases = []
    for s in test_strings():
        hf = tok.encode(s).ids
        assert tok.decode(hf, skip_special_tokens=False) == s or any(t in s for t in SPECIALS), repr(s)
        cases.append({"text": s, "hf": hf, "tiktoken": enc.encode(s, allowed_special="all"),
                      "tiktoken_ordinary": enc.encode_ordinary(s), "tiktoken_cl100k": cl100k.encode(s, allowed_special="all")})
    differ = sum(c["hf"] != c["tiktoken"] for c in cases)
    goldens = {"vocab_size": VOCAB, "tiktoken_special_ids": special_ids, "tiktoken_padded_size": size,
               "hf_merges": sum(1 for line in open(os.path.join(OUT, "hf-merges.txt"), encoding="utf-8")) - 1,  # after #version
               "cases": cases}
    with open(os.path.join(OUT, "goldens.json"), "w", encoding="utf-8") as f:  # one case per line
        head = json.dumps({k: v for k, v in goldens.items() if k != "cases"}, separators=(",", ":"))
        rows = ",\n".join(json.dumps(c, ensure_ascii=True, separators=(",", ":")) for c in cases)
        f.write(head[:-1] + ',"cases":[\n' + rows + "\n]}\n")
    print(f"corpus {len(text.encode())} bytes; {len(vocab)} HF tokens; {len(cases)} strings; "
          f"HF and tiktoken differ on {differ}", file=sys.stderr)


if __name__ == "__main__":
    main()
