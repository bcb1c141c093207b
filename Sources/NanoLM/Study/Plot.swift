import Foundation

/// A small SVG chart for reports: lines and markers on linear or log-10 axes, error bars, a legend.
struct SVGPlot {
    struct Series {
        var name: String
        var points: [(x: Double, y: Double)]
        var line = true
        var marker = "circle"        // circle, ring (open circle), square, star, cross
        var errorBars: [(low: Double, high: Double)]? = nil
        var dashed = false
    }
    var title: String
    var xLabel: String
    var yLabel: String
    var logX = true
    var series: [Series] = []
    var width = 560.0, height = 380.0
    let margin = (left: 70.0, right: 20.0, top: 34.0, bottom: 52.0)
    static let colors = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"]

    /// Tick values: powers of ten (and 2×, 5× when few decades) on a log axis; 1-2-5 steps on a linear one.
    static func ticks(_ lo: Double, _ hi: Double, log: Bool) -> [Double] {
        if log {
            let a = Foundation.floor(log10(lo)), b = Foundation.ceil(log10(hi))
            var t: [Double] = []
            for e in stride(from: a, through: b, by: 1) {
                for m in (b - a <= 2 ? [1.0, 2, 5] : [1.0]) { let v = m * pow(10, e); if v >= lo * 0.999 && v <= hi * 1.001 { t.append(v) } }
            }
            return t
        }
        let span = hi - lo
        guard span > 0 else { return [lo] }
        let raw = span / 5, mag = pow(10, Foundation.floor(log10(raw)))
        let step = [1.0, 2, 5, 10].map { $0 * mag }.first { $0 >= raw } ?? 10 * mag
        var t: [Double] = []
        var v = Foundation.ceil(lo / step) * step
        while v <= hi + step * 1e-9 { t.append(abs(v) < step * 1e-9 ? 0 : v); v += step }
        return t
    }

    static func label(_ v: Double) -> String {
        let a = abs(v)
        if a >= 1e9 { return String(format: "%gB", v / 1e9) }
        if a >= 1e6 { return String(format: "%gM", v / 1e6) }
        if a >= 1e4 { return String(format: "%gk", v / 1e3) }
        return String(format: "%g", v)
    }

    static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }

    func render() -> String {
        let xs = series.flatMap { $0.points.map(\.x) }.filter { $0.isFinite && (!logX || $0 > 0) }
        var ys = series.flatMap { $0.points.map(\.y) }.filter(\.isFinite)
        ys += series.flatMap { $0.errorBars?.flatMap { [$0.low, $0.high] } ?? [] }.filter(\.isFinite)
        guard var x0 = xs.min(), var x1 = xs.max(), var y0 = ys.min(), var y1 = ys.max() else {
            return "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"60\"><text x=\"10\" y=\"30\">\(Self.escape(title)): no data</text></svg>"
        }
        if logX { x0 /= 1.3; x1 *= 1.3 } else { let p = max((x1 - x0) * 0.05, 1e-9); x0 -= p; x1 += p }
        let py = max((y1 - y0) * 0.08, 1e-3); y0 -= py; y1 += py
        let plotW = width - margin.left - margin.right, plotH = height - margin.top - margin.bottom
        func sx(_ x: Double) -> Double {
            margin.left + plotW * (logX ? (log10(x) - log10(x0)) / (log10(x1) - log10(x0)) : (x - x0) / (x1 - x0))
        }
        func sy(_ y: Double) -> Double { margin.top + plotH * (1 - (y - y0) / (y1 - y0)) }
        func f(_ v: Double) -> String { String(format: "%.1f", v) }
        var s = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(Int(height))\" font-family=\"sans-serif\" font-size=\"11\">\n"
        s += "<rect x=\"\(f(margin.left))\" y=\"\(f(margin.top))\" width=\"\(f(plotW))\" height=\"\(f(plotH))\" fill=\"none\" stroke=\"#333\"/>\n"
        s += "<text x=\"\(f(width / 2))\" y=\"18\" text-anchor=\"middle\" font-size=\"13\">\(Self.escape(title))</text>\n"
        for t in Self.ticks(x0, x1, log: logX) {
            s += "<line x1=\"\(f(sx(t)))\" y1=\"\(f(margin.top))\" x2=\"\(f(sx(t)))\" y2=\"\(f(margin.top + plotH))\" stroke=\"#eee\"/>"
            s += "<text x=\"\(f(sx(t)))\" y=\"\(f(margin.top + plotH + 15))\" text-anchor=\"middle\">\(Self.label(t))</text>\n"
        }
        for t in Self.ticks(y0, y1, log: false) {
            s += "<line x1=\"\(f(margin.left))\" y1=\"\(f(sy(t)))\" x2=\"\(f(margin.left + plotW))\" y2=\"\(f(sy(t)))\" stroke=\"#eee\"/>"
            s += "<text x=\"\(f(margin.left - 6))\" y=\"\(f(sy(t) + 4))\" text-anchor=\"end\">\(Self.label(t))</text>\n"
        }
        s += "<text x=\"\(f(margin.left + plotW / 2))\" y=\"\(f(height - 12))\" text-anchor=\"middle\">\(Self.escape(xLabel))</text>\n"
        s += "<text transform=\"translate(16,\(f(margin.top + plotH / 2))) rotate(-90)\" text-anchor=\"middle\">\(Self.escape(yLabel))</text>\n"
        for (i, ser) in series.enumerated() {
            let color = Self.colors[i % Self.colors.count]
            let pts = ser.points.filter { $0.x.isFinite && $0.y.isFinite && (!logX || $0.x > 0) }
            if ser.line && pts.count > 1 {
                let d = pts.map { "\(f(sx($0.x))),\(f(sy($0.y)))" }.joined(separator: " ")
                s += "<polyline points=\"\(d)\" fill=\"none\" stroke=\"\(color)\" stroke-width=\"1.6\"\(ser.dashed ? " stroke-dasharray=\"5,4\"" : "")/>\n"
            }
            for (j, p) in ser.points.enumerated() where p.x.isFinite && (!logX || p.x > 0) {
                if let bars = ser.errorBars, j < bars.count {
                    s += "<line x1=\"\(f(sx(p.x)))\" y1=\"\(f(sy(bars[j].low)))\" x2=\"\(f(sx(p.x)))\" y2=\"\(f(sy(bars[j].high)))\" stroke=\"\(color)\" stroke-width=\"1.4\"/>"
                }
                guard p.y.isFinite else { continue }
                let (cx, cy) = (sx(p.x), sy(p.y))
                switch ser.marker {
                case "none": break
                case "ring": s += "<circle cx=\"\(f(cx))\" cy=\"\(f(cy))\" r=\"3\" fill=\"none\" stroke=\"\(color)\" stroke-width=\"1.2\"/>"
                case "square": s += "<rect x=\"\(f(cx - 4))\" y=\"\(f(cy - 4))\" width=\"8\" height=\"8\" fill=\"\(color)\"/>"
                case "star": s += "<text x=\"\(f(cx))\" y=\"\(f(cy + 5))\" text-anchor=\"middle\" font-size=\"16\" fill=\"\(color)\">★</text>"
                case "cross": s += "<text x=\"\(f(cx))\" y=\"\(f(cy + 4))\" text-anchor=\"middle\" font-size=\"13\" fill=\"\(color)\">✕</text>"
                default: s += "<circle cx=\"\(f(cx))\" cy=\"\(f(cy))\" r=\"3.5\" fill=\"\(color)\"/>"
                }
            }
            s += "\n"
            let ly = margin.top + 14 + Double(i) * 15
            s += "<rect x=\"\(f(margin.left + 10))\" y=\"\(f(ly - 8))\" width=\"10\" height=\"10\" fill=\"\(color)\"/>"
            s += "<text x=\"\(f(margin.left + 25))\" y=\"\(f(ly + 1))\">\(Self.escape(ser.name))</text>\n"
        }
        return s + "</svg>"
    }
}
