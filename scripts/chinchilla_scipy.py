"""Chinchilla's Approach 3 fit in scipy, the peer of `nanolm fit --law chinchilla` (goldens and benchmark).

    scripts/python.sh scripts/chinchilla_scipy.py goldens          # writes Tests/ScalingLawsTests/Fixtures/chinchilla.json
    scripts/python.sh scripts/chinchilla_scipy.py bench CSV EVERY   # times scipy on every EVERY-th of the 4,500 starts
                                                                    # (wall and CPU seconds, scaled to 4,500)

The objective is Hoffmann et al.'s as Epoch reproduced it: Huber (delta 1e-3) of
logsumexp(a - alpha log N, b - beta log D, e) - log L, minimised with L-BFGS-B from each start.
"""
import json, pathlib, sys, time
import numpy as np
from scipy.optimize import minimize
from scipy.special import huber, logsumexp

def objective(p, logN, logD, logL, delta=1e-3):
    a, b, e, alpha, beta = p
    pred = logsumexp([a - alpha * logN, b - beta * logD, np.full_like(logN, e)], axis=0)
    return np.sum(huber(delta, pred - logL))

def starts():
    return [[a, b, e, al, be] for a in range(0, 30, 5) for b in range(0, 30, 5) for e in np.arange(-1, 1.5, 0.5)
            for al in np.arange(0, 2.5, 0.5) for be in np.arange(0, 2.5, 0.5)]

def fit(N, D, L, grid, tight=False):
    logN, logD, logL = np.log(N), np.log(D), np.log(L)
    best = None
    # Goldens: tight tolerances, so the comparison is between optima, not between where two line searches stop.
    options = dict(ftol=1e-15, gtol=1e-11, maxiter=100000, maxfun=1000000) if tight else {}
    for s in grid:
        r = minimize(objective, s, args=(logN, logD, logL), method="L-BFGS-B", options=options)
        if best is None or r.fun < best.fun:
            best = r
    a, b, e, alpha, beta = best.x
    return dict(E=float(np.exp(e)), A=float(np.exp(a)), B=float(np.exp(b)), alpha=float(alpha), beta=float(beta), objective=float(best.fun))

if sys.argv[1] == "goldens":
    rng = np.random.default_rng(1)
    N = np.exp(rng.uniform(np.log(1e7), np.log(1e10), 80))
    D = N * np.exp(rng.uniform(np.log(5), np.log(200), 80))
    L = (1.8 + 400 / N**0.34 + 2000 / D**0.28) * np.exp(0.01 * rng.standard_normal(80))
    grid = starts()[::125]  # 36 of the 4,500 starts
    out = dict(N=N.tolist(), D=D.tolist(), loss=L.tolist(), starts=[list(map(float, s)) for s in grid], fit=fit(N, D, L, grid, tight=True))
    path = pathlib.Path(__file__).resolve().parent.parent / "Tests/ScalingLawsTests/Fixtures/chinchilla.json"
    path.write_text(json.dumps(out, indent=1) + "\n")
    print(out["fit"])
else:
    import csv
    rows = list(csv.DictReader(open(sys.argv[2])))
    N, D, L = (np.array([float(r[k]) for r in rows]) for k in ("N", "D", "loss"))
    every = int(sys.argv[3])
    grid = starts()[::every]
    t, cpu = time.perf_counter(), time.process_time()
    result = fit(N, D, L, grid)
    seconds, cpu = time.perf_counter() - t, time.process_time() - cpu
    print(json.dumps(dict(starts=len(grid), seconds=seconds, seconds_for_4500=seconds * 4500 / len(grid),
                          cpu_seconds_for_4500=cpu * 4500 / len(grid), **result)))
