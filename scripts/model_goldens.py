#!/usr/bin/env python3
"""Goldens for nanolm's GPT, Llama, BERT and T5 (Tests/NanoLMTests/{GPT,Llama,BERT,T5}Tests.swift).

    scripts/python.sh scripts/model_goldens.py

Plain PyTorch reference modules written here (nanoGPT's GPT; Hugging Face's LlamaForCausalLM,
BertForMaskedLM and T5ForConditionalGeneration (v1.1: gated-GELU, untied lm_head) re-typed, since
transformers is not installed), with the μP forward multipliers of nanolm's
Parametrization: width 128 against base width 64 (r = 2), output multiplier τ/r with τ = 3, attention
logits scaled by 8/d_head (d_head = 32, so μP's 1/4 differs from SP's 1/√32). Weights are random
(not μP's zero query/readout, so every gradient is non-trivial). For each model the fixture holds

    weights.<name>   every parameter under its state-dict name
    grad.<name>      d loss / d parameter
    inputs, targets  the batch [2, 16] (a few targets are -100, ignored; BERT: targets only at masked
                     positions; T5: targets [2, 8] with decoder_inputs, the targets shifted right)
    logits, loss     the forward pass

Files: Tests/NanoLMTests/Fixtures/models/{gpt,gpt_tied,llama,bert,bert_tied,t5}.safetensors. The RNG
sequence is fixed: models are written in that order, each after the previous one.
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


def causal_attention(q, k, v, heads, scale, rotary=None, causal=True, bias=None):
    """q [B, T, W], k, v [B, S, W] -> [B, T, W], multi-head attention with logits scaled by `scale`,
    plus `bias` [1, H, T, S] (T5) and the causal mask unless causal=False."""
    B, T, W = q.shape
    S = k.shape[1]
    q = q.view(B, T, heads, W // heads).transpose(1, 2)  # [B, H, T, D]
    k, v = (t.view(B, S, heads, W // heads).transpose(1, 2) for t in (k, v))  # [B, H, S, D]
    if rotary is not None:
        q, k = rotary(q), rotary(k)
    att = (q @ k.transpose(-2, -1)) * scale
    if bias is not None:
        att = att + bias
    if causal:
        mask = torch.tril(torch.ones(T, S, dtype=torch.bool))
        att = att.masked_fill(~mask, float("-inf"))
    return (att.softmax(dim=-1) @ v).transpose(1, 2).contiguous().view(B, T, W)


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


# ---------------------------------------------------------------- BERT (HF BertForMaskedLM)
class BertLayer(nn.Module):
    def __init__(self, W, heads):
        super().__init__()
        self.heads = heads
        F_ = CONFIG["ffn_ratio"] * W
        self.attention = nn.Module()
        self.attention.self = nn.Module()
        for name in ("query", "key", "value"):
            setattr(self.attention.self, name, nn.Linear(W, W))
        self.attention.output = nn.Module()
        self.attention.output.dense = nn.Linear(W, W)
        self.attention.output.LayerNorm = nn.LayerNorm(W, eps=1e-12)
        self.intermediate = nn.Module()
        self.intermediate.dense = nn.Linear(W, F_)
        self.output = nn.Module()
        self.output.dense = nn.Linear(F_, W)
        self.output.LayerNorm = nn.LayerNorm(W, eps=1e-12)

    def forward(self, x):
        a = self.attention.self
        ctx = causal_attention(a.query(x), a.key(x), a.value(x), self.heads, ATTN_SCALE, causal=False)
        h = self.attention.output.LayerNorm(x + self.attention.output.dense(ctx))
        return self.output.LayerNorm(h + self.output.dense(F.gelu(self.intermediate.dense(h))))


class Bert(nn.Module):
    def __init__(self, tied):
        super().__init__()
        V, T, L, W = CONFIG["vocab"], CONFIG["seq"], CONFIG["layers"], CONFIG["width"]
        self.bert = nn.Module()
        self.bert.embeddings = nn.Module()
        self.bert.embeddings.word_embeddings = nn.Embedding(V, W)
        self.bert.embeddings.position_embeddings = nn.Embedding(T, W)
        self.bert.embeddings.token_type_embeddings = nn.Embedding(2, W)
        self.bert.embeddings.LayerNorm = nn.LayerNorm(W, eps=1e-12)
        self.bert.encoder = nn.Module()
        self.bert.encoder.layer = nn.ModuleList([BertLayer(W, W // CONFIG["head_dim"]) for _ in range(L)])
        self.cls = nn.Module()
        self.cls.predictions = nn.Module()
        self.cls.predictions.transform = nn.Module()
        self.cls.predictions.transform.dense = nn.Linear(W, W)
        self.cls.predictions.transform.LayerNorm = nn.LayerNorm(W, eps=1e-12)
        self.cls.predictions.decoder = nn.Linear(W, V, bias=False)
        self.cls.predictions.bias = nn.Parameter(torch.zeros(V))
        if tied:
            self.cls.predictions.decoder.weight = self.bert.embeddings.word_embeddings.weight

    def forward(self, idx):
        e = self.bert.embeddings
        pos = torch.arange(idx.shape[1])
        types = torch.zeros_like(idx)
        x = e.LayerNorm(e.word_embeddings(idx) + e.position_embeddings(pos) + e.token_type_embeddings(types))
        for layer in self.bert.encoder.layer:
            x = layer(x)
        p = self.cls.predictions
        h = p.transform.LayerNorm(F.gelu(p.transform.dense(x)))
        return p.decoder(h) * OUTPUT_MULT + p.bias  # mup's MuReadout: the bias is not multiplied


# ---------------------------------------------------------------- T5 (HF T5ForConditionalGeneration, v1.1)
def relative_position_bucket(relative_position, bidirectional, num_buckets=32, max_distance=128):
    """HF T5Attention._relative_position_bucket, verbatim in its arithmetic."""
    relative_buckets = 0
    if bidirectional:
        num_buckets //= 2
        relative_buckets += (relative_position > 0).to(torch.long) * num_buckets
        relative_position = torch.abs(relative_position)
    else:
        relative_position = -torch.min(relative_position, torch.zeros_like(relative_position))
    max_exact = num_buckets // 2
    is_small = relative_position < max_exact
    relative_position_if_large = max_exact + (
        torch.log(relative_position.float() / max_exact) / math.log(max_distance / max_exact) * (num_buckets - max_exact)
    ).to(torch.long)
    relative_position_if_large = torch.min(relative_position_if_large, torch.full_like(relative_position_if_large, num_buckets - 1))
    return relative_buckets + torch.where(is_small, relative_position, relative_position_if_large)


def position_bias(table, T, bidirectional):
    """table [32, H] -> [1, H, T, T] (HF T5Attention.compute_bias)."""
    context = torch.arange(T)[:, None]
    memory = torch.arange(T)[None, :]
    buckets = relative_position_bucket(memory - context, bidirectional)
    return table(buckets).permute([2, 0, 1]).unsqueeze(0)


class T5Attention(nn.Module):
    def __init__(self, W, relative):
        super().__init__()
        for name in ("q", "k", "v", "o"):
            setattr(self, name, nn.Linear(W, W, bias=False))
        if relative:
            self.relative_attention_bias = nn.Embedding(32, W // CONFIG["head_dim"])


class T5LayerFF(nn.Module):
    def __init__(self, W):
        super().__init__()
        F_ = CONFIG["ffn_ratio"] * W
        self.DenseReluDense = nn.Module()
        self.DenseReluDense.wi_0 = nn.Linear(W, F_, bias=False)
        self.DenseReluDense.wi_1 = nn.Linear(W, F_, bias=False)
        self.DenseReluDense.wo = nn.Linear(F_, W, bias=False)
        self.layer_norm = RMSNorm(W)

    def forward(self, x):
        d, n = self.DenseReluDense, self.layer_norm(x)
        return x + d.wo(F.gelu(d.wi_0(n), approximate="tanh") * d.wi_1(n))


class T5Block(nn.Module):
    def __init__(self, W, decoder, relative):
        super().__init__()
        self.heads = W // CONFIG["head_dim"]
        self.decoder = decoder
        self.layer = nn.ModuleList()
        self_attn = nn.Module()
        self_attn.SelfAttention = T5Attention(W, relative)
        self_attn.layer_norm = RMSNorm(W)
        self.layer.append(self_attn)
        if decoder:
            cross = nn.Module()
            cross.EncDecAttention = T5Attention(W, False)
            cross.layer_norm = RMSNorm(W)
            self.layer.append(cross)
        self.layer.append(T5LayerFF(W))

    def forward(self, x, bias, memory=None):
        a, n = self.layer[0].SelfAttention, self.layer[0].layer_norm(x)
        x = x + a.o(causal_attention(a.q(n), a.k(n), a.v(n), self.heads, ATTN_SCALE, causal=self.decoder, bias=bias))
        if self.decoder:
            c, n = self.layer[1].EncDecAttention, self.layer[1].layer_norm(x)
            x = x + c.o(causal_attention(c.q(n), c.k(memory), c.v(memory), self.heads, ATTN_SCALE, causal=False))
        return self.layer[-1](x)


class T5Stack(nn.Module):
    def __init__(self, decoder):
        super().__init__()
        W, L = CONFIG["width"], CONFIG["layers"]
        self.decoder = decoder
        self.block = nn.ModuleList([T5Block(W, decoder, relative=(i == 0)) for i in range(L)])
        self.final_layer_norm = RMSNorm(W)

    def forward(self, x, memory=None):
        bias = position_bias(self.block[0].layer[0].SelfAttention.relative_attention_bias, x.shape[1], not self.decoder)
        for block in self.block:
            x = block(x, bias, memory)
        return self.final_layer_norm(x)


class T5(nn.Module):
    def __init__(self):
        super().__init__()
        V, W = CONFIG["vocab"], CONFIG["width"]
        self.shared = nn.Embedding(V, W)
        self.encoder = T5Stack(decoder=False)
        self.decoder = T5Stack(decoder=True)
        self.lm_head = nn.Linear(W, V, bias=False)

    def forward(self, idx, decoder_idx):
        memory = self.encoder(self.shared(idx))
        return self.lm_head(self.decoder(self.shared(decoder_idx), memory)) * OUTPUT_MULT


# ---------------------------------------------------------------- fixtures
def randomize(model):
    """Random values of a sensible size for every parameter (norm gains around 1)."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.dim() == 1 and ("ln" in name or "norm" in name.lower()) and name.endswith("weight"):
                p.copy_(1 + 0.1 * torch.randn_like(p))
            elif p.dim() == 1:
                p.copy_(0.05 * torch.randn_like(p))
            elif "wte" in name or "wpe" in name or "embed" in name:
                p.copy_(0.1 * torch.randn_like(p))
            else:
                p.copy_(0.1 * torch.randn_like(p))


def write(name, model, objective="causal"):
    B, T, V = CONFIG["batch"], CONFIG["seq"], CONFIG["vocab"]
    randomize(model)
    out = {}
    if objective == "causal":
        tokens = torch.randint(0, V, (B, T + 1))
        inputs, targets = tokens[:, :-1].contiguous(), tokens[:, 1:].clone()
        targets[0, :3] = -100
        targets[1, -1] = -100
        logits = model(inputs)
    elif objective == "masked":  # a quarter of the positions masked (id V - 1 stands for [MASK])
        original = torch.randint(0, V - 1, (B, T))
        masked = torch.rand(B, T) < 0.25
        masked[:, 0] = True
        inputs = original.masked_fill(masked, V - 1)
        targets = original.masked_fill(~masked, -100)
        logits = model(inputs)
    else:  # spans: encoder inputs [B, T], targets [B, T/2], decoder inputs = targets shifted right (0 first)
        inputs = torch.randint(0, V, (B, T))
        targets = torch.randint(0, V, (B, T // 2))
        decoder_inputs = torch.cat([torch.zeros(B, 1, dtype=torch.long), targets[:, :-1]], dim=1)
        targets[1, -2:] = -100
        out["decoder_inputs"] = decoder_inputs
        offsets = torch.arange(-200, 201)  # HF's buckets for relative offsets key − query = -200…200
        out["buckets.bidirectional"] = relative_position_bucket(offsets, True)
        out["buckets.causal"] = relative_position_bucket(offsets, False)
        logits = model(inputs, decoder_inputs)
    loss = F.cross_entropy(logits.reshape(-1, V), targets.reshape(-1), ignore_index=-100)
    loss.backward()
    out.update({"inputs": inputs, "targets": targets, "logits": logits.detach().contiguous(), "loss": loss.detach().reshape(1)})
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
    write("bert", Bert(tied=False), "masked")
    write("bert_tied", Bert(tied=True), "masked")
    write("t5", T5(), "spans")
