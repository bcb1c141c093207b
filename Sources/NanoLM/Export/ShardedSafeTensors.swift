import Foundation
import Torch

/// Hugging Face's weight files: one `model.safetensors`, or above `maxShardBytes` several
/// `model-0000k-of-0000n.safetensors` with `model.safetensors.index.json` ({metadata.total_size,
/// weight_map: name → file}), as `save_pretrained` writes them. Every file carries `format: pt`, which
/// transformers requires of a safetensors checkpoint.
public enum ShardedSafeTensors {
    /// HF's default `max_shard_size` (5 GB).
    public static let defaultMaxShardBytes = 5_000_000_000

    /// Writes `tensors` into `directory`; returns the file names written. Tensors go into shards in name
    /// order; a tensor larger than the limit gets a shard of its own.
    @discardableResult
    public static func write(_ tensors: [String: Tensor], to directory: URL, maxShardBytes: Int = defaultMaxShardBytes) throws -> [String] {
        let metadata = ["format": "pt"]
        let total = tensors.values.reduce(0) { $0 + $1.count * $1.dtype.byteCount }
        if total <= maxShardBytes {
            try SafeTensors.save(tensors, metadata: metadata, to: directory.appendingPathComponent("model.safetensors"))
            return ["model.safetensors"]
        }
        var shards: [[String]] = [[]]
        var shardBytes = 0
        for name in tensors.keys.sorted() {
            let bytes = tensors[name]!.count * tensors[name]!.dtype.byteCount
            if shardBytes > 0, shardBytes + bytes > maxShardBytes {
                shards.append([])
                shardBytes = 0
            }
            shards[shards.count - 1].append(name)
            shardBytes += bytes
        }
        var weightMap: [String: String] = [:]
        var files: [String] = []
        for (k, names) in shards.enumerated() {
            let file = String(format: "model-%05d-of-%05d.safetensors", k + 1, shards.count)
            let part = Dictionary(uniqueKeysWithValues: names.map { ($0, tensors[$0]!) })
            try SafeTensors.save(part, metadata: metadata, to: directory.appendingPathComponent(file))
            for name in names { weightMap[name] = file }
            files.append(file)
        }
        let index: [String: Any] = ["metadata": ["total_size": total], "weight_map": weightMap]
        try writeJSON(index, to: directory.appendingPathComponent("model.safetensors.index.json"))
        return files + ["model.safetensors.index.json"]
    }
}
