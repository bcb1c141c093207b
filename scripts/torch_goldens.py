#!/usr/bin/env python3
"""Writes the PyTorch goldens that Tests/TorchTests compare the Swift Tensor API against.

Run with Debian's python3-torch (the same libtorch 1.13 that nanolm links) and PyPI's safetensors:

    scripts/python.sh scripts/torch_goldens.py

For every op below it stores, under the op's name:
  <op>.in0, <op>.in1, …   the inputs (float inputs are leaves that require grad)
  <op>.out                the output (for ops returning several tensors: <op>.out0, <op>.out1, …)
  <op>.w                  random weights w of the output's shape; the test back-propagates sum(out * w)
  <op>.grad0, …           d sum(out * w) / d in_i for each float input
The Swift test (Tests/TorchTests/GoldenTests.swift) knows how to call each op by the same name.
It also writes dtypes.safetensors (every dtype, with metadata) to check interchange with the
reference safetensors implementation.
"""
import os
import sys

import torch
import torch.nn.functional as F
from safetensors.torch import save_file

torch.manual_seed(1234)
OUT = os.path.join(os.path.dirname(__file__), "..", "Tests", "TorchTests", "Fixtures")


def randn(*shape):
    return torch.randn(*shape, dtype=torch.float32)


def positive(*shape):
    return torch.rand(*shape, dtype=torch.float32) + 0.5


def ints(high, *shape):
    return torch.randint(0, high, shape, dtype=torch.int64)


# name -> (inputs, function)
CASES = {
    "neg": ([randn(3, 4)], lambda a: -a),
    "abs": ([randn(3, 4)], torch.abs),
    "exp": ([randn(3, 4)], torch.exp),
    "log": ([positive(3, 4)], torch.log),
    "sqrt": ([positive(3, 4)], torch.sqrt),
    "rsqrt": ([positive(3, 4)], torch.rsqrt),
    "sin": ([randn(3, 4)], torch.sin),
    "cos": ([randn(3, 4)], torch.cos),
    "tanh": ([randn(3, 4)], torch.tanh),
    "sigmoid": ([randn(3, 4)], torch.sigmoid),
    "relu": ([randn(3, 4)], torch.relu),
    "silu": ([randn(3, 4)], F.silu),
    "gelu": ([randn(3, 4)], F.gelu),
    "gelu_tanh": ([randn(3, 4)], lambda a: F.gelu(a, approximate="tanh")),
    "pow_scalar": ([positive(3, 4)], lambda a: a.pow(3.0)),
    "pow": ([positive(3, 4), randn(4)], torch.pow),
    "add": ([randn(3, 4), randn(4)], lambda a, b: a + b),
    "sub": ([randn(3, 4), randn(3, 1)], lambda a, b: a - b),
    "mul": ([randn(2, 3, 4), randn(3, 4)], lambda a, b: a * b),
    "div": ([randn(3, 4), positive(4)], lambda a, b: a / b),
    "add_scalar": ([randn(3, 4)], lambda a: a + 2.5),
    "mul_scalar": ([randn(3, 4)], lambda a: a * -1.5),
    "rsub_scalar": ([randn(3, 4)], lambda a: 1.0 - a),
    "rdiv_scalar": ([positive(3, 4)], lambda a: 2.0 / a),
    "maximum": ([randn(3, 4), randn(3, 4)], torch.maximum),
    "minimum": ([randn(3, 4), randn(3, 4)], torch.minimum),
    "clamp": ([randn(3, 4)], lambda a: a.clamp(-0.5, 0.5)),
    "matmul": ([randn(2, 3, 4), randn(4, 5)], torch.matmul),
    "bmm": ([randn(2, 3, 4), randn(2, 4, 5)], torch.bmm),
    "linear": ([randn(2, 3, 4), randn(5, 4), randn(5)], F.linear),
    "sum_all": ([randn(3, 4)], lambda a: a.sum()),
    "sum_dim": ([randn(2, 3, 4)], lambda a: a.sum(dim=1, keepdim=True)),
    "mean_dims": ([randn(2, 3, 4)], lambda a: a.mean(dim=(0, 2))),
    "max_dim": ([randn(3, 5)], lambda a: a.max(dim=1)),
    "argmax": ([randn(3, 5)], lambda a: a.argmax(dim=-1)),
    "norm": ([randn(3, 4)], lambda a: a.norm()),
    "norm_dim": ([randn(3, 4)], lambda a: a.norm(p=2, dim=1, keepdim=True)),
    "softmax": ([randn(3, 5)], lambda a: a.softmax(dim=-1)),
    "log_softmax": ([randn(3, 5)], lambda a: a.log_softmax(dim=-1)),
    "layer_norm": ([randn(2, 3, 8), randn(8), randn(8)], lambda x, w, b: F.layer_norm(x, (8,), w, b, 1e-5)),
    "embedding": ([randn(10, 4), ints(10, 2, 3)], lambda w, i: F.embedding(i, w)),
    "cross_entropy": ([randn(6, 7), torch.tensor([0, 3, -100, 6, 2, -100])],
                      lambda x, t: F.cross_entropy(x, t, ignore_index=-100)),
    "cross_entropy_sum": ([randn(6, 7), torch.tensor([0, 3, 1, 6, 2, 5])],
                          lambda x, t: F.cross_entropy(x, t, reduction="sum")),
    "masked_fill": ([randn(3, 4), torch.rand(3, 4) > 0.5], lambda a, m: a.masked_fill(m, -1e4)),
    "where": ([torch.rand(3, 4) > 0.5, randn(3, 4), randn(3, 4)], torch.where),
    "triu": ([randn(4, 4)], lambda a: a.triu(1)),
    "tril": ([randn(4, 4)], lambda a: a.tril()),
    "reshape": ([randn(2, 3, 4)], lambda a: a.reshape(6, 4)),
    "transpose": ([randn(2, 3, 4)], lambda a: a.transpose(1, 2).contiguous()),
    "permute": ([randn(2, 3, 4)], lambda a: a.permute(2, 0, 1).contiguous()),
    "narrow": ([randn(5, 4)], lambda a: a.narrow(0, 1, 3)),
    "slice_step": ([randn(6, 4)], lambda a: a[1:6:2]),
    "expand": ([randn(3, 1)], lambda a: a.expand(3, 4)),
    "unsqueeze": ([randn(3, 4)], lambda a: a.unsqueeze(1)),
    "squeeze": ([randn(3, 1, 4)], lambda a: a.squeeze(1)),
    "cat": ([randn(2, 3), randn(4, 3)], lambda a, b: torch.cat([a, b], dim=0)),
    "stack": ([randn(2, 3), randn(2, 3)], lambda a, b: torch.stack([a, b], dim=1)),
    "split": ([randn(7, 3)], lambda a: a.split(3, dim=0)),
    "chunk": ([randn(3, 8)], lambda a: a.chunk(4, dim=1)),
    "index_select": ([randn(5, 3), torch.tensor([4, 0, 2, 2])], lambda a, i: a.index_select(0, i)),
    "gather": ([randn(3, 5), ints(5, 3, 2)], lambda a, i: a.gather(1, i)),
}


def main():
    tensors = {}
    for name, (inputs, fn) in CASES.items():
        leaves = [x.clone().requires_grad_(x.is_floating_point()) for x in inputs]
        out = fn(*leaves)
        outs = list(out) if isinstance(out, (tuple, list)) else [out]
        for i, x in enumerate(inputs):
            tensors[f"{name}.in{i}"] = x
        weights = []
        for k, o in enumerate(outs):
            key = f"{name}.out" if len(outs) == 1 else f"{name}.out{k}"
            tensors[key] = o.detach().contiguous()
            if o.is_floating_point():
                w = torch.randn(o.shape, dtype=torch.float32)
                weights.append((o, w))
                tensors[key.replace(".out", ".w")] = w
        if weights and any(l.requires_grad for l in leaves):
            loss = sum((o * w).sum() for o, w in weights)
            loss.backward()
            for i, leaf in enumerate(leaves):
                if leaf.requires_grad:
                    grad = leaf.grad if leaf.grad is not None else torch.zeros_like(leaf)
                    tensors[f"{name}.grad{i}"] = grad.contiguous()
    save_file(tensors, os.path.join(OUT, "ops.safetensors"), metadata={"torch": torch.__version__})

    dtypes = {
        "f32": torch.tensor([[1.5, -2.25, 3.0], [0.0, 1e-8, -7.5]], dtype=torch.float32),
        "f64": torch.tensor([1.0 / 3.0, -2.0], dtype=torch.float64),
        "bf16": torch.tensor([1.0, -0.5, 3.140625, 65280.0], dtype=torch.bfloat16),
        "i64": torch.tensor([[-(2**40), 0, 7]], dtype=torch.int64),
        "bool": torch.tensor([True, False, True]),
        "u8": torch.tensor([0, 255, 17], dtype=torch.uint8),
        "empty": torch.zeros(0, 3, dtype=torch.float32),
        "scalar": torch.tensor(2.5, dtype=torch.float32),
    }
    save_file(dtypes, os.path.join(OUT, "dtypes.safetensors"), metadata={"written_by": "python safetensors"})
    print(f"wrote {len(tensors)} op tensors for {len(CASES)} ops and {len(dtypes)} dtype tensors to {os.path.normpath(OUT)}")


if __name__ == "__main__":
    sys.exit(main())
