#!/usr/bin/env python3
"""The PyTorch peer for bench/train_speed.sh: the same nanoGPT-style GPT as nanolm's (learned positions,
pre-LayerNorm, GELU MLP, causal attention, untied readout), trained with AdamW on random tokens.
Prints one JSON line: tokens/s over the timed steps, and the GEMM peak measured in this process.

    scripts/python.sh bench/train_reference.py --width 256 --threads 2 [--bf16]
    python3 train_reference.py --width 1024 --bf16 --device cuda [--compile]   (scripts/gpu_check/run.sh)
"""
import argparse
import ctypes
import json
import math
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class Block(nn.Module):
    def __init__(self, w, heads):
        super().__init__()
        self.heads = heads
        self.ln_1, self.ln_2 = nn.LayerNorm(w), nn.LayerNorm(w)
        self.c_attn, self.c_proj = nn.Linear(w, 3 * w), nn.Linear(w, w)
        self.c_fc, self.mlp_proj = nn.Linear(w, 4 * w), nn.Linear(4 * w, w)

    def forward(self, x, mask):
        b, t, w = x.shape
        q, k, v = self.c_attn(self.ln_1(x)).split(w, dim=2)
        q, k, v = (z.view(b, t, self.heads, w // self.heads).transpose(1, 2) for z in (q, k, v))
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(k.size(-1)))
        att = att.masked_fill(mask[:t, :t], float("-inf")).softmax(dim=-1)
        y = (att @ v).transpose(1, 2).contiguous().view(b, t, w)
        x = x + self.c_proj(y)
        return x + self.mlp_proj(F.gelu(self.c_fc(self.ln_2(x))))


class GPT(nn.Module):
    def __init__(self, layers, w, vocab, seq, head_dim=64):
        super().__init__()
        self.wte, self.wpe = nn.Embedding(vocab, w), nn.Embedding(seq, w)
        self.h = nn.ModuleList(Block(w, w // head_dim) for _ in range(layers))
        self.ln_f, self.lm_head = nn.LayerNorm(w), nn.Linear(w, vocab, bias=False)
        self.register_buffer("mask", torch.ones(seq, seq, dtype=torch.bool).triu(1))

    def forward(self, idx, targets):
        x = self.wte(idx) + self.wpe(torch.arange(idx.size(1), device=idx.device))
        for block in self.h:
            x = block(x, self.mask)
        logits = self.lm_head(self.ln_f(x))
        return F.cross_entropy(logits.reshape(-1, logits.size(-1)), targets.reshape(-1))


def set_openblas_threads(n):
    """Debian's torch runs its GEMMs in OpenBLAS, whose own threads torch.set_num_threads leaves alone (a
    "one-thread" run keeps a second OpenBLAS thread on the other core). nanolm's Torch.threadCount sets
    both, so the peer does too: the same threads for both engines. No-op where OpenBLAS is not loaded."""
    with open("/proc/self/maps") as maps:
        paths = {line.split()[-1] for line in maps if "libopenblas" in line}
    for path in paths:
        ctypes.CDLL(path).openblas_set_num_threads(n)


def gemm_peak(n=2048, repeats=5, device="cpu", dtype=torch.float32):
    a, b = torch.randn(n, n, device=device, dtype=dtype), torch.randn(n, n, device=device, dtype=dtype)
    (a @ b).sum().item()
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        (a @ b).sum().item()  # .item() waits for the device
        best = min(best, time.perf_counter() - t)
    return 2 * n**3 / best


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--layers", type=int, default=4)
    p.add_argument("--width", type=int, default=256)
    p.add_argument("--vocab", type=int, default=8192)
    p.add_argument("--seq", type=int, default=256)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--head-dim", type=int, default=64, help="heads = width / head-dim (the study's: 16)")
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--bf16", action="store_true")
    p.add_argument("--device", default="cpu", help="cpu or cuda")
    p.add_argument("--compile", action="store_true", help="torch.compile the model (PyTorch 2.x)")
    p.add_argument("--no-peak", action="store_true", help="skip the GEMM peak measurement (gemm_peak_flops: null)")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    set_openblas_threads(a.threads)
    torch.manual_seed(0)
    model = GPT(a.layers, a.width, a.vocab, a.seq, a.head_dim).to(a.device)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.0)
    step_model = torch.compile(model) if a.compile else model
    tokens = torch.randint(0, a.vocab, (a.steps + a.warmup, a.batch, a.seq + 1), device=a.device)
    elapsed = 0.0
    for step in range(a.steps + a.warmup):
        t = time.perf_counter()
        x, y = tokens[step, :, :-1], tokens[step, :, 1:]
        with torch.autocast(torch.device(a.device).type, dtype=torch.bfloat16, enabled=a.bf16):
            loss = step_model(x, y)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        loss.item()
        if step >= a.warmup:
            elapsed += time.perf_counter() - t
    params = sum(p.numel() for p in model.parameters())
    print(json.dumps({"tokens_per_s": a.steps * a.batch * a.seq / elapsed, "parameters": params,
                      "gemm_peak_flops": None if a.no_peak else gemm_peak(device=a.device, dtype=torch.bfloat16 if a.bf16 and a.device != "cpu" else torch.float32),
                      "threads": a.threads, "bf16": a.bf16, "device": a.device, "compile": a.compile}))


if __name__ == "__main__":
    main()
