"""scipy's curve_fit on the paper's Table 3 and synthetic μScaling data, and on synthetic data of Gadre et al.'s
over-training and downstream laws: the goldens ScalingLawsTests compare to.

    scripts/python.sh scripts/scaling_goldens.py      # writes Tests/ScalingLawsTests/Fixtures/mu_scaling.json
                                                      # and Tests/ScalingLawsTests/Fixtures/gadre_laws.json

Each case fits L = a*C^b + c with C in the unit the case names (billions for the paper's tables), from a
p0 close to the optimum so scipy converges properly (its default p0 does not, see issue 3), with
method='lm' (MINPACK) and absolute_sigma=False. Sigma, when given, is curve_fit's sigma.
"""
import json, pathlib
import numpy as np
from scipy.optimize import curve_fit
from scipy.stats import t as student

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


# Gadre et al.'s laws, fitted in the units nanolm reports (N, D raw; C = 6ND in FLOPs), from p0 = the truth.
# Each case also has 95% delta-method intervals at its targets: sqrt(g pcov g^T) with the numerical gradient
# of the law in the coefficients, times Student's t on n - p degrees of freedom.
def overtrain(x, E, a, b, eta):
    n, d = x
    c, m = 6 * n * d, d / n
    return E + (a * m**eta + b * m**-eta) * c**-eta

def overtrain_jac(x, E, a, b, eta):
    # The analytic Jacobian: forward differences (curve_fit's default) leave a/b, which are strongly
    # correlated here, a few 1e-6 from the optimum.
    n, d = x
    c, m = 6 * n * d, d / n
    ce, mp = c**-eta, m**eta
    return np.stack([np.ones_like(n), mp * ce, ce / mp, ((a * mp - b / mp) * np.log(m) - (a * mp + b / mp) * np.log(c)) * ce], axis=1)

def downstream(loss, eps, k, gamma):
    return eps - k * np.exp(-gamma * loss)

def delta_interval(f, x, popt, pcov, dof):
    g = np.array([(f(x, *(popt + h)) - f(x, *(popt - h))) / (2 * h[i])
                  for i, h in enumerate(np.diag(np.abs(popt) * 1e-6))])
    half = student.ppf(0.975, dof) * np.sqrt(g @ pcov @ g)
    mid = f(x, *popt)
    return float(mid), float(mid - half), float(mid + half)

gadre = []
rng = np.random.default_rng(3)
for i, (truth, noise) in enumerate([((1.8, 200.0, 350.0, 0.13), 0.004), ((2.1, 90.0, 600.0, 0.2), 0.008)]):
    runs = [(n, m) for n in (11e6, 79e6, 154e6, 411e6) for m in (20, 80, 320)][: 9 + i]
    N = np.array([r[0] for r in runs]); D = N * np.array([r[1] for r in runs])
    L = overtrain((N, D), *truth) * (1 + noise * rng.standard_normal(len(N)))
    popt, pcov = curve_fit(overtrain, (N, D), L, p0=truth, jac=overtrain_jac, method="lm", absolute_sigma=False, maxfev=100000, xtol=1e-14, ftol=1e-14)
    targets = [(6.9e9, 138e9), (1.4e9, 896e9)]
    gadre.append(dict(law="overtrain", name=f"overtrain_{i}", N=N.tolist(), D=D.tolist(), y=L.tolist(), popt=popt.tolist(),
                      perr=np.sqrt(np.diag(pcov)).tolist(), targets=[list(t) for t in targets],
                      intervals=[delta_interval(overtrain, (np.array(t[0]), np.array(t[1])), popt, pcov, len(L) - 4) for t in targets]))
for i, (truth, noise, count) in enumerate([((0.85, 2.5, 0.9), 0.005, 8), ((0.75, 6.0, 1.4), 0.01, 12)]):
    loss = np.linspace(2.3, 4.5, count)
    err = downstream(loss, *truth) + noise * rng.standard_normal(count)
    popt, pcov = curve_fit(downstream, loss, err, p0=truth, method="lm", absolute_sigma=False, maxfev=100000, xtol=1e-14, ftol=1e-14)
    targets = [2.0, 2.5]
    gadre.append(dict(law="downstream", name=f"downstream_{i}", loss=loss.tolist(), y=err.tolist(), popt=popt.tolist(),
                      perr=np.sqrt(np.diag(pcov)).tolist(), targets=[[t] for t in targets],
                      intervals=[delta_interval(downstream, np.array(t), popt, pcov, count - 3) for t in targets]))
out = out.parent / "gadre_laws.json"
out.write_text(json.dumps(gadre, indent=1) + "\n")
for g in gadre:
    print(f'{g["name"]:<18} ' + " ".join(f"{p:.6g}±{e:.3g}" for p, e in zip(g["popt"], g["perr"])))
