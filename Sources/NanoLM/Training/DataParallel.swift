import Foundation
import Torch

/// Data parallelism over a c10d process group: every rank holds the whole model, trains on its slice
/// of the same global batch, and averages gradients once per step, in buckets, before the optimizer.
/// Rank 0 alone writes metrics and checkpoints; every rank resumes from them.
public final class DataParallel {
    public let group: ProcessGroup
    /// Gradients are flattened into buckets of about this many elements per all-reduce.
    public let bucketElements: Int

    public init(group: ProcessGroup, bucketElements: Int = 4 << 20) {
        self.group = group
        self.bucketElements = bucketElements
    }

    public var rank: Int { group.rank }
    public var worldSize: Int { group.worldSize }
    public var isPrimary: Bool { group.rank == 0 }

    /// Copies rank 0's parameters to every rank.
    public func synchronize(_ parameters: [Parameter]) throws {
        try withNoGrad { try group.broadcast(parameters.map(\.value), root: 0) }
    }

    /// Replaces every gradient by its mean over the ranks.
    public func averageGradients(_ parameters: [Parameter]) throws {
        let grads = parameters.compactMap { $0.value.grad }
        try withNoGrad {
            var bucket: [Tensor] = []
            var size = 0
            func flush() throws {
                guard !bucket.isEmpty else { return }
                let flat = try Tensor.cat(try bucket.map { try $0.reshape([-1]) })  // [Σ numel]
                try group.allReduceSum([flat])
                try flat.mul_(1 / Double(worldSize))
                var offset = 0
                for g in bucket {
                    try g.copy_(try flat.narrow(0, start: offset, length: g.count).view(g.shape))
                    offset += g.count
                }
                bucket.removeAll()
                size = 0
            }
            for g in grads {
                bucket.append(g)
                size += g.count
                if size >= bucketElements { try flush() }
            }
            try flush()
        }
    }

    /// The mean of `value` over the ranks.
    public func average(_ value: Double) throws -> Double {
        let t = try Tensor([value] as [Double])
        try group.allReduceSum([t])
        return try t.item() / Double(worldSize)
    }
}

/// This rank's rows of every global training batch (the batch size must divide by the world size);
/// held-out batches are evaluated whole on every rank, so all ranks agree on them.
public struct RankSlice: BatchSource {
    public let global: any BatchSource
    public let rank: Int
    public let worldSize: Int

    public init(_ global: any BatchSource, rank: Int, worldSize: Int) {
        self.global = global
        self.rank = rank
        self.worldSize = worldSize
    }

    public func trainingBatch(step: Int, micro: Int) throws -> Batch {
        let batch = try global.trainingBatch(step: step, micro: micro)
        func slice(_ t: Tensor) throws -> Tensor {
            let rows = t.shape[0]
            guard rows % worldSize == 0 else {
                throw ModelError.invalidConfiguration("batch size \(rows) does not divide by the world size \(worldSize)")
            }
            return try t.narrow(0, start: rank * rows / worldSize, length: rows / worldSize).contiguous()
        }
        return Batch(inputs: try slice(batch.inputs), targets: try slice(batch.targets),
                     decoderInputs: try batch.decoderInputs.map(slice))
    }

    public func validationBatch(_ index: Int) throws -> Batch { try global.validationBatch(index) }
}
