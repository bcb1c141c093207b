"""scipy's goldens for the learning-curve law L(N, D) = E + A/N^alpha + B/D^beta (issue 16, item 4).

    scripts/python.sh scripts/learning_curve_goldens.py   # writes Tests/ScalingLawsTests/Fixtures/learning_curves.json

Synthetic curves from known coefficients: five runs (N from 5e4 to 5e5), twenty points each from 10% to
100% of 6e5 tokens, plus Gaussian noise (numpy seed 16) of 0.002 ("noisy") or none ("exact"). For each case:
scipy's bounded curve_fit (method='trf', E, A, B >= 0, 0 <= alpha, beta <= 4) from a grid of starts, the
lowest sum of squares kept; N and D scaled by their geometric means inside the fit as nanolm does, the
coefficients mapped back to raw units. The covariance is the cluster-robust sandwich (CR1, clustered by
run) computed here with numpy from scipy's optimum, and the 95% interval at the target (N = 2e6,
D = 6e5) uses Student's t on runs - 1 degrees of freedom.
"""
import json, pathlib
import numpy as np
from scipy.optimize import curve_fit
from scipy.stats import t as student

TRUE = dict(E=1.8, A=40.0, alpha=0.35, B=25.0, beta=0.3)
SIZES = [5e4, 1e5, 2e5, 3.5e5, 5e5]
TOKENS = np.linspace(0.1, 1.0, 20) * 6e5
TARGET = (2e6, 6e5)


def law(x, e, a, alpha, b, beta):
    n, d = x
    return e + a * n ** -alpha + b * d ** -beta


def points(noise, rng):
    run, n, d, y = [], [], [], []
    for i, size in enumerate(SIZES):
        for tokens in TOKENS:
            run.append(i); n.append(size); d.append(tokens)
            y.append(law((size, tokens), *TRUE.values()) + (rng.normal(0, noise) if noise else 0.0))
    return np.array(run), np.array(n), np.array(d), np.array(y)


def fit(run, n, d, y):
    n0, d0 = np.exp(np.log(n).mean()), np.exp(np.log(d).mean())
    x = (n / n0, d / d0)
    best = None
    for alpha in [0.1, 0.3, 0.6, 1.0]:
        for beta in [0.1, 0.3, 0.6, 1.0]:
            for e in [0.0, 0.5 * y.min(), 0.8 * y.min()]:
                try:
                    p, _ = curve_fit(law, x, y, p0=[e, 1.0, alpha, 1.0, beta], bounds=([0, 0, 0, 0, 0], [np.inf, np.inf, 4, np.inf, 4]),
                                     method="trf", xtol=1e-15, ftol=1e-15, gtol=1e-15, max_nfev=100000)
                except RuntimeError:
                    continue
                sse = float(((law(x, *p) - y) ** 2).sum())
                if best is None or sse < best[1]:
                    best = (p, sse)
    e, a_s, alpha, b_s, beta = best[0]
    # Jacobian of the residuals in scaled units, then the CR1 sandwich clustered by run.
    xa, zb = x[0] ** -alpha, x[1] ** -beta
    jac = np.stack([np.ones_like(y), xa, -a_s * xa * np.log(x[0]), zb, -b_s * zb * np.log(x[1])], axis=1)
    r = law(x, *best[0]) - y
    bread = np.linalg.inv(jac.T @ jac)
    meat = np.zeros((5, 5))
    groups = sorted(set(run))
    for g in groups:
        s = jac[run == g].T @ r[run == g]
        meat += np.outer(s, s)
    k, m = len(groups), len(y)
    cov_s = bread @ meat @ bread * k / (k - 1) * (m - 1) / (m - 5)
    # Back to raw N, D.
    sa, sb = n0 ** alpha, d0 ** beta
    a, b = a_s * sa, b_s * sb
    t = np.array([[1, 0, 0, 0, 0], [0, sa, a * np.log(n0), 0, 0], [0, 0, 1, 0, 0], [0, 0, 0, sb, b * np.log(d0)], [0, 0, 0, 0, 1]])
    cov = t @ cov_s @ t.T
    coef = [e, a, alpha, b, beta]
    nt, dt = TARGET
    g = np.array([1, nt ** -alpha, -a * nt ** -alpha * np.log(nt), dt ** -beta, -b * dt ** -beta * np.log(dt)])
    pred = law(TARGET, *coef)
    half = student.ppf(0.975, k - 1) * float(np.sqrt(g @ cov @ g))
    return {"coefficients": [float(v) for v in coef], "standardDeviations": [float(v) for v in np.sqrt(np.diag(cov))],
            "sse": best[1], "prediction": float(pred), "lower": float(pred - half), "upper": float(pred + half)}


def main():
    rng = np.random.default_rng(16)
    cases = {}
    for name, noise in [("exact", 0.0), ("noisy", 0.002)]:
        run, n, d, y = points(noise, rng)
        case = {"run": run.tolist(), "parameters": n.tolist(), "tokens": d.tolist(), "losses": y.tolist(),
                "true": list(TRUE.values()), "target": list(TARGET), "trueTarget": float(law(TARGET, *TRUE.values()))}
        if noise:
            case["scipy"] = fit(run, n, d, y)
        cases[name] = case
    out = pathlib.Path(__file__).resolve().parent.parent / "Tests/ScalingLawsTests/Fixtures/learning_curves.json"
    out.write_text(json.dumps(cases, indent=1) + "\n")
    print(f"wrote {out}: noisy fit {cases['noisy']['scipy']['coefficients']}, prediction {cases['noisy']['scipy']['prediction']:.6f} "
          f"[{cases['noisy']['scipy']['lower']:.6f}, {cases['noisy']['scipy']['upper']:.6f}], true {cases['noisy']['trueTarget']:.6f}")


if __name__ == "__main__":
    main()
