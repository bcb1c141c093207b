import Foundation
import ScalingLaws

/// `nanolm study report`: one self-contained HTML page (inline SVG, no scripts) in the paper's style —
/// loss against learning rate at the base width (Figure 1), proxies with the fitted law extended to the
/// target and the prediction's interval, plus the actual target when trained (Figures 3 and 4), and the
/// grid, runs, fits, predictions, verdict and cost as tables.
public enum StudyReport {
    public static func html(_ result: StudyResult, spec: StudySpec) -> String {
        let e = SVGPlot.escape
        func f(_ v: Double?, _ format: String = "%.4f") -> String { v.map { String(format: format, $0) } ?? "–" }
        var h = """
            <!DOCTYPE html>
            <html><head><meta charset="utf-8"><title>nanolm study \(e(result.study))</title>
            <style>body{font-family:sans-serif;max-width:1180px;margin:2em auto;color:#222}table{border-collapse:collapse;margin:1em 0}
            td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}th{background:#f4f4f4}td.l,th.l{text-align:left}
            .fig{display:inline-block;margin:0 1em 1em 0}.verdict{font-size:1.1em;background:#f6f8fa;padding:.8em;border-left:4px solid #1f77b4}</style>
            </head><body>
            <h1>μScaling study “\(e(result.study))”</h1>
            <p>Designs \(e(spec.designs.map { "\($0.name) (\($0.architecture.rawValue), \($0.layers) layers)" }.joined(separator: ", "))); μP base width \(spec.baseWidth);
            proxies at widths \(spec.proxyWidths.map(String.init).joined(separator: ", ")); target width \(result.targetWidth);
            \(spec.budget.steps) steps of \(spec.budget.batchSize)×\(spec.budget.sequenceLength) tokens; data \(e(spec.data)).
            The fitted loss is \(e(spec.fitLoss.description(spec)))\(spec.seedCount > 1 ? "; every proxy and target is trained with \(spec.seedCount) seeds" : "").</p>

            """
        // Verdict.
        h += "<div class=\"verdict\">"
        for o in result.outcomes {
            guard let p = o.prediction else {
                h += "<b>\(e(o.design))</b>: no prediction: \(e(o.fitError ?? "no fit"))\(o.targetLoss.map { "; actual target loss \(f($0))" } ?? "").<br>"
                continue
            }
            h += "<b>\(e(o.design))</b>: predicted loss at width \(result.targetWidth) (\(SVGPlot.label(Double(p.targetParameters))) parameters) "
            h += "\(f(p.loss)) [\(f(p.lower)), \(f(p.upper))] (\(e(p.interval ?? "delta method")); used to compare designs)"
            if let bl = p.bootstrapLower, let bu = p.bootstrapUpper { h += "; residual bootstrap [\(f(bl)), \(f(bu))]" }
            else if let note = p.bootstrapNote { h += "; \(e(note))" }
            if let a = p.actual, let r = o.relativeError { h += "; actual \(f(a)), error \(f(100 * r, "%+.2f"))%" }
            if o.curveRole(asked: spec.fitOn) == .fallback, let why = o.alternative?.error {
                h += "; predicted by the learning curves because the final-loss fit is degenerate: \(e(why))"
            }
            h += ".<br>"
            for c in o.transferChecks ?? [] where !c.sameAsBase {
                h += "&nbsp;&nbsp;Transfer check at width \(c.width): the best learning rate there is \(c.best.hyper.learningRate), not the base's "
                h += "\(o.best.learningRate)\(c.shortfall.map { ", which trains \(f(100 * $0, "%.2f"))% worse: a target this wide may train about that much worse than predicted" } ?? "").<br>"
            }
        }
        if result.ranking.count >= 2, let sep = result.intervalsSeparate {
            let a = result.outcomes.first { $0.design == result.ranking[0] }!.prediction!
            let b = result.outcomes.first { $0.design == result.ranking[1] }!.prediction!
            h += "<b>\(e(a.design))</b> is predicted better than <b>\(e(b.design))</b> by \(f(b.loss - a.loss)); "
            h += sep ? "the intervals separate.<br>" : "the intervals overlap, so the difference is not confident.<br>"
        }
        h += "Cost: \(f(result.costRatioEquation1, "%.3f"))× one target run by Eq. (1), \(f(result.costRatioCounted, "%.3f"))× by counted FLOPs.</div>\n"

        // Figure 1: loss against learning rate at the base width, per design.
        var grid = SVGPlot(title: "Loss against learning rate per width (diverged runs ✕ at the top)", xLabel: "learning rate l",
                           yLabel: spec.fitLoss.axisLabel, logX: true)
        let gridRuns = result.runs.filter { $0.phase == .grid }
        let top = (gridRuns.compactMap(\.loss).max() ?? 1) * 1.02
        for d in spec.designs { for width in Set(gridRuns.map(\.width)).sorted() {
            let runs = gridRuns.filter { $0.design == d.name && $0.width == width }
            let keys = Set(runs.map { "w \(width), σ \($0.hyper.initStd), τ \($0.hyper.outputMultiplier)" }).sorted()
            for k in keys {
                let rs = runs.filter { "w \(width), σ \($0.hyper.initStd), τ \($0.hyper.outputMultiplier)" == k }.sorted { $0.hyper.learningRate < $1.hyper.learningRate }
                let name = keys.count > 1 ? "\(d.name) \(k)" : "\(d.name) width \(width)"
                grid.series.append(.init(name: name, points: rs.compactMap { r in r.loss.map { (r.hyper.learningRate, $0) } }))
                let bad = rs.filter { $0.loss == nil }
                if !bad.isEmpty {
                    grid.series.append(.init(name: "\(name) diverged/failed", points: bad.map { ($0.hyper.learningRate, top) }, line: false, marker: "cross"))
                }
            }
        } }
        // Figures 3/4: proxies, fitted law, prediction with its interval, actual target.
        var fitPlot = SVGPlot(title: "μScaling: L = a·C^b + c fitted on the proxies", xLabel: "parameters C (embeddings included)",
                              yLabel: spec.fitLoss.axisLabel, logX: true)
        for o in result.outcomes {
            guard let fit = o.fit, let p = o.prediction else { continue }
            // With seeds: every run's loss, and the means the law was fitted to with ± their standard errors.
            if spec.seedCount > 1 {
                let runs = result.runs.filter { $0.design == o.design && $0.phase == .proxy && $0.status == .done }
                fitPlot.series.append(.init(name: "\(o.design) proxies, each seed", points: runs.compactMap { r in r.loss.map { (Double(r.parameters), $0) } },
                                            line: false, marker: "ring"))
            }
            fitPlot.series.append(.init(name: "\(o.design) proxies" + (fit.sigma == nil ? "" : " (mean ± standard error)"),
                                        points: zip(fit.parameters, fit.losses).map { ($0, $1) }, line: false,
                                        errorBars: fit.sigma.map { s in zip(fit.losses, s).map { ($0 - $1, $0 + $1) } }))
            let lo = fit.parameters.min()!, hi = Double(p.targetParameters)
            let curve = (0...40).map { i -> (x: Double, y: Double) in
                let x = lo * pow(hi / lo, Double(i) / 40); return (x, fit.loss(at: x)) }
            fitPlot.series.append(.init(name: String(format: "%@ fit: b = %.3f, c = %.3f", o.design, fit.b, fit.c), points: curve, marker: "none", dashed: true))
            fitPlot.series.append(.init(name: "\(o.design) predicted target", points: [(hi, p.loss)], line: false, marker: "square",
                                        errorBars: [(p.lower, p.upper)]))
            if let a = p.actual {
                fitPlot.series.append(.init(name: "\(o.design) actual target" + (o.targetSeedLosses == nil ? "" : " (mean of seeds)"),
                                            points: [(hi, a)], line: false, marker: "star"))
            }
            if let seeds = o.targetSeedLosses {
                fitPlot.series.append(.init(name: "\(o.design) target, each seed", points: seeds.map { (hi, $0) }, line: false, marker: "ring"))
            }
        }
        h += "<h2>Figures</h2><div class=\"fig\">\(grid.render())</div><div class=\"fig\">\(fitPlot.render())</div>\n"

        // Tables.
        h += "<h2>Fits</h2><table><tr><th class=l>design</th><th>a (C in billions)</th><th>b</th><th>c</th><th>rmse</th><th>n</th><th class=l>points</th><th>backtest (held-out largest)</th></tr>\n"
        for o in result.outcomes {
            guard let fit = o.fit else {
                h += "<tr><td class=l>\(e(o.design))</td><td class=l colspan=7>\(e(o.fitError ?? "no fit"))</td></tr>\n"; continue
            }
            let bt = o.backtest.map { String(format: "%@: predicted %.4f, actual %.4f (%+.2f%%)", SVGPlot.label($0.parameters), $0.predicted, $0.actual, 100 * $0.relativeError) }
                .joined(separator: "<br>")
            h += "<tr><td class=l>\(e(o.design))</td><td>\(f(fit.a(perUnit: 1e9), "%.4g")) ± \(f(fit.aStandardDeviation(perUnit: 1e9), "%.2g"))</td>"
            h += "<td>\(f(fit.b)) ± \(f(fit.standardDeviations[1], "%.2g"))</td><td>"
                + (fit.cAtBound ? "0 (at its bound: fitted as a·C^b)" : "\(f(fit.c)) ± \(f(fit.standardDeviations[2], "%.2g"))") + "</td>"
            let points = o.seedStandardDeviation.map {
                String(format: "means of %d seeds, weighted by their standard errors (seeds' sd %.4f, pooled)", spec.seedCount, $0)
            } ?? (spec.seedCount > 1 ? "means of \(spec.seedCount) seeds, unweighted (no seed spread measured)" : "one run per width, unweighted")
            h += "<td>\(f(fit.rmse, "%.2g"))</td><td>\(fit.n)</td><td class=l>\(e(points))</td><td class=l>\(bt.isEmpty ? "–" : bt)</td></tr>\n"
        }
        h += "</table><h2>Grid search and μTransfer</h2><table><tr><th class=l>design</th><th>best l</th><th>σ</th><th>τ</th><th>basin points</th></tr>\n"
        for o in result.outcomes {
            h += "<tr><td class=l>\(e(o.design))</td><td>\(f(o.best.learningRate, "%g"))</td><td>\(f(o.best.initStd, "%g"))</td><td>\(f(o.best.outputMultiplier, "%g"))</td>"
            h += "<td class=l>\(o.basin.map { String(format: "l %g", $0.learningRate) }.joined(separator: ", "))</td></tr>\n"
        }
        let scored = result.outcomes.filter { !($0.downstream ?? []).isEmpty }
        if !scored.isEmpty {
            h += "</table><h2>Downstream (built-in multiple-choice tasks, error = 1 − acc_token)</h2><table><tr><th class=l>design</th><th class=l>phase</th><th>width</th><th>parameters</th><th>held-out loss</th><th>error</th></tr>\n"
            for o in scored { for d in o.downstream! {
                h += "<tr><td class=l>\(e(o.design))</td><td class=l>\(d.phase.rawValue)</td><td>\(d.width)</td><td>\(SVGPlot.label(Double(d.parameters)))</td>"
                h += "<td>\(f(d.validationLoss))</td><td>\(f(d.error)) ± \(f(d.standardError))</td></tr>\n"
            } }
        }
        h += "</table><h2>Runs</h2><table><tr><th class=l>design</th><th class=l>phase</th><th>width</th><th>seed</th><th>l</th><th>σ</th><th>τ</th><th>parameters</th><th>status</th><th>fitted loss</th><th>training loss (window)</th><th>validation loss</th><th class=l>directory</th></tr>\n"
        for r in result.runs {
            h += "<tr><td class=l>\(e(r.design))</td><td class=l>\(r.phase.rawValue)</td><td>\(r.width)</td><td>\(r.seedIndex ?? 0)</td><td>\(f(r.hyper.learningRate, "%g"))</td><td>\(f(r.hyper.initStd, "%g"))</td>"
            h += "<td>\(f(r.hyper.outputMultiplier, "%g"))</td><td>\(SVGPlot.label(Double(r.parameters)))</td>"
            h += "<td class=l>\(e(r.status.rawValue))\(r.divergedAtStep.map { " at step \($0)" } ?? "")</td><td>\(f(r.loss))</td><td>\(f(r.trainLoss))</td><td>\(f(r.validationLoss))</td><td class=l>\(e(r.directory))</td></tr>\n"
        }
        h += "</table><p>Generated by nanolm \(NanoLMInfo.version).</p></body></html>\n"
        return h
    }
}
