import Foundation
import ModelSpec
import Torch

/// Data parallelism over a c10d process group: every rank holds the whole model, trains on its slice
/// of the same global batch, and averages gradients once per step, in buckets, before the optimizer.
/// Buckets live on the parameters' device, so CUDA gradients go through NCCL and CPU ones through Gloo
/// (``ProcessGroup``). Rank 0 alone writes metrics and checkpoints; every rank resumes from them.
public final class DataParallel {
    public let group: ProcessGroup
    /// Gradients are flattened into buckets of about this many elements per all-reduce.
    public let bucketElements: Int

    /// ZeRO stage 1: each rank keeps AdamW moments only for the parameters it owns, updates those, and
    /// broadcasts them to the other ranks after the step.
    public let shardsOptimizerState: Bool

    /// Where the buckets and the averaged scalars live: the model's device (the trainer sets it).
    public var device: Device = .cpu

    public init(group: ProcessGroup, shardOptimizerState: Bool = false, bucketElements: Int = 4 << 20) {
        self.group = group
        self.shardsOptimizerState = shardOptimizerState
        self.bucketElements = bucketElements
    }

    /// The rank that owns each parameter's optimizer state: largest first to the least-loaded rank.
    public func owners(_ parameters: [Parameter]) -> [Int] {
        var load = [Int](repeating: 0, count: worldSize)
        var owner = [Int](repeating: 0, count: parameters.count)
        for i in parameters.indices.sorted(by: { (parameters[$0].value.count, $1) > (parameters[$1].value.count, $0) }) {
            let r = load.indices.min { (load[$0], $0) < (load[$1], $1) }!
            owner[i] = r
            load[r] += parameters[i].value.count
        }
        return owner
    }

    /// The parameters this rank's optimizer updates: all of them, or its shard under ZeRO-1.
    public func optimizerParameters(_ parameters: [Parameter]) -> [Parameter] {
        guard shardsOptimizerState else { return parameters }
        let owner = owners(parameters)
        return parameters.indices.filter { owner[$0] == rank }.map { parameters[$0] }
    }

    /// After a sharded step: every parameter goes from its owner to the other ranks (one flat
    /// broadcast per owner).
    public func gatherUpdatedParameters(_ parameters: [Parameter]) throws {
        guard shardsOptimizerState else { return }
        try broadcastFromOwners(parameters.map(\.value), owners: owners(parameters))
    }

    /// The full optimizer state (every parameter's moments) on every rank, for a checkpoint.
    public func gatherOptimizerState(_ optimizer: AdamW, _ parameters: [Parameter]) throws -> [String: Tensor] {
        var state = try optimizer.state()
        guard shardsOptimizerState else { return state }
        for prefix in ["exp_avg", "exp_avg_sq"] {
            let tensors = try parameters.map { p in try state["\(prefix).\(p.name)"] ?? Tensor.zeros(p.shape, device: p.value.device) }
            try broadcastFromOwners(tensors, owners: owners(parameters))
            for (p, t) in zip(parameters, tensors) { state["\(prefix).\(p.name)"] = t }
        }
        return state
    }

    func broadcastFromOwners(_ tensors: [Tensor], owners: [Int]) throws {
        try withNoGrad {
            for r in 0 ..< worldSize {
                let mine = tensors.indices.filter { owners[$0] == r }.map { tensors[$0] }
                guard !mine.isEmpty else { continue }
                let flat = try Tensor.cat(try mine.map { try $0.reshape([-1]) })  // [Σ numel]
                try group.broadcast([flat], root: r)
                var offset = 0
                for t in mine {
                    try t.copy_(try flat.narrow(0, start: offset, length: t.count).view(t.shape))
                    offset += t.count
                }
            }
        }
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
        let t = try Tensor([value] as [Double], device: device)
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

    public func validationBatch(windows: [Int]) throws -> Batch { try global.validationBatch(windows: windows) }
    public var validationWindowCount: Int { global.validationWindowCount }
    public var validationWindowTokens: Int { global.validationWindowTokens }
    public var validationLayout: ValidationLayout? { global.validationLayout }
}
