#!/usr/bin/env python3
"""Summarises bench/fidelity.sh: reads each study's `nanolm study run --json` result from DIR/NAME.json and
prints, per study and fit, the prediction, its interval, the actual target loss, the error and whether the
interval covers it; then per fit, and for the study's own prediction (the final-loss fit, or the learning
curves where it is degenerate: column "used"), the median |error|, the coverage and the median interval
half-width (a fraction of the predicted loss). Writes DIR/summary.json and DIR/summary.md.

A study without a prediction (fit degenerate, run failed) counts as not covered and has no error; the
summary says how many. Standard library only.
    python3 bench/fidelity_summary.py DIR STUDY.yaml ...
"""
import json
import os
import statistics
import sys


def rows_of(name, result):
    """One row per (study, fit): the study's main prediction and, when present, its other fit's."""
    rows = []
    for o in result.get("outcomes", []):
        fits = []
        main = o.get("prediction")
        fits.append((o.get("fitOn", "finalLoss"), main, o.get("backtest") or [], o.get("fitError"), True))
        other = o.get("alternative")
        if other is not None:
            fits.append((other.get("fitOn"), other.get("prediction"), other.get("backtest") or [], other.get("error"), False))
        for fit_on, p, backtest, error, used in sorted(fits, key=lambda f: f[0]):
            row = {"study": name, "design": o["design"], "fit": fit_on, "used": used, "targetParameters": o.get("targetParameters"),
                   "actual": o.get("targetLoss"), "predicted": None, "lower": None, "upper": None, "error": None,
                   "covered": False, "halfWidth": None, "note": error,
                   "backtestError": backtest[-1]["relativeError"] if backtest else None}
            if p is not None:
                row.update(predicted=p["loss"], lower=p["lower"], upper=p["upper"], interval=p.get("interval"),
                           halfWidth=(p["upper"] - p["lower"]) / 2 / p["loss"])
                if row["actual"] is not None:
                    row["error"] = (p["loss"] - row["actual"]) / row["actual"]
                    row["covered"] = p["lower"] <= row["actual"] <= p["upper"]
            rows.append(row)
    return rows


def overall(rows):
    errors = [abs(r["error"]) for r in rows if r["error"] is not None]
    widths = [r["halfWidth"] for r in rows if r["halfWidth"] is not None]
    backtests = [abs(r["backtestError"]) for r in rows if r["backtestError"] is not None]
    return {"studies": len(rows), "predicted": sum(r["predicted"] is not None for r in rows),
            "withActual": sum(r["actual"] is not None for r in rows),
            "medianAbsError": statistics.median(errors) if errors else None,
            "coverage": sum(r["covered"] for r in rows) / len(rows) if rows else None,
            "covered": sum(r["covered"] for r in rows),
            "medianHalfWidth": statistics.median(widths) if widths else None,
            "medianAbsBacktestError": statistics.median(backtests) if backtests else None}


def share(x):
    return "–" if x is None else f"{100 * x:.2f}%"


def pct(x, digits=2):
    return "–" if x is None else f"{100 * x:+.{digits}f}%"


def main():
    out, studies = sys.argv[1], sys.argv[2:]
    rows, missing = [], []
    for f in studies:
        name = os.path.splitext(os.path.basename(f))[0]
        try:
            with open(os.path.join(out, name + ".json")) as fh:
                rows += rows_of(name, json.load(fh))
        except (OSError, ValueError) as e:
            missing.append(f"{name}: {e}")
    fits = sorted({r["fit"] for r in rows})
    summary = {fit: overall([r for r in rows if r["fit"] == fit]) for fit in fits}
    summary["the study's prediction"] = overall([r for r in rows if r["used"]])
    lines = ["| study | fit | used | C target | predicted | 95% interval | actual | error | covered | half-width | backtest |",
             "| --- | --- | :---: | ---: | ---: | --- | ---: | ---: | :---: | ---: | ---: |"]
    for r in rows:
        interval = "–" if r["lower"] is None else f"[{r['lower']:.4f}, {r['upper']:.4f}]"
        lines.append(f"| {r['study']} | {r['fit']} | {'yes' if r['used'] else ''} | {r['targetParameters']:,} | "
                     + ("–" if r["predicted"] is None else f"{r['predicted']:.4f}") + f" | {interval} | "
                     + ("–" if r["actual"] is None else f"{r['actual']:.4f}") + f" | {pct(r['error'])} | "
                     + ("yes" if r["covered"] else "no") + f" | {share(r['halfWidth'])} | "
                     + f"{pct(r['backtestError'])} |" + (f" {r['note']}" if r["predicted"] is None and r["note"] else ""))
    lines.append("")
    for fit, s in summary.items():
        lines.append(f"**{fit}**: {s['predicted']} of {s['studies']} studies predicted; median |error| "
                     + share(s["medianAbsError"])
                     + f"; coverage of the 95% intervals {s['covered']}/{s['studies']}"
                     + (f" (a refusal counts as a miss; of the {s['predicted']} printed, {s['covered']} covered)"
                        if s["predicted"] < s["studies"] else "")
                     + "; median half-width " + share(s["medianHalfWidth"])
                     + "; median |backtest error| " + share(s["medianAbsBacktestError"])
                     + " (targets: coverage ≥ 90%, median |error| ≤ 1%, median half-width ≤ 3%)")
    for m in missing:
        lines.append(f"missing: {m}")
    text = "\n".join(lines)
    print(text)
    with open(os.path.join(out, "summary.md"), "w") as fh:
        fh.write(text + "\n")
    with open(os.path.join(out, "summary.json"), "w") as fh:
        json.dump({"rows": rows, "overall": summary, "missing": missing}, fh, indent=2)


if __name__ == "__main__":
    main()
