import Foundation

/// Small dense linear algebra for fits with a handful of parameters (row-major [[Double]]).
enum Matrix {
    /// Solves A·x = b by Gaussian elimination with partial pivoting; nil when A is singular.
    static func solve(_ a: [[Double]], _ b: [Double]) -> [Double]? {
        let n = b.count
        var m = a
        var x = b
        for col in 0..<n {
            guard let pivot = (col..<n).max(by: { abs(m[$0][col]) < abs(m[$1][col]) }), abs(m[pivot][col]) > 1e-300 else { return nil }
            m.swapAt(col, pivot); x.swapAt(col, pivot)
            for row in (col + 1)..<n {
                let f = m[row][col] / m[col][col]
                if f == 0 { continue }
                for k in col..<n { m[row][k] -= f * m[col][k] }
                x[row] -= f * x[col]
            }
        }
        for row in stride(from: n - 1, through: 0, by: -1) {
            var s = x[row]
            for k in (row + 1)..<n { s -= m[row][k] * x[k] }
            x[row] = s / m[row][row]
        }
        return x.allSatisfy(\.isFinite) ? x : nil
    }

    /// The inverse of a square matrix, column by column; nil when singular.
    static func inverse(_ a: [[Double]]) -> [[Double]]? {
        let n = a.count
        var columns: [[Double]] = []
        for j in 0..<n {
            var e = [Double](repeating: 0, count: n); e[j] = 1
            guard let c = solve(a, e) else { return nil }
            columns.append(c)
        }
        return (0..<n).map { i in (0..<n).map { j in columns[j][i] } }
    }

    /// Jᵀ·J for a Jacobian with one row per residual.
    static func gram(_ j: [[Double]]) -> [[Double]] {
        let p = j.first?.count ?? 0
        var g = [[Double]](repeating: [Double](repeating: 0, count: p), count: p)
        for row in j { for a in 0..<p { for b in 0..<p { g[a][b] += row[a] * row[b] } } }
        return g
    }

    /// Jᵀ·r.
    static func transposeTimes(_ j: [[Double]], _ r: [Double]) -> [Double] {
        let p = j.first?.count ?? 0
        var g = [Double](repeating: 0, count: p)
        for (row, ri) in zip(j, r) { for a in 0..<p { g[a] += row[a] * ri } }
        return g
    }
}

extension Matrix {
    /// T·C·Tᵀ: a covariance C of some coefficients carried to others whose Jacobian is T (the delta method).
    static func congruence(_ t: [[Double]], _ c: [[Double]]) -> [[Double]] {
        t.indices.map { i in
            t.indices.map { j in
                var v = 0.0
                for k in c.indices { for l in c.indices { v += t[i][k] * c[k][l] * t[j][l] } }
                return v
            }
        }
    }
}
