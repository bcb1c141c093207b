import CTorch

/// An n-dimensional array living in libtorch, with autograd.
///
/// Error convention (one for the whole API): every operation that libtorch can reject `throws` a
/// ``TorchError`` naming the operation, the operands' shapes and libtorch's message. One `try` covers a
/// whole expression: `let y = try (x.matmul(w) + b).gelu()`. Nothing traps on bad shapes, so a caller
/// (a test, a training loop, a study) decides what a failure means.
public final class Tensor: @unchecked Sendable {
    /// The owned libtorch handle, freed when this object goes away.
    let handle: OpaquePointer

    init(owning handle: OpaquePointer) { self.handle = handle }
    deinit { ct_free(handle) }
}

/// An operation that libtorch rejected.
public struct TorchError: Error, CustomStringConvertible, Sendable {
    /// The operation, e.g. `matmul`.
    public let op: String
    /// The shapes of the tensor operands, in order.
    public let shapes: [[Int]]
    /// libtorch's own message (without its C++ backtrace).
    public let message: String

    public var description: String {
        let operands = shapes.map { "[" + $0.map(String.init).joined(separator: ", ") + "]" }.joined(separator: ", ")
        return "\(op)(\(operands)): \(message)"
    }

    /// The error for the libtorch call that just failed on this thread.
    static func last(_ op: String, _ operands: [Tensor]) -> TorchError {
        let message = ct_last_error().map { String(cString: $0) } ?? "unknown libtorch error"
        return TorchError(op: op, shapes: operands.map { $0.shapeIfValid }, message: message)
    }
}

/// Element types. Raw values are libtorch's ScalarType codes.
public enum DType: Int32, Sendable, CaseIterable {
    case uint8 = 0, int8 = 1, int16 = 2, int32 = 3, int64 = 4
    case float16 = 5, float32 = 6, float64 = 7, bool = 11, bfloat16 = 15

    /// Bytes per element.
    public var byteCount: Int {
        switch self {
        case .uint8, .int8, .bool: 1
        case .int16, .float16, .bfloat16: 2
        case .int32, .float32: 4
        case .int64, .float64: 8
        }
    }

    public var isFloatingPoint: Bool { [.float16, .float32, .float64, .bfloat16].contains(self) }
}

/// Where a tensor lives.
public enum Device: Hashable, Sendable, CustomStringConvertible {
    case cpu
    case cuda(Int)
    /// Shapes and dtypes without data: every op runs its shape logic and nothing else. Tests use it to
    /// catch a tensor made on the wrong device without a GPU (libtorch refuses to mix meta and CPU
    /// operands, and ``DeviceCheck`` refuses to make a CPU tensor while meta is required).
    case meta

    var code: Int32 {
        switch self {
        case .cpu: return Int32(CT_DEVICE_CPU)
        case .meta:
            _ = Device.metaKernels
            return Int32(CT_DEVICE_META)
        case .cuda(let index): return Int32(index)
        }
    }

    /// The meta kernels the shim adds to libtorch 1.13, registered once before the first meta tensor.
    private static let metaKernels: Void = {
        if ct_prepare_meta() != 0 {
            print("warning: meta kernels not registered: \(ct_last_error().map { String(cString: $0) } ?? "?")")
        }
    }()

    init(code: Int32) {
        switch Int(code) {
        case CT_DEVICE_META: self = .meta
        case ..<0: self = .cpu
        default: self = .cuda(Int(code))
        }
    }

    public var description: String {
        switch self {
        case .cpu: "cpu"
        case .meta: "meta"
        case .cuda(let index): "cuda:\(index)"
        }
    }

    /// CUDA devices libtorch can use (0 on a CPU-only build).
    public static var cudaDeviceCount: Int { Int(ct_cuda_device_count()) }
}

/// A check for tests: inside `DeviceCheck.$required.withValue(.meta) { … }` every tensor made from
/// scratch (``Tensor/empty(_:dtype:device:)``, `full`, `arange`, the random ones, from Swift arrays) must be
/// made on that device, or making it throws. Ops that mix devices fail in libtorch by themselves; this
/// catches the tensors a forward pass builds (positions, masks, tables) where libtorch would not notice,
/// such as CPU indices into a meta embedding.
public enum DeviceCheck {
    @TaskLocal public static var required: Device?

    /// Throws when a tensor is about to be made on `device` while another one is required.
    static func allow(_ op: String, on device: Device) throws {
        guard let required, required != device else { return }
        throw TorchError(op: op, shapes: [], message: "made on \(device) where every tensor must be on \(required)")
    }
}

// MARK: - Calling the shim

extension Tensor {
    /// Wraps the handle a shim call returned, or throws the thread's libtorch error naming `op` and
    /// the operands (evaluated only on failure).
    @inline(__always)
    static func make(_ op: String, _ operands: @autoclosure () -> [Tensor], _ call: () -> OpaquePointer?) throws -> Tensor {
        guard let handle = call() else { throw TorchError.last(op, operands()) }
        return Tensor(owning: handle)
    }

    /// Throws the thread's libtorch error when a status-returning shim call failed.
    @inline(__always)
    static func check(_ op: String, _ operands: @autoclosure () -> [Tensor], _ status: Int32) throws {
        if status != 0 { throw TorchError.last(op, operands()) }
    }
}

/// Calls `body` with a C array of `Int64` built from `values`.
@inline(__always)
func withInt64s<R>(_ values: [Int], _ body: (UnsafePointer<Int64>?, Int32) throws -> R) rethrows -> R {
    let converted = values.map(Int64.init)
    return try converted.withUnsafeBufferPointer { try body($0.baseAddress, Int32($0.count)) }
}

// MARK: - Introspection

extension Tensor {
    /// The size of each dimension.
    public var shape: [Int] {
        let n = Int(ct_ndim(handle))
        guard n > 0 else { return [] }
        var sizes = [Int64](repeating: 0, count: n)
        _ = ct_shape(handle, &sizes, Int32(n))
        return sizes.map(Int.init)
    }

    /// The shape, for error messages (never fails).
    var shapeIfValid: [Int] { ct_ndim(handle) >= 0 ? shape : [] }

    public var rank: Int { Int(ct_ndim(handle)) }
    public var count: Int { shape.reduce(1, *) }
    public var dtype: DType { DType(rawValue: ct_dtype(handle)) ?? .float32 }
    public var device: Device { Device(code: ct_device(handle)) }
    public var isContiguous: Bool { ct_is_contiguous(handle) != 0 }

    /// The value of a one-element tensor.
    public func item() throws -> Double {
        var value = 0.0
        try Tensor.check("item", [self], ct_item(handle, &value))
        return value
    }

    /// The value of a one-element tensor as a `Float`.
    public func scalar() throws -> Float { Float(try item()) }
}

extension Tensor: CustomStringConvertible {
    public var description: String { "Tensor(shape: \(shape), dtype: \(dtype), device: \(device))" }
}
