#!/usr/bin/env python3
"""One markdown table from the GPU check's results/ (scripts/gpu_check/run.sh writes them).

    python3 report.py results
"""
import glob
import json
import math
import os
import sys

RESULTS = sys.argv[1] if len(sys.argv) > 1 else "results"
GOLDEN_TOLERANCE = 1e-4              # fp32 on CUDA against PyTorch 1.13's CPU goldens
CURVE_TOLERANCE = {"fp32": 1e-2,   # largest relative loss difference over 200 steps
                   "bf16": 5e-2}   # bf16 rounds differently in oneDNN (CPU) and cuBLAS (CUDA)


def load(name):
    try:
        with open(os.path.join(RESULTS, name)) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def losses(run):
    try:
        with open(os.path.join(RESULTS, run, "metrics.jsonl")) as f:
            rows = [json.loads(line) for line in f]
    except OSError:
        return None
    return {r["step"]: r["loss"] for r in rows if "loss" in r and "step" in r}


rows = []  # (check, measured, tolerance, verdict)
for path in sorted(glob.glob(os.path.join(RESULTS, "golden-*.json"))):
    name = os.path.basename(path)[len("golden-"):-len(".json")]
    g = load(os.path.basename(path))
    if not g:
        rows.append((f"golden {name} on CUDA", "failed to run", f"{GOLDEN_TOLERANCE:g}", "FAIL"))
        continue
    worst = max(g["logitsError"], g["lossError"], g["gradientError"])
    rows.append((f"golden {name} on CUDA", f"logits {g['logitsError']:.1e}, loss {g['lossError']:.1e}, "
                 f"grad {g['gradientError']:.1e} ({g['worstGradient']})", f"{GOLDEN_TOLERANCE:g}",
                 "ok" if worst < GOLDEN_TOLERANCE else "FAIL"))

for prec in CURVE_TOLERANCE:
    cuda, cpu = losses(f"train-{prec}-cuda"), losses(f"train-{prec}-cpu")
    if not cuda or not cpu:
        rows.append((f"200 steps {prec}: CUDA vs CPU", "failed to run", "", "FAIL"))
        continue
    steps = sorted(set(cuda) & set(cpu))
    diff = max(abs(cuda[s] - cpu[s]) / abs(cpu[s]) for s in steps)
    last = steps[-1]
    rows.append((f"200 steps {prec}: CUDA vs CPU", f"loss {cpu[steps[0]]:.3f}→{cpu[last]:.3f} (CPU), "
                 f"{cuda[last]:.3f} (CUDA); max rel. diff {diff:.1e} over {len(steps)} steps",
                 f"{CURVE_TOLERANCE[prec]:g}", "ok" if diff < CURVE_TOLERANCE[prec] and len(steps) >= 200 else "FAIL"))

coord = load("coord.json")
if coord:
    for v in coord:
        worst = max((abs(s.get("slope", 0)) for s in v.get("slopes", [])), default=float("nan"))
        rows.append((f"coord check {v['parametrization']} (3 widths, CUDA)", f"largest slope magnitude {worst:.3f}",
                     "flat", "ok" if v["passed"] else "FAIL"))
else:
    rows.append(("coord check (3 widths, CUDA)", "failed to run", "", "FAIL"))

print("| check | measured | tolerance | verdict |\n|---|---|---|---|")
for r in rows:
    print("| " + " | ".join(r) + " |")

print("\n| width | nanolm fp32 tok/s | nanolm bf16 | PyTorch eager fp32 | eager bf16 | compile bf16 | nanolm/eager fp32 | nanolm/eager bf16 | nanolm bf16/compile bf16 |")
print("|---|---|---|---|---|---|---|---|---|")


def nanolm_speed(run):
    """tokens/s over steps 3…N, as bench/train_speed.sh (skips start-up and the first step)"""
    try:
        with open(os.path.join(RESULTS, run, "metrics.jsonl")) as f:
            m = [json.loads(line) for line in f if '"loss"' in line]
        return (m[-1]["tokens"] - m[1]["tokens"]) / (m[-1]["elapsed"] - m[1]["elapsed"])
    except (OSError, ValueError, KeyError, IndexError, ZeroDivisionError):
        return math.nan


for width in (512, 1024, 2048):
    ours32, ours16 = nanolm_speed(f"speed-fp32-{width}"), nanolm_speed(f"speed-bf16-{width}")
    fp32, eager, compiled = ((load(f"speed-torch-{mode}-{width}.json") or {}).get("tokens_per_s", math.nan)
                             for mode in ("eager-fp32", "eager", "compile"))
    print(f"| {width} | {ours32:,.0f} | {ours16:,.0f} | {fp32:,.0f} | {eager:,.0f} | {compiled:,.0f} | "
          f"{ours32 / fp32:.2f} | {ours16 / eager:.2f} | {ours16 / compiled:.2f} |")
