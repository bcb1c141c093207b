"""scipy's curve_fit on the paper's Table 3 and synthetic μScaling data: the goldens ScalingLawsTests compare to.

    scripts/python.sh scripts/scaling_goldens.py      # writes Tests/ScalingLawsTests/Fixtures/mu_scaling.json

Each case fits L = a*C^b + c with C in the unit the case names (billions for the paper's tables), from a
p0 close to the optimum so scipy converges properly (its default p0 does not, see issue 3), with
method='lm' (MINPACK) and absolute_sigma=False. Sigma, when given, is curve_fit's sigma.
"""
import json, pathlib
import numpy as np
from scipy.optimize import curve_fit

def law(c, a, b, e):
    return a * np.power(c, b) + e

cases = [
    # Table 3b, 32-layer GPT, loss at 7k steps (sizes in billions); target 26.185 B
    dict(name="table3_gpt32_7k", unit=1e9, p0=[0.08, -0.6, 3.37], target=26.185,
         sizes=[0.038, 0.076, 0.126, 0.189, 0.265, 0.353, 0.454, 1.714],
         losses=[3.92, 3.76, 3.65, 3.59, 3.54, 3.49, 3.47, 3.45]),
    # Table 3b, 64-layer GPT, loss at 10k steps; target 52.385 B
    dict(name="table3_gpt64_10k", unit=1e9, p0=[0.25, -0.47, 2.82], target=52.385,
         sizes=[0.077, 0.153, 0.254, 0.381, 0.532, 0.709, 0.911, 3.432],
         losses=[3.656, 3.389, 3.298, 3.215, 3.198, 3.087, 3.080, 2.958]),
]
rng = np.random.default_rng(0)
for i, (a, b, e) in enumerate([(2.0, -0.3, 2.5), (4.0, -0.25, 1.8), (0.5, -0.8, 3.0)]):
    sizes = np.geomspace(1, 300, 6 + 2 * i)  # millions of parameters
    losses = law(sizes, a, b, e) * (1 + 0.004 * rng.standard_normal(len(sizes)))
    sigma = (0.01 + 0.01 * rng.random(len(sizes))).tolist() if i == 2 else None
    cases.append(dict(name=f"synthetic_{i}", unit=1e6, p0=[a, b, e], target=1e4, sizes=sizes.tolist(),
                      losses=losses.tolist(), sigma=sigma))

for case in cases:
    popt, pcov = curve_fit(law, np.array(case["sizes"]), np.array(case["losses"]), p0=case["p0"], method="lm",
                           sigma=case.get("sigma"), absolute_sigma=False, maxfev=100000, xtol=1e-14, ftol=1e-14)
    case["popt"] = popt.tolist()
    case["perr"] = np.sqrt(np.diag(pcov)).tolist()
    case["prediction"] = float(law(case["target"], *popt))

out = pathlib.Path(__file__).resolve().parent.parent / "Tests/ScalingLawsTests/Fixtures/mu_scaling.json"
out.write_text(json.dumps(cases, indent=1) + "\n")
for c in cases:
    print(f'{c["name"]:<18} a={c["popt"][0]:.6g} b={c["popt"][1]:.6g} c={c["popt"][2]:.6g} pred={c["prediction"]:.6g}')
