import Torch

// Same-shape runs trained together (StackedTraining.swift): when a layer's weight carries a leading run
// dimension R, the layer computes R independent layers at once. Activations keep the model's layout with
// the runs outermost, [R·B, T, W] (run r's sequences at rows r·B ..< (r+1)·B), so everything between the
// layers — attention over R·B sequences, residuals, activation functions — runs unchanged.

extension Tensor {
    /// Whether this weight holds R runs' tensors of `rank` dimensions stacked (rank + 1 dimensions).
    func isStacked(overRank rank: Int) -> Bool { self.rank == rank + 1 }

    /// x [R·B, .., W] · g [R, W] (each run's rows times its own vector) → [R·B, .., W].
    func timesPerRun(_ g: Tensor) throws -> Tensor {
        let (r, w) = (g.shape[0], g.shape[1])
        return try (reshape([r, -1, w]) * g.unsqueeze(1)).reshape(shape)       // [R, B·.., W] → [R·B, .., W]
    }

    /// x [R·B, .., W] + b [R, W] → [R·B, .., W].
    func plusPerRun(_ b: Tensor) throws -> Tensor {
        let (r, w) = (b.shape[0], b.shape[1])
        return try (reshape([r, -1, w]) + b.unsqueeze(1)).reshape(shape)
    }
}

extension Linear {
    /// x [R·B, .., in], weight [R, out, in], bias [R, out] → [R·B, .., out]: one batched matmul.
    func stacked(_ x: Tensor) throws -> Tensor {
        let w = weight.value
        let (r, outputs, inputs) = (w.shape[0], w.shape[1], w.shape[2])
        var y = try x.reshape([r, -1, inputs]).matmul(w.transpose(1, 2))        // [R, B·.., out]
        if let b = bias?.value { y = try y + b.unsqueeze(1) }
        return try y.reshape(Array(x.shape.dropLast()) + [outputs])
    }
}

extension Embedding {
    /// ids [R·B, ..], weight [R, V, W] → [R·B, .., W]: run r looks up its own table, as ids + r·V in the
    /// [R·V, W] table of all runs.
    func stacked(_ ids: Tensor) throws -> Tensor {
        let w = weight.value
        let (r, v, width) = (w.shape[0], w.shape[1], w.shape[2])
        let offsets = try Tensor.arange(0, Double(r * v), step: Double(v), device: ids.device).unsqueeze(1)  // [R, 1]
        let rows = try ids.reshape([r, -1]) + offsets                            // [R, B·..]
        return try w.reshape([r * v, width]).embedding(rows).reshape(ids.shape + [width])
    }
}

extension LayerNorm {
    /// x [R·B, .., W], weight and bias [R, W] → [R·B, .., W].
    func stacked(_ x: Tensor) throws -> Tensor {
        let w = weight.value.shape[1]
        let normed = try x.layerNorm([w], weight: nil, bias: nil, eps: eps).timesPerRun(weight.value)
        return try bias.map { try normed.plusPerRun($0.value) } ?? normed
    }
}
