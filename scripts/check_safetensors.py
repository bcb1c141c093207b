#!/usr/bin/env python3
"""Checks that a safetensors file written by nanolm's Swift code (TorchTests) loads in Python's
safetensors with the expected values. Usage: check_safetensors.py FILE"""
import sys

import torch
from safetensors import safe_open
from safetensors.torch import load_file

path = sys.argv[1]
t = load_file(path)
with safe_open(path, framework="pt") as f:
    meta = f.metadata()
assert meta == {"format": "pt", "step": "12"}, meta
assert torch.equal(t["weight"], torch.tensor([[1.0, 2, 3], [4, 5, 6]])), t["weight"]
assert torch.equal(t["ids"], torch.tensor([7, -1])), t["ids"]
assert t["half"].dtype == torch.bfloat16 and torch.equal(t["half"].float(), torch.tensor([0.5, -4.0])), t["half"]
assert torch.equal(t["flags"], torch.tensor([False, True])), t["flags"]
print("ok: python safetensors read", sorted(t))
