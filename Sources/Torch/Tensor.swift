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
public enum Device: Equatable, Sendable, CustomStringConvertible {
    case cpu
    case cuda(Int)

    var code: Int32 {
        switch self {
        case .cpu: -1
        case .cuda(let index): Int32(index)
        }
    }

    init(code: Int32) { self = code < 0 ? .cpu : .cuda(Int(code)) }

    public var description: String {
        switch self {
        case .cpu: "cpu"
        case .cuda(let index): "cuda:\(index)"
        }
    }

    /// CUDA devices libtorch can use (0 on a CPU-only build).
    public static var cudaDeviceCount: Int { Int(ct_cuda_device_count()) }
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
