#!/usr/bin/env python3
"""Goldens for nanolm's GPT and Llama (Tests/NanoLMTests/GPTTests.swift, LlamaTests.swift).

    scripts/python.sh scripts/model_goldens.py

Plain PyTorch reference modules written here (nanoGPT's GPT; Hugging Face's LlamaForCausalLM
re-typed, since transformers is not installed), with the μP forward multipliers of nanolm's
Parametrization: width 128 against base width 64 (r = 2), output multiplier τ/r with τ = 3, attention
logits scaled by 8/d_head (d_head = 32, so μP's 1/4 differs from SP's 1/√32). Weights are random
(not μP's zero query/readout, so every gradient is non-trivial). For each model the fixture holds

    weights.<name>   every parameter under its state-dict name
    grad.<name>      d loss / d parameter
    inputs, targets  the batch [2, 16] (a few targets are -100, ignored)
    logits, loss     the forward pass

Files: Tests/NanoLMTests/Fixtures/models/{gpt,gpt_tied,llama}.safetensors.
"""
import json
import math
import os

import torch
import torch.nn as nn
import torch.nn.functional as F
from safetensors.torch import save_file

OUT = os.path.join(os.path.dirname(__file__), "..", "Tests", "NanoLMTests", "Fixtures", "models")
CONFIG = dict(layers=2, width=128, vocab=256, seq=16, head_dim=32, ffn_ratio=4, base_width=64, tau=3.0,
              attention_multiplier=8.0, batch=2)
R = CONFIG["width"] / CONFIG["base_width"]
OUTPUT_MULT = CONFIG["tau"] / R
ATTN_SCALE = CONFIG["attention_multiplier"] / CONFIG["head_dim"]


def causal_attention(q, k, v, heads, scale, rotary=None):
    """q, k, v [B, T, W] -> [B, T, W], multi-head causal attention with logits scaled by `scale`."""
    B, T, W = q.shape
    q, k, v = (t.view(B, T, heads, W // heads).transpose(1, 2) for t in (q, k, v))  # [B, H, T, D]
    if rotary is not None:
        q, k = rotary(q), rotary(k)
    att = (q @ k.transpose(-2, -1)) * scale
    mask = torch.tril(torch.ones(T, T, dtype=torch.bool))
    att = att.masked_fill(~mask, float("-inf")).softmax(dim=-1)
    return (att @ v).transpose(1, 2).contiguous().view(B, T, W)


# ---------------------------------------------------------------- GPT (nanoGPT)
class GPTBlock(nn.Module):
    def __init__(self, W, heads):
        super().__init__()
        self.heads = heads
        self.ln_1 = nn.LayerNorm(W)
        self.attn = nn.Module()
        self.attn.c_attn = nn.Linear(W, 3 * W)
        self.attn.c_proj = nn.Linear(W, W)
        self.ln_2 = nn.LayerNorm(W)
        self.mlp = nn.Module()
        self.mlp.c_fc = nn.Linear(W, CONFIG["ffn_ratio"] * W)
        self.mlp.c_proj = nn.Linear(CONFIG["ffn_ratio"] * W, W)

    def forward(self, x):
        q, k, v = self.attn.c_attn(self.ln_1(x)).split(x.shape[-1], dim=2)
        x = x + self.attn.c_proj(causal_attention(q, k, v, self.heads, ATTN_SCALE))
        return x + self.mlp.c_proj(F.gelu(self.mlp.c_fc(self.ln_2(x))))


class GPT(nn.Module):
    def __init__(self, tied):
        super().__init__()
        V, T, L, W = CONFIG["vocab"], CONFIG["seq"], CONFIG["layers"], CONFIG["width"]
        self.transformer = nn.ModuleDict(dict(
            wte=nn.Embedding(V, W), wpe=nn.Embedding(T, W),
            h=nn.ModuleList([GPTBlock(W, W // CONFIG["head_dim"]) for _ in range(L)]), ln_f=nn.LayerNorm(W)))
        self.lm_head = nn.Linear(W, V, bias=False)
        if tied:
            self.lm_head.weight = self.transformer.wte.weight

    def forward(self, idx):
        pos = torch.arange(idx.shape[1])
        x = self.transformer.wte(idx) + self.transformer.wpe(pos)
        for block in self.transformer.h:
            x = block(x)
        return self.lm_head(self.transformer.ln_f(x)) * OUTPUT_MULT


# ---------------------------------------------------------------- Llama (HF LlamaForCausalLM)
class RMSNorm(nn.Module):
    def __init__(self, W, eps=1e-6):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(W))
        self.eps = eps

    def forward(self, x):
        variance = x.pow(2).mean(-1, keepdim=True)
        return self.weight * (x * torch.rsqrt(variance + self.eps))


class Rotary:
    """HF LlamaRotaryEmbedding + apply_rotary_pos_emb (rotate_half convention)."""

    def __init__(self, D, base=10000.0):
        self.inv_freq = 1.0 / (base ** (torch.arange(0, D, 2).float() / D))

    def __call__(self, x):  # [B, H, T, D]
        t = torch.arange(x.shape[2]).float()
        freqs = torch.einsum("i,j->ij", t, self.inv_freq)
        emb = torch.cat((freqs, freqs), dim=-1)
        x1, x2 = x[..., : x.shape[-1] // 2], x[..., x.shape[-1] // 2:]
        return x * emb.cos() + torch.cat((-x2, x1), dim=-1) * emb.sin()


class LlamaLayer(nn.Module):
    def __init__(self, W, heads):
        super().__init__()
        self.heads = heads
        F_ = CONFIG["ffn_ratio"] * W
        self.self_attn = nn.Module()
        for name in ("q_proj", "k_proj", "v_proj", "o_proj"):
            setattr(self.self_attn, name, nn.Linear(W, W, bias=False))
        self.mlp = nn.Module()
        self.mlp.gate_proj = nn.Linear(W, F_, bias=False)
        self.mlp.up_proj = nn.Linear(W, F_, bias=False)
        self.mlp.down_proj = nn.Linear(F_, W, bias=False)
        self.input_layernorm = RMSNorm(W)
        self.post_attention_layernorm = RMSNorm(W)
        self.rotary = Rotary(W // heads)

    def forward(self, x):
        n = self.input_layernorm(x)
        a = self.self_attn
        x = x + a.o_proj(causal_attention(a.q_proj(n), a.k_proj(n), a.v_proj(n), self.heads, ATTN_SCALE, self.rotary))
        n = self.post_attention_layernorm(x)
        return x + self.mlp.down_proj(F.silu(self.mlp.gate_proj(n)) * self.mlp.up_proj(n))


class Llama(nn.Module):
    def __init__(self):
        super().__init__()
        V, L, W = CONFIG["vocab"], CONFIG["layers"], CONFIG["width"]
        self.model = nn.Module()
        self.model.embed_tokens = nn.Embedding(V, W)
        self.model.layers = nn.ModuleList([LlamaLayer(W, W // CONFIG["head_dim"]) for _ in range(L)])
        self.model.norm = RMSNorm(W)
        self.lm_head = nn.Linear(W, V, bias=False)

    def forward(self, idx):
        x = self.model.embed_tokens(idx)
        for layer in self.model.layers:
            x = layer(x)
        return self.lm_head(self.model.norm(x)) * OUTPUT_MULT


# ---------------------------------------------------------------- fixtures
def randomize(model):
    """Random values of a sensible size for every parameter (norm gains around 1)."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.dim() == 1 and ("ln" in name or "norm" in name) and name.endswith("weight"):
                p.copy_(1 + 0.1 * torch.randn_like(p))
            elif p.dim() == 1:
                p.copy_(0.05 * torch.randn_like(p))
            elif "wte" in name or "wpe" in name or "embed" in name:
                p.copy_(0.1 * torch.randn_like(p))
            else:
                p.copy_(0.1 * torch.randn_like(p))


def write(name, model):
    B, T, V = CONFIG["batch"], CONFIG["seq"], CONFIG["vocab"]
    randomize(model)
    tokens = torch.randint(0, V, (B, T + 1))
    inputs, targets = tokens[:, :-1].contiguous(), tokens[:, 1:].clone()
    targets[0, :3] = -100
    targets[1, -1] = -100
    logits = model(inputs)
    loss = F.cross_entropy(logits.view(-1, V), targets.view(-1), ignore_index=-100)
    loss.backward()
    out = {"inputs": inputs, "targets": targets, "logits": logits.detach().contiguous(), "loss": loss.detach().reshape(1)}
    for n, p in model.named_parameters():  # a tied weight appears once, under transformer.wte.weight
        out[f"weights.{n}"] = p.detach().contiguous()
        out[f"grad.{n}"] = p.grad.contiguous()
    path = os.path.join(OUT, f"{name}.safetensors")
    save_file(out, path, metadata={"config": json.dumps(CONFIG), "torch": torch.__version__})
    print(f"{path}: loss {loss.item():.6f}, {len(out)} tensors")


if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    torch.manual_seed(1234)
    write("gpt", GPT(tied=False))
    write("gpt_tied", GPT(tied=True))
    write("llama", Llama())
