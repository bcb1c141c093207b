#!/usr/bin/env python3
"""Goldens for nanolm's optimizers (Tests/NanoLMTests/OptimizerTests.swift).

    scripts/python.sh scripts/optimizer_goldens.py

Three parameters with μP learning-rate multipliers (hidden 0.5, vector 1, input 1) take five steps on
fixed gradients with a changing base learning rate, under
  - torch.optim.AdamW with one param group per tensor (lr = base·mult, weight_decay = wd/mult for
    decaying tensors, 0 for the vector), and
  - nanoT5's AdamWScale (its step() reproduced below from the nanoT5 repository's algorithm),
and torch.nn.utils.clip_grad_norm_ is applied to a fixed set of gradients.
"""
import math
import os

import torch
from safetensors.torch import save_file

torch.manual_seed(7)
OUT = os.path.join(os.path.dirname(__file__), "..", "Tests", "NanoLMTests", "Fixtures", "optimizer.safetensors")
SHAPES = {"hidden": (4, 3), "vector": (3,), "input": (5, 3)}
MULT = {"hidden": 0.5, "vector": 1.0, "input": 1.0}
DECAYS = {"hidden": True, "vector": False, "input": True}
LRS = [1e-2, 2e-2, 5e-3, 1e-2, 3e-3]
WD, B1, B2, EPS = 0.1, 0.9, 0.95, 1e-8

init = {k: torch.randn(s) for k, s in SHAPES.items()}
init["zero"] = torch.zeros(2, 3)
SHAPES["zero"], MULT["zero"], DECAYS["zero"] = (2, 3), 0.5, True
grads = [{k: torch.randn(s) for k, s in SHAPES.items()} for _ in LRS]
out = {f"init.{k}": v for k, v in init.items()}
for i, g in enumerate(grads):
    out.update({f"grad{i}.{k}": v for k, v in g.items()})
out["lrs"] = torch.tensor(LRS, dtype=torch.float64)

# torch.optim.AdamW
params = {k: v.clone().requires_grad_() for k, v in init.items()}
groups = [{"params": [params[k]], "lr": LRS[0] * MULT[k], "weight_decay": (WD / MULT[k]) if DECAYS[k] else 0.0}
          for k in SHAPES]
opt = torch.optim.AdamW(groups, betas=(B1, B2), eps=EPS)
for i, lr in enumerate(LRS):
    for group, k in zip(opt.param_groups, SHAPES):
        group["lr"] = lr * MULT[k]
        params[k].grad = grads[i][k].clone()
    opt.step()
    out.update({f"adamw{i}.{k}": params[k].detach().clone() for k in SHAPES})


# nanoT5 AdamWScale (correct_bias=True)
def rms(t):
    return t.norm(2) / (t.numel() ** 0.5)


params = {k: v.clone() for k, v in init.items()}
state = {k: (torch.zeros_like(v), torch.zeros_like(v)) for k, v in params.items()}
for i, base in enumerate(LRS):
    for k, p in params.items():
        lr, wd = base * MULT[k], ((WD / MULT[k]) if DECAYS[k] else 0.0)
        m, v = state[k]
        g = grads[i][k]
        step = i + 1
        m.mul_(B1).add_(g, alpha=1.0 - B1)
        v.mul_(B2).addcmul_(g, g, value=1.0 - B2)
        denom = v.sqrt().add_(EPS)
        step_size = lr * math.sqrt(1.0 - B2 ** step) / (1.0 - B1 ** step)
        step_size = step_size * max(1e-3, rms(p).item())
        p.addcdiv_(m, denom, value=-step_size)
        if wd > 0.0:
            p.add_(p, alpha=(-lr * wd))
    out.update({f"adamwscale{i}.{k}": params[k].clone() for k in SHAPES})

# clip_grad_norm_
clip = {k: (torch.randn(s) * 3).requires_grad_() for k, s in SHAPES.items()}
for k, p in clip.items():
    p.grad = torch.randn(SHAPES[k]) * 2
    out[f"clip.before.{k}"] = p.grad.clone()
total = torch.nn.utils.clip_grad_norm_(list(clip.values()), max_norm=1.0)
out["clip.total"] = total.reshape(1).double()
out.update({f"clip.after.{k}": p.grad.clone() for k, p in clip.items()})

save_file(out, OUT)
print(f"wrote {len(out)} tensors to {os.path.normpath(OUT)}")
