import CTorch

// Autograd, grad mode, autocast and libtorch's global settings.

extension Tensor {
    /// Whether operations on this tensor are recorded for backward. Setting it applies in place.
    public var requiresGrad: Bool {
        get { ct_requires_grad(handle) != 0 }
        set { _ = ct_set_requires_grad(handle, newValue ? 1 : 0) }
    }

    /// Marks this (leaf) tensor as requiring gradients and returns it.
    @discardableResult
    public func requiringGrad() throws -> Tensor {
        try Tensor.check("requires_grad_", [self], ct_set_requires_grad(handle, 1))
        return self
    }

    /// Back-propagates from this tensor (a scalar, or with `gradient` of its shape) into the leaves'
    /// `grad`, accumulating.
    public func backward(_ gradient: Tensor? = nil, retainGraph: Bool = false) throws {
        try Tensor.check("backward", [self], ct_backward(handle, gradient?.handle, retainGraph ? 1 : 0))
    }

    /// The accumulated gradient, or nil when backward has not reached this tensor.
    public var grad: Tensor? {
        guard ct_grad_defined(handle) != 0, let g = ct_grad(handle) else { return nil }
        return Tensor(owning: g)
    }

    /// Drops the accumulated gradient (PyTorch's `zero_grad(set_to_none=True)`).
    public func zeroGrad() throws { try Tensor.check("zero_grad", [self], ct_zero_grad(handle)) }

    /// The same data, cut from the autograd graph.
    public func detach() throws -> Tensor { try Tensor.make("detach", [self]) { ct_detach(handle) } }
}

/// Runs `body` with gradient recording off on this thread (PyTorch's `torch.no_grad()`).
public func withNoGrad<R>(_ body: () throws -> R) rethrows -> R {
    var previous: Int32 = 1
    _ = ct_set_grad_enabled(0, &previous)
    defer { _ = ct_set_grad_enabled(previous, nil) }
    return try body()
}

/// Runs `body` under autocast on `device` (the CPU or CUDA): matmuls and linear layers run in `dtype`
/// (bfloat16), while parameters stay float32 (PyTorch's `torch.autocast(device_type, dtype=torch.bfloat16)`).
public func withAutocast<R>(_ dtype: DType = .bfloat16, on device: Device = .cpu, _ body: () throws -> R) throws -> R {
    let cuda: Int32
    switch device {
    case .cpu: cuda = 0
    case .cuda: cuda = 1
    case .meta: throw TorchError(op: "autocast", shapes: [], message: "autocast runs on the CPU or CUDA, not on \(device)")
    }
    var previous: Int32 = 0
    try Tensor.check("autocast(\(device))", [], ct_set_autocast(cuda, 1, dtype.rawValue, &previous))
    defer { _ = ct_set_autocast(cuda, 0, dtype.rawValue, nil) }
    return try body()
}

/// libtorch's process-wide settings.
public enum Torch {
    /// The libtorch version this binary runs on, e.g. "1.13.0".
    public static var version: String { String(cString: ct_version()) }

    /// Whether this libtorch has `at::scaled_dot_product_attention` with a scale argument (≥ 2.1).
    public static var hasScaledDotProductAttention: Bool { ct_has_sdpa() != 0 }

    /// Whether this libtorch has the fused AdamW kernel on the CPU and CUDA, `at::_fused_adamw_` (≥ 2.4):
    /// ``Tensor/fusedAdamW_(parameters:gradients:exponentialAverages:exponentialSquares:step:learningRate:beta1:beta2:weightDecay:eps:)``.
    public static var hasFusedAdamW: Bool { ct_has_fused_adamw() != 0 }

    /// Threads for intra-op parallelism (matmuls, elementwise kernels).
    public static var threadCount: Int {
        get { Int(ct_get_num_threads()) }
        set { _ = ct_set_num_threads(Int32(newValue)) }
    }

    /// Keeps freed tensor memory in the process for reuse instead of returning it to the kernel: a
    /// training step frees and re-allocates the same activations every step, and by default glibc
    /// unmaps large blocks and trims the heap, so every step faults its pages back in zero-filled
    /// (docs/BENCHMARKS.md, "Per-step overhead"). Process-wide, for the rest of the process; the
    /// numbers computed do not change. False where the C library has no such setting.
    @discardableResult
    public static func retainFreedMemory() -> Bool { ct_retain_freed_memory() == 1 }

    /// Routes libtorch's fp32 GEMMs on the CPU to oneDNN's sgemm (on) or OpenBLAS's (off): process-wide, for
    /// the rest of the process (`NANOLM_GEMM`; docs/DESIGN.md, "GEMMs through oneDNN"). oneDNN is on from the
    /// start wherever it can work; the two differ in the last bits (another summation order). False where
    /// oneDNN is unavailable: another engine, or no oneDNN in this libtorch.
    @discardableResult
    public static func useOneDNNGEMM(_ on: Bool) -> Bool { ct_use_onednn_gemm(on ? 1 : 0) == 1 }

    /// Whether oneDNN answers libtorch's fp32 GEMMs now (``useOneDNNGEMM(_:)``).
    public static var usesOneDNNGEMM: Bool { ct_onednn_gemm_on() == 1 }

    /// GEMMs oneDNN has answered in this process (``useOneDNNGEMM(_:)``).
    public static var oneDNNGEMMCalls: UInt64 { ct_onednn_gemm_calls() }

    /// Seeds libtorch's global generator (used by dropout and by ops given no ``Generator``).
    public static func manualSeed(_ seed: UInt64) { _ = ct_manual_seed(seed) }

    /// The global generator's state (a uint8 tensor), for checkpoints.
    public static func globalGeneratorState() throws -> Tensor {
        try Tensor.make("globalGeneratorState", []) { ct_default_generator_state() }
    }

    /// Restores a state saved by ``globalGeneratorState()``.
    public static func setGlobalGeneratorState(_ state: Tensor) throws {
        try Tensor.check("setGlobalGeneratorState", [state], ct_default_generator_set_state(state.handle))
    }

    /// The state of `device`'s default generator (dropout on a GPU draws from its device's generator).
    public static func generatorState(on device: Device) throws -> Tensor {
        try Tensor.make("generatorState(\(device))", []) { ct_device_generator_state(device.code) }
    }

    /// Restores a state saved by ``generatorState(on:)`` on the same kind of device.
    public static func setGeneratorState(_ state: Tensor, on device: Device) throws {
        try Tensor.check("setGeneratorState(\(device))", [state], ct_device_generator_set_state(device.code, state.handle))
    }
}
