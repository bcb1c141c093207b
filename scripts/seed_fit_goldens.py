"""scipy's goldens for a study with seeds (issue 16, item 2): each proxy width trained with K seeds, the fit on
the widths' mean losses weighted by their standard errors.

    scripts/python.sh scripts/seed_fit_goldens.py   # writes Tests/ScalingLawsTests/Fixtures/seed_fits.json

Per case, by hand: every width's mean loss, the seeds' standard deviation pooled over the widths
(s^2 = sum of squared deviations from each width's mean / sum of (k_w - 1)), and each mean's standard
error s / sqrt(k_w). Then scipy's curve_fit with sigma = those standard errors: the bounded optimum (c >= 0,
several starts, method 'trf'), refined by 'lm' (the reduced law a*C^b when c sits at 0), with its covariance
both ways — absolute_sigma=True (inv(J'WJ)) and False (that times chi2/(n - p)) — and the one nanolm uses,
absolute times max(1, chi2/(n - p)) ("atLeastAbsolute"). The 95% interval at the target uses that covariance
with Student's t on n - p degrees of freedom. Sizes are scaled by their geometric mean inside the fit; a and
the covariance are reported for raw C.

The pooled scale nanolm's studies use (SigmaScale.pooled), computed independently: curve_fit's default
(absolute_sigma=False) on every seed's loss as its own point — the same optimum as the weighted means, a
covariance from the seeds' scatter and the means' scatter about the law together, t on N - p (N runs) —
unless the lack-of-fit F test (chi2/(n - p) against F(n - p, d), d = sum of (k_w - 1)) rejects at 5%: then
the relative covariance of the means with t on n - p. And the interval for a measured target, the mean of
2 runs (and of 3, as a study with seeds: 3 measures its target): t * sqrt(g' pcov g + sigma_run^2 / 2), sigma_run^2 the pooled SSE / (N - p) (or, after a rejected
test, s^2 * chi2/(n - p)).
"""
import json, pathlib
import numpy as np
from scipy.optimize import curve_fit
from scipy.stats import t as student, f as fisher
from bounded_fit_goldens import law, reduced, bounded_fit, raw  # the same bounded fit as the unweighted goldens

def pooled(seed_losses):
    means = [float(np.mean(l)) for l in seed_losses]
    squares = sum(float(((np.array(l) - m) ** 2).sum()) for l, m in zip(seed_losses, means))
    dof = sum(len(l) - 1 for l in seed_losses)
    s = (squares / dof) ** 0.5
    return means, s, dof, [s / len(l) ** 0.5 for l in seed_losses]

def raw_padded(popt, pcov, s):
    """bounded_fit_goldens.raw, with c fixed at 0 as a zero row and column when only a and b were fitted."""
    p, cov = raw(popt, pcov, s)
    if len(popt) == 2:
        p, cov = np.append(p, 0.0), np.pad(cov, ((0, 1), (0, 1)))
    return p, cov

def case(name, sizes, seed_losses, target, note):
    means, s_pooled, dof, se = pooled(seed_losses)
    C, y, w = np.array(sizes, float), np.array(means), np.array(se)
    s = float(np.exp(np.mean(np.log(C))))
    x, xt = C / s, target / s
    p, _ = bounded_fit(x, y, w)
    at_bound = p[2] < 1e-12
    if at_bound:
        f, p0 = reduced, p[:2]
    else:
        f, p0 = law, p
    popt, pcov_rel = curve_fit(f, x, y, p0=p0, sigma=w, absolute_sigma=False, method="lm", xtol=1e-15, ftol=1e-15, maxfev=100000)
    _, pcov_abs = curve_fit(f, x, y, p0=popt, sigma=w, absolute_sigma=True, method="lm", xtol=1e-15, ftol=1e-15, maxfev=100000)
    n, k = len(y), len(popt)
    chi2 = float((((f(x, *popt) - y) / w) ** 2).sum())
    chosen = pcov_abs * max(1.0, chi2 / (n - k))
    g = np.array([xt ** popt[1], popt[0] * xt ** popt[1] * np.log(xt)] + ([] if at_bound else [1.0]))
    mid = float(f(xt, *popt))
    se_t = float(np.sqrt(g @ chosen @ g))
    half = float(student.ppf(0.975, n - k) * se_t)
    praw, cov = raw_padded(popt, chosen, s)
    _, cov_rel = raw_padded(popt, pcov_rel, s)
    # Pooled: every seed's loss its own point, unweighted.
    xs = np.concatenate([[xi] * len(l) for xi, l in zip(x, seed_losses)])
    ys = np.concatenate([np.array(l, float) for l in seed_losses])
    popt_all, pcov_all = curve_fit(f, xs, ys, p0=popt, method="lm", xtol=1e-15, ftol=1e-15, maxfev=100000)
    assert np.allclose(popt_all, popt, rtol=1e-6, atol=1e-9), (popt_all, popt)
    N = len(ys)
    lack_p = float(fisher.sf(chi2 / (n - k), n - k, dof))
    if lack_p >= 0.05:
        pooled_cov, pooled_dof = pcov_all, N - k
        run_var = float(((f(xs, *popt_all) - ys) ** 2).sum()) / (N - k)
        # The same by the formula nanolm uses: absolute covariance times (chi2 + d) / (n - p + d).
        assert np.allclose(pooled_cov, pcov_abs * (chi2 + dof) / (n - k + dof), rtol=1e-6), "pooled formula"
    else:
        pooled_cov, pooled_dof = pcov_rel, n - k
        run_var = s_pooled ** 2 * chi2 / (n - k)
    se_p = float(np.sqrt(g @ pooled_cov @ g))
    tq = float(student.ppf(0.975, pooled_dof))
    _, cov_pooled = raw_padded(popt, pooled_cov, s)
    half_m = tq * float(np.sqrt(se_p ** 2 + run_var / 2))
    half_m3 = tq * float(np.sqrt(se_p ** 2 + run_var / 3))
    return dict(name=name, note=note, sizes=sizes, seedLosses=seed_losses, target=target,
                means=means, pooledStandardDeviation=s_pooled, degreesOfFreedom=dof, standardErrors=se,
                cAtBound=bool(at_bound), popt=praw.tolist(), chiSquare=chi2, reducedChiSquare=chi2 / (n - k),
                covariance=cov.tolist(), relativeCovariance=cov_rel.tolist(),
                prediction=mid, interval=[mid - half, mid + half],
                lackOfFitProbability=lack_p, pooledDegreesOfFreedom=pooled_dof, pooledCovariance=cov_pooled.tolist(),
                pooledInterval=[mid - tq * se_p, mid + tq * se_p], runVariance=run_var,
                measuredInterval=[mid - half_m, mid + half_m], measuredInterval3=[mid - half_m3, mid + half_m3])

rng = np.random.default_rng(2)
sizes = [50048, 93504, 149248, 297600, 495104]  # the README job's proxies' C (widths 32..128)
def seeds(curve, noise, counts):
    return [[float(curve(c) + noise * rng.standard_normal()) for _ in range(k)] for c, k in zip(sizes, counts)]
cases = [
    # Seed noise larger than the scatter of the means about the law: the floor (absolute sigma) decides.
    case("seeds_noise_dominates", sizes, seeds(lambda c: 1.6 + 14 * c ** -0.25, 0.02, [3, 3, 2, 3, 3]), 1776640,
         "K = 3 (one width lost a seed), noise 0.02 about 1.6 + 14*C^-0.25"),
    # The means scatter about the law more than the seeds' noise explains (a misfit): the residuals decide.
    case("seeds_misfit_dominates", sizes,
         [[l + d for l in ls] for ls, d in zip(seeds(lambda c: 1.6 + 14 * c ** -0.25, 0.002, [3, 3, 3, 3, 3]), [0.03, -0.02, 0.025, -0.03, 0.01])],
         1776640, "K = 3, noise 0.002, plus offsets of +-0.03 per width the law cannot follow"),
    # The README job's five losses as seed 0, with two further seeds: c ends on its bound (the reduced law).
    case("seeds_readme_bound", sizes,
         [[2.2428, 2.2391, 2.2470], [2.2101, 2.2180, 2.2057], [2.2063, 2.1921, 2.1990], [2.1120, 2.1208, 2.1170], [2.1168, 2.1090, 2.1105]],
         1776640, "made-up seeds around the README main job's proxies: c at its bound"),
    # A pure power law (c = 0) under seed noise the means do not exceed: the pooled scale with c at its bound.
    case("seeds_pooled_bound", sizes, seeds(lambda c: 3.0 * c ** -0.03, 0.01, [2, 2, 2, 2, 2]), 1776640,
         "K = 2, noise 0.01 about 3.0*C^-0.03: c at its bound, the seeds' scatter pooled"),
]
out = pathlib.Path(__file__).resolve().parent.parent / "Tests/ScalingLawsTests/Fixtures/seed_fits.json"
out.write_text(json.dumps(cases, indent=1) + "\n")
for c in cases:
    print(c["name"], "cAtBound", c["cAtBound"], "chi2/dof %.3f" % c["reducedChiSquare"], "popt", c["popt"], "pred %.5f" % c["prediction"], c["interval"],
          "lack-of-fit p %.4f" % c["lackOfFitProbability"], "pooled", c["pooledInterval"], "measured", c["measuredInterval"])
