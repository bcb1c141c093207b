import Foundation
import ScalingLaws

/// Parameter counts by part live in ScalingLaws (pure Swift), so a study can be planned without libtorch;
/// the models' tests check them against the built models' tensors.
public typealias ParameterCounts = ScalingLaws.ParameterCounts

extension ModelConfig {
    /// Parameter counts by part, from the configuration alone (validated first: sizes within ``Limits``
    /// keep every product in the counts below Int.max).
    public func parameterCounts() throws -> ParameterCounts {
        try validate()
        switch architecture {
        case .gpt:
            return .gpt(layers: layers, width: width, vocabulary: vocabularySize, sequenceLength: sequenceLength,
                        ffnWidth: ffnWidth, tiedEmbeddings: tiedEmbeddings)
        case .llama:
            return .llama(layers: layers, width: width, vocabulary: vocabularySize, ffnWidth: ffnWidth, tiedEmbeddings: tiedEmbeddings)
        case .bert:
            return .bert(layers: layers, width: width, vocabulary: vocabularySize, sequenceLength: sequenceLength,
                         ffnWidth: ffnWidth, tiedEmbeddings: tiedEmbeddings)
        case .t5:
            return .t5(layers: layers, width: width, vocabulary: vocabularySize, ffnWidth: ffnWidth, heads: heads,
                       tiedEmbeddings: tiedEmbeddings)
        }
    }

    /// Training FLOPs per token: 3 × forward (backward costs twice the forward), counting 2 FLOPs per
    /// multiply-add of every matrix product — the weight matrices including the readout, and per layer
    /// the attention products q·kᵀ and weights·v over the full sequence (2·2·s·w, no causal halving).
    /// Embedding lookups, norms, biases, activations and softmax are not counted. For GPT this is
    /// Narayanan et al.'s 72·l·w²·(1 + s/(6w) + V/(12·l·w)) per token, i.e. their formula without
    /// activation recomputation (the paper's Eq. 1 uses 96 = 72 · 4/3, with recomputation).
    /// BERT adds its MLM transform (w²). T5 counts one encoder token and one decoder token together, as if
    /// targets were as long as inputs, with the decoder's cross-attention over s encoder positions.
    public func trainingFLOPsPerToken() throws -> Double {
        let (v, w, f, l, s) = (Double(vocabularySize), Double(width), Double(ffnWidth), Double(layers), Double(sequenceLength))
        let matrixWeights: Double
        var attentionProducts = 1.0   // q·kᵀ and weights·v products per layer over s positions
        switch architecture {
        case .gpt: matrixWeights = l * (4 * w * w + 2 * w * f) + v * w
        case .llama: matrixWeights = l * (4 * w * w + 3 * w * f) + v * w
        case .bert: matrixWeights = l * (4 * w * w + 2 * w * f) + w * w + v * w
        case .t5:
            matrixWeights = l * (4 * w * w + 3 * w * f) + l * (8 * w * w + 3 * w * f) + v * w
            attentionProducts = 3   // encoder self, decoder self, cross
        }
        let attention = attentionProducts * l * 2 * (2 * s * w)
        return 3 * (2 * matrixWeights + attention)
    }
}

/// One line of `nanolm params --audit`: a tensor and every μP multiplier that touches it.
public struct ParameterAuditRow: Codable, Sendable {
    public var name: String
    public var role: ParameterRole
    public var shape: [Int]
    /// How it is initialised, e.g. "N(0, 0.01²)", "zeros", "ones", with zeroed query rows noted.
    public var initialization: String
    public var initStd: Double
    /// Factor on the base learning rate l (l/r for hidden tensors under μP).
    public var learningRateMultiplier: Double
    /// Factor on the tensor's output in the forward pass (τ/r for the readout under μP; 1 elsewhere).
    public var forwardMultiplier: Double
    public var note: String

    public init(name: String, role: ParameterRole, shape: [Int], initialization: String, initStd: Double,
                learningRateMultiplier: Double, forwardMultiplier: Double, note: String) {
        self.name = name
        self.role = role
        self.shape = shape
        self.initialization = initialization
        self.initStd = initStd
        self.learningRateMultiplier = learningRateMultiplier
        self.forwardMultiplier = forwardMultiplier
        self.note = note
    }
}

extension ModelConfig {
    /// The text `nanolm params` prints: counts by part, FLOPs per token, and the audit table if given.
    public func countsReport(counts: ParameterCounts, flops: Double, audit rows: [ParameterAuditRow]?) -> String {
        var out: [String] = []
        func print(_ line: String) { out.append(line) }
        let (config, arch, vocab, tied, p) = (self, architecture, vocabularySize, tiedEmbeddings, parametrization)
        print("\(arch.rawValue): \(layers) layers, width \(width) (\(config.heads) heads of \(headDim)), MLP \(config.ffnWidth), vocabulary \(vocab), sequence \(sequenceLength), \(tied ? "tied" : "untied") readout")
        print(p.kind == .muP ? "μP, base width \(p.baseWidth) (r = \(format(p.widthRatio(width))))" : "SP")
        let lines: [(String, Int, String)] = [
            ("token embedding", counts.tokenEmbedding, tied ? "also the readout" : ""),
            ("position embedding", counts.positionEmbedding, counts.positionEmbedding > 0 ? "not in C" : ""),
            ("blocks", counts.blocks, ""),
            ("other", counts.head, "norms; BERT: MLM head, token types; T5: position buckets"),
            ("readout", counts.readout, tied ? "tied" : ""),
            ("total", counts.total, ""),
            ("non-embedding", counts.nonEmbedding, "Kaplan's N"),
        ]
        print("parameters, μScaling's C: \(grouped(counts.scaling)) (\(humanized(counts.scaling)))")
        for (label, value, note) in lines {
            print("  " + label.padding(toLength: 20, withPad: " ", startingAt: 0)
                  + grouped(value).leftPadded(16) + (note.isEmpty ? "" : "  \(note)"))
        }
        print("training FLOPs per token: \(String(format: "%.4g", flops)) (all matrix products × 3; no recomputation)")
        if let rows {
            print("")
            let header = ["name", "role", "shape", "init", "lr ×", "forward ×", "note"]
            let table = rows.map { r in
                [r.name, r.role.rawValue, r.shape.map(String.init).joined(separator: "×"), r.initialization,
                 format(r.learningRateMultiplier), format(r.forwardMultiplier), r.note]
            }
            let widths = header.indices.map { i in ([header[i]] + table.map { $0[i] }).map(\.count).max()! }
            for row in [header] + table {
                let line = row.indices.map { row[$0].padding(toLength: widths[$0], withPad: " ", startingAt: 0) }.joined(separator: "  ")
                print(String(line.reversed().drop { $0 == " " }.reversed()))
            }
            print("\(rows.count) tensors, every one with a role (hidden: \(rows.filter { $0.role == .hidden }.count), input: \(rows.filter { $0.role == .input }.count), output: \(rows.filter { $0.role == .output }.count), vector: \(rows.filter { $0.role == .vector }.count))")
        }
        return out.joined(separator: "\n")
    }
}

private func format(_ x: Double) -> String { String(format: "%.4g", x) }
private func grouped(_ n: Int) -> String {
    let digits = Array(String(n))
    return String(digits.enumerated().flatMap { i, c in (i > 0 && (digits.count - i) % 3 == 0) ? [",", c] : [c] })
}
private func humanized(_ n: Int) -> String {
    n >= 1_000_000_000 ? String(format: "%.3f B", Double(n) / 1e9) : String(format: "%.2f M", Double(n) / 1e6)
}
private extension String {
    func leftPadded(_ n: Int) -> String { count >= n ? self : String(repeating: " ", count: n - count) + self }
}
