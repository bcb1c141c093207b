"""scipy's L-BFGS-B on bounded problems whose bounds are active at the optimum: the goldens of
ScalingLawsTests' bounded L-BFGS test.

    scripts/python.sh scripts/lbfgsb_scipy.py      # writes Tests/ScalingLawsTests/Fixtures/lbfgsb.json

Cases: the 4-D extended Rosenbrock function in a box that cuts off its minimum (1, 1, 1, 1), and a
non-negative least-squares problem 0.5*|Ax - b|^2, x >= 0 (random A; b from a mixed-sign x plus noise) whose solution has zeros, also
solved exactly by scipy.optimize.nnls as a second reference. Tight tolerances, so the comparison is
between optima, not between where two line searches stop.
"""
import json, pathlib
import numpy as np
from scipy.optimize import minimize, nnls

def rosenbrock(x):
    f = np.sum(100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)
    g = np.zeros_like(x)
    g[:-1] = -400 * x[:-1] * (x[1:] - x[:-1] ** 2) - 2 * (1 - x[:-1])
    g[1:] += 200 * (x[1:] - x[:-1] ** 2)
    return f, g

options = dict(ftol=1e-15, gtol=1e-12, maxiter=100000, maxfun=1000000)
cases = []
lower, upper, start = [-2, -2, 1.5, -2], [0.8, 2, 3, 2], [0.3, 0.5, 2, 1]  # in the basin of the boxed minimum
r = minimize(rosenbrock, start, jac=True, method="L-BFGS-B", bounds=list(zip(lower, upper)), options=options)
cases.append(dict(name="rosenbrock4_box", lower=lower, upper=upper, start=start, x=r.x.tolist(), f=float(r.fun)))

rng = np.random.default_rng(4)
A = rng.standard_normal((20, 6))
b = A @ np.array([1, -0.5, 0.3, -1, 0.7, 0.2]) + 0.1 * rng.standard_normal(20)  # two negative: active at 0
def least_squares(x):
    r = A @ x - b
    return 0.5 * r @ r, A.T @ r
r = minimize(least_squares, np.ones(6), jac=True, method="L-BFGS-B", bounds=[(0, None)] * 6, options=options)
exact, _ = nnls(A, b)
cases.append(dict(name="nnls", A=A.tolist(), b=b.tolist(), lower=[0.0] * 6, start=[1.0] * 6, x=r.x.tolist(), f=float(r.fun),
                  nnls=exact.tolist()))

out = pathlib.Path(__file__).resolve().parent.parent / "Tests/ScalingLawsTests/Fixtures/lbfgsb.json"
out.write_text(json.dumps(cases, indent=1) + "\n")
for c in cases:
    print(c["name"], np.round(c["x"], 6), c["f"], "active:", [i for i, v in enumerate(c["x"]) if v in c["lower"] or v in c.get("upper", [])])
