import CTorch
import Foundation

/// A group of processes that run collectives together, after a TCPStore rendezvous at
/// `masterAddress:port` hosted by rank 0: libtorch's c10d Gloo backend for CPU tensors and, in a CUDA
/// build with NCCL on a process that sees a GPU, ProcessGroupNCCL for CUDA tensors. Each collective goes
/// to the backend of its tensors' device.
///
/// Every collective waits for completion and fails with a ``TorchError`` after `timeout` — a rank that
/// died or hangs ends the run instead of hanging it.
public final class ProcessGroup {
    let handle: OpaquePointer
    public let rank: Int
    public let worldSize: Int

    public init(masterAddress: String, port: Int, rank: Int, worldSize: Int, timeout: TimeInterval = 120) throws {
        guard let handle = ct_process_group_new(masterAddress, Int32(port), Int32(rank), Int32(worldSize),
                                                 Int32(timeout * 1000)) else {
            throw TorchError.last("ProcessGroup(\(masterAddress):\(port), rank \(rank) of \(worldSize))", [])
        }
        self.handle = handle
        self.rank = rank
        self.worldSize = worldSize
    }

    deinit { ct_process_group_free(handle) }

    /// The c10d backends a collective can use.
    public enum Backend: String, Sendable { case gloo, nccl }

    /// Gloo always; NCCL too in a CUDA build with NCCL when this process sees a GPU.
    public var backends: [Backend] {
        Int(ct_process_group_backends(handle)) & Int(CT_BACKEND_NCCL) != 0 ? [.gloo, .nccl] : [.gloo]
    }

    /// Whether this build of the shim has ProcessGroupNCCL (a CUDA libtorch with the NCCL headers).
    public static var ncclCompiled: Bool { ct_nccl_compiled() != 0 }

    /// Sums each tensor across ranks, in place.
    public func allReduceSum(_ tensors: [Tensor]) throws {
        try withHandles(tensors) { try Tensor.check("allreduce", tensors, ct_process_group_allreduce_sum(handle, $0, $1)) }
    }

    /// Copies each tensor from rank `root` to every rank, in place.
    public func broadcast(_ tensors: [Tensor], root: Int = 0) throws {
        try withHandles(tensors) { try Tensor.check("broadcast", tensors, ct_process_group_broadcast(handle, $0, $1, Int32(root))) }
    }

    /// Gathers `input` from every rank into `outputs[rank]` (one tensor of input's shape per rank).
    public func allGather(_ input: Tensor, into outputs: [Tensor]) throws {
        try withHandles(outputs) {
            try Tensor.check("allgather", [input] + outputs, ct_process_group_allgather(handle, input.handle, $0, $1))
        }
    }

    /// Waits until every rank gets here.
    public func barrier() throws { try Tensor.check("barrier", [], ct_process_group_barrier(handle)) }

    func withHandles(_ tensors: [Tensor], _ body: (UnsafePointer<OpaquePointer?>?, Int32) throws -> Void) throws {
        let handles: [OpaquePointer?] = tensors.map { $0.handle }
        try withExtendedLifetime(tensors) {
            try handles.withUnsafeBufferPointer { try body($0.baseAddress, Int32($0.count)) }
        }
    }
}

/// Where this process sits in a distributed run, from torchrun's variables (RANK, WORLD_SIZE,
/// LOCAL_RANK, MASTER_ADDR, MASTER_PORT) or, under `srun`, from SLURM_PROCID, SLURM_NTASKS and
/// SLURM_LOCALID. Without MASTER_ADDR a Slurm step meets on the first host of SLURM_JOB_NODELIST, and
/// without MASTER_PORT on 20000 + SLURM_JOB_ID mod 20000 (so two jobs on one node do not collide).
public struct DistributedEnvironment: Equatable, Sendable {
    public var rank: Int
    public var worldSize: Int
    public var localRank: Int
    public var masterAddress: String
    public var masterPort: Int

    /// nil when the variables describe a single process (or are absent).
    public static func current(_ environment: [String: String] = ProcessInfo.processInfo.environment) throws -> DistributedEnvironment? {
        func int(_ key: String) throws -> Int? {
            guard let text = environment[key] else { return nil }
            guard let value = Int(text) else { throw TorchError(op: "distributed", shapes: [], message: "\(key)=\(text) is not a number") }
            return value
        }
        let rank = try int("RANK") ?? int("SLURM_PROCID")
        let world = try int("WORLD_SIZE") ?? int("SLURM_NTASKS")
        guard let rank, let world, world > 1 else { return nil }
        guard (0 ..< world).contains(rank) else {
            throw TorchError(op: "distributed", shapes: [], message: "rank \(rank) is outside world size \(world)")
        }
        let slurmHost = environment["SLURM_JOB_NODELIST"].flatMap(Self.firstHost(of:))
        let slurmPort = try int("SLURM_JOB_ID").map { 20000 + $0 % 20000 }
        return DistributedEnvironment(rank: rank, worldSize: world, localRank: try int("LOCAL_RANK") ?? int("SLURM_LOCALID") ?? rank,
                                      masterAddress: environment["MASTER_ADDR"] ?? slurmHost ?? "127.0.0.1",
                                      masterPort: try int("MASTER_PORT") ?? slurmPort ?? 29500)
    }

    /// The first host of a Slurm node list: "node07" → node07, "gpu[003-005,010],cpu01" → gpu003.
    public static func firstHost(of nodeList: String) -> String? {
        let first = nodeList.prefix { $0 != "," && $0 != "[" }
        guard !first.isEmpty else { return nil }
        guard nodeList.dropFirst(first.count).first == "[" else { return String(first) }
        let ranges = nodeList.dropFirst(first.count + 1).prefix { $0 != "]" }
        let start = ranges.prefix { $0 != "," && $0 != "-" }
        return start.isEmpty ? nil : String(first + start)
    }
}
