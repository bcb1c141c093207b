#!/usr/bin/env python3
"""Loads nanolm exports with Hugging Face transformers and compares them with nanolm itself.

usage: hf_verify.py [--tolerance 1e-5] EXPORT_DIR REFERENCE.safetensors [EXPORT_DIR REFERENCE ...]

REFERENCE (written by nanolm's ExportCheck.writeReference) holds nanolm's logits on fixed ids
(input_ids, T5's decoder_input_ids) and, in its metadata, sample texts with nanolm's ids for them. For
each export this script builds the model with AutoModelFor{CausalLM,MaskedLM,Seq2SeqLM}.from_pretrained
and the tokenizer with AutoTokenizer.from_pretrained (and tokenizers.Tokenizer.from_file), offline,
from the directory alone, and prints one JSON line:
  {"export", "model_class", "max_abs_diff", "max_rel_diff" (max |Δ| / max |nanolm logits|),
   "logits_ok", "tokenizer_ok" (null without a tokenizer), "problems"}.
Exit status 1 when any export fails. One process checks many exports: importing torch is the slow part.
"""
import json
import os
import sys

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import torch  # noqa: E402
from safetensors import safe_open  # noqa: E402
from transformers import (AutoConfig, AutoModelForCausalLM, AutoModelForMaskedLM,  # noqa: E402
                          AutoModelForSeq2SeqLM, AutoTokenizer)
from transformers.utils import logging as hf_logging  # noqa: E402

hf_logging.set_verbosity_error()

AUTO = {"gpt2": AutoModelForCausalLM, "llama": AutoModelForCausalLM,
        "bert": AutoModelForMaskedLM, "t5": AutoModelForSeq2SeqLM}
# Keys HF may list as missing because they are tied to another tensor in the file.
TIED = {"lm_head.weight", "cls.predictions.decoder.weight", "encoder.embed_tokens.weight", "decoder.embed_tokens.weight"}


def check(export, reference, tolerance):
    problems = []
    with safe_open(reference, framework="pt") as f:
        ref = {k: f.get_tensor(k) for k in f.keys()}
        meta = f.metadata() or {}
    config = AutoConfig.from_pretrained(export, local_files_only=True)
    model, info = AUTO[config.model_type].from_pretrained(
        export, local_files_only=True, torch_dtype=torch.float32, attn_implementation="eager", output_loading_info=True)
    missing = [k for k in info["missing_keys"] if k not in TIED or not config.tie_word_embeddings]
    if missing:
        problems.append(f"weights missing from the files (randomly initialised): {missing[:5]}")
    if info["unexpected_keys"]:
        problems.append(f"weights the model does not use: {info['unexpected_keys'][:5]}")
    if info["mismatched_keys"]:
        problems.append(f"weights of the wrong shape: {info['mismatched_keys'][:5]}")
    model.eval()
    with torch.no_grad():
        kwargs = {"input_ids": ref["input_ids"]}
        if "decoder_input_ids" in ref:
            kwargs["decoder_input_ids"] = ref["decoder_input_ids"]
        logits = model(**kwargs).logits.float()
    expected = ref["logits"].float()
    if logits.shape != expected.shape:
        problems.append(f"logits have shape {list(logits.shape)}, nanolm's {list(expected.shape)}")
        max_abs = float("inf")
    else:
        max_abs = (logits - expected).abs().max().item()
    max_rel = max_abs / max(expected.abs().max().item(), 1e-30)
    logits_ok = max_rel <= tolerance

    tokenizer_ok = None
    if os.path.exists(os.path.join(export, "tokenizer.json")) and "texts" in meta:
        from tokenizers import Tokenizer
        texts, ids = json.loads(meta["texts"]), json.loads(meta["text_ids"])
        auto = AutoTokenizer.from_pretrained(export, local_files_only=True)
        raw = Tokenizer.from_file(os.path.join(export, "tokenizer.json"))
        tokenizer_ok = True
        for text, expected_ids in zip(texts, ids):
            for name, got in (("AutoTokenizer", auto(text, add_special_tokens=False)["input_ids"]),
                              ("tokenizers", raw.encode(text, add_special_tokens=False).ids)):
                if got != expected_ids:
                    tokenizer_ok = False
                    problems.append(f"{name} encodes {text[:30]!r} to {got[:12]}…, nanolm to {expected_ids[:12]}…")
    return {"export": export, "model_class": type(model).__name__, "max_abs_diff": max_abs, "max_rel_diff": max_rel,
            "logits_ok": logits_ok, "tokenizer_ok": tokenizer_ok, "problems": problems}


def main(argv):
    tolerance = 1e-5
    if argv[:1] == ["--tolerance"]:
        tolerance, argv = float(argv[1]), argv[2:]
    if not argv or len(argv) % 2:
        sys.exit(__doc__)
    failed = False
    for export, reference in zip(argv[::2], argv[1::2]):
        try:
            result = check(export, reference, tolerance)
        except Exception as error:  # one broken export must not hide the others' results
            result = {"export": export, "model_class": "", "max_abs_diff": float("inf"), "max_rel_diff": float("inf"),
                      "logits_ok": False, "tokenizer_ok": None, "problems": [f"{type(error).__name__}: {error}"]}
        failed |= not (result["logits_ok"] and result["tokenizer_ok"] is not False and not result["problems"])
        print(json.dumps(result), flush=True)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main(sys.argv[1:])
