import Foundation

/// Student's t and normal quantiles for prediction intervals, and Fisher's F for the lack-of-fit test (no statistics package exists for Swift here).
public enum Distributions {
    /// Regularized incomplete beta I_x(a, b), by the continued fraction (Lentz's method).
    static func incompleteBeta(_ x: Double, _ a: Double, _ b: Double) -> Double {
        if x <= 0 { return 0 }
        if x >= 1 { return 1 }
        let logFront: Double = lgamma(a + b) - lgamma(a) - lgamma(b) + a * log(x) + b * log(1 - x)
        let front = exp(logFront)
        if x > (a + 1) / (a + b + 2) { return 1 - incompleteBeta(1 - x, b, a) }
        let tiny = 1e-300
        var c = 1.0, d = 1 - (a + b) * x / (a + 1)
        if abs(d) < tiny { d = tiny }
        d = 1 / d
        var f = d
        for m in 1...300 {
            let m = Double(m)
            var num = m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m))
            d = 1 + num * d; if abs(d) < tiny { d = tiny }; c = 1 + num / c; if abs(c) < tiny { c = tiny }
            d = 1 / d; f *= d * c
            num = -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1))
            d = 1 + num * d; if abs(d) < tiny { d = tiny }; c = 1 + num / c; if abs(c) < tiny { c = tiny }
            d = 1 / d
            let delta = d * c
            f *= delta
            if abs(delta - 1) < 1e-15 { break }
        }
        return front * f / a
    }

    /// P(T ≤ t) for Student's t with `dof` degrees of freedom.
    public static func studentCDF(_ t: Double, dof: Double) -> Double {
        let tail = 0.5 * incompleteBeta(dof / (dof + t * t), dof / 2, 0.5)
        return t >= 0 ? 1 - tail : tail
    }

    /// P(F ≤ f) for Fisher's F with (`dof1`, `dof2`) degrees of freedom: I_{d1·f/(d1·f + d2)}(d1/2, d2/2).
    /// `fisherCDF(5.7861, dof1: 2, dof2: 5)` = 0.95.
    public static func fisherCDF(_ f: Double, dof1: Double, dof2: Double) -> Double {
        f <= 0 ? 0 : incompleteBeta(dof1 * f / (dof1 * f + dof2), dof1 / 2, dof2 / 2)
    }

    /// The t quantile: `studentQuantile(0.975, dof: 5)` = 2.5706.
    public static func studentQuantile(_ p: Double, dof: Double) -> Double {
        precondition(p > 0 && p < 1 && dof > 0, "studentQuantile needs 0 < p < 1 and dof > 0")
        if p < 0.5 { return -studentQuantile(1 - p, dof: dof) }
        var lo = 0.0, hi = 1.0
        while studentCDF(hi, dof: dof) < p { hi *= 2 }
        for _ in 0..<200 {
            let mid = (lo + hi) / 2
            if studentCDF(mid, dof: dof) < p { lo = mid } else { hi = mid }
        }
        return (lo + hi) / 2
    }

    /// The standard normal quantile (the t quantile's limit), by bisection on erfc.
    public static func normalQuantile(_ p: Double) -> Double {
        precondition(p > 0 && p < 1)
        var lo = -40.0, hi = 40.0
        for _ in 0..<200 {
            let mid = (lo + hi) / 2
            if 0.5 * erfc(-mid / 2.0.squareRoot()) < p { lo = mid } else { hi = mid }
        }
        return (lo + hi) / 2
    }
}
