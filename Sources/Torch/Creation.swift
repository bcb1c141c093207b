import CTorch

/// Swift element types that map one-to-one onto a libtorch dtype.
public protocol TensorElement {
    static var dtype: DType { get }
}
extension Float: TensorElement { public static var dtype: DType { .float32 } }
extension Double: TensorElement { public static var dtype: DType { .float64 } }
extension Int64: TensorElement { public static var dtype: DType { .int64 } }
extension Int32: TensorElement { public static var dtype: DType { .int32 } }
extension UInt8: TensorElement { public static var dtype: DType { .uint8 } }
extension Bool: TensorElement { public static var dtype: DType { .bool } }

/// A seeded random-number generator, independent of libtorch's global one.
public final class Generator: @unchecked Sendable {
    let handle: OpaquePointer

    public init(seed: UInt64) {
        guard let handle = ct_generator_new(seed) else {
            fatalError("ct_generator_new failed: \(ct_last_error().map { String(cString: $0) } ?? "?")")
        }
        self.handle = handle
    }
    deinit { ct_generator_free(handle) }

    /// The full generator state (a uint8 tensor), for checkpoints.
    public func state() throws -> Tensor { try Tensor.make("generator.state", []) { ct_generator_state(handle) } }

    /// Restores a state saved by ``state()``.
    public func setState(_ state: Tensor) throws {
        try Tensor.check("generator.setState", [state], ct_generator_set_state(handle, state.handle))
    }
}

extension Tensor {
    /// A tensor holding a copy of `values`, viewed as `shape` (default: one dimension), on `device`.
    public convenience init<T: TensorElement>(_ values: [T], shape: [Int]? = nil, device: Device = .cpu) throws {
        try DeviceCheck.allow("Tensor.init", on: device)
        let shape = shape ?? [values.count]
        guard shape.reduce(1, *) == values.count else {
            throw TorchError(op: "Tensor.init", shapes: [shape],
                             message: "\(values.count) values do not fill shape \(shape)")
        }
        let handle = values.withUnsafeBytes { bytes in
            withInt64s(shape) { dims, n in ct_from_data(bytes.baseAddress, dims, n, T.dtype.rawValue) }
        }
        guard let handle else { throw TorchError.last("Tensor.init", []) }
        if device == .cpu { self.init(owning: handle); return }
        defer { ct_free(handle) }
        guard let moved = ct_to(handle, T.dtype.rawValue, device.code) else { throw TorchError.last("Tensor.init", []) }
        self.init(owning: moved)
    }

    /// A one-element, zero-dimensional tensor.
    public convenience init(scalar: Double, dtype: DType = .float32, device: Device = .cpu) throws {
        try DeviceCheck.allow("Tensor.init(scalar:)", on: device)
        guard let handle = ct_full(nil, 0, scalar, dtype.rawValue, device.code) else {
            throw TorchError.last("Tensor.init(scalar:)", [])
        }
        self.init(owning: handle)
    }

    /// Copies the elements out, converted to `T` (row-major).
    public func toArray<T: TensorElement>(_ type: T.Type = T.self) throws -> [T] {
        let source = dtype == T.dtype ? self : try to(T.dtype)
        let n = source.count
        var out = [T](unsafeUninitializedCapacity: n) { _, initialized in initialized = n }
        try out.withUnsafeMutableBytes { bytes in
            try Tensor.check("toArray", [self], ct_copy_data(source.handle, bytes.baseAddress, bytes.count))
        }
        return out
    }

    /// Raw little-endian bytes of the elements (row-major), in this tensor's dtype.
    public func bytes() throws -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count * dtype.byteCount)
        try out.withUnsafeMutableBytes { bytes in
            try Tensor.check("bytes", [self], ct_copy_data(handle, bytes.baseAddress, bytes.count))
        }
        return out
    }

    /// A tensor of `dtype` and `shape` made from raw little-endian bytes.
    public static func fromBytes(_ bytes: UnsafeRawBufferPointer, dtype: DType, shape: [Int]) throws -> Tensor {
        let expected = shape.reduce(1, *) * dtype.byteCount
        guard bytes.count == expected else {
            throw TorchError(op: "fromBytes", shapes: [shape], message: "\(bytes.count) bytes given, \(expected) needed")
        }
        try DeviceCheck.allow("fromBytes", on: .cpu)
        return try withInt64s(shape) { dims, n in
            try make("fromBytes", []) { ct_from_data(bytes.baseAddress, dims, n, dtype.rawValue) }
        }
    }

    public static func empty(_ shape: [Int], dtype: DType = .float32, device: Device = .cpu) throws -> Tensor {
        try DeviceCheck.allow("empty", on: device)
        return try withInt64s(shape) { d, n in try make("empty", []) { ct_empty(d, n, dtype.rawValue, device.code) } }
    }

    public static func full(_ shape: [Int], value: Double, dtype: DType = .float32, device: Device = .cpu) throws -> Tensor {
        try DeviceCheck.allow("full", on: device)
        return try withInt64s(shape) { d, n in try make("full", []) { ct_full(d, n, value, dtype.rawValue, device.code) } }
    }

    public static func zeros(_ shape: [Int], dtype: DType = .float32, device: Device = .cpu) throws -> Tensor {
        try full(shape, value: 0, dtype: dtype, device: device)
    }

    public static func ones(_ shape: [Int], dtype: DType = .float32, device: Device = .cpu) throws -> Tensor {
        try full(shape, value: 1, dtype: dtype, device: device)
    }

    /// Values start, start + step, … below end.
    public static func arange(_ start: Double = 0, _ end: Double, step: Double = 1, dtype: DType = .int64,
                              device: Device = .cpu) throws -> Tensor {
        try DeviceCheck.allow("arange", on: device)
        return try make("arange", []) { ct_arange(start, end, step, dtype.rawValue, device.code) }
    }

    /// Standard normal samples.
    public static func randn(_ shape: [Int], dtype: DType = .float32, device: Device = .cpu,
                             generator: Generator? = nil) throws -> Tensor {
        try DeviceCheck.allow("randn", on: device)
        return try withInt64s(shape) { d, n in
            try make("randn", []) { ct_randn(d, n, dtype.rawValue, device.code, generator?.handle) }
        }
    }

    /// Uniform samples in [0, 1).
    public static func rand(_ shape: [Int], dtype: DType = .float32, device: Device = .cpu,
                            generator: Generator? = nil) throws -> Tensor {
        try DeviceCheck.allow("rand", on: device)
        return try withInt64s(shape) { d, n in
            try make("rand", []) { ct_rand(d, n, dtype.rawValue, device.code, generator?.handle) }
        }
    }

    /// Uniform integers in low..<high.
    public static func randint(_ low: Int, _ high: Int, _ shape: [Int], dtype: DType = .int64, device: Device = .cpu,
                               generator: Generator? = nil) throws -> Tensor {
        try DeviceCheck.allow("randint", on: device)
        return try withInt64s(shape) { d, n in
            try make("randint", []) {
                ct_randint(Int64(low), Int64(high), d, n, dtype.rawValue, device.code, generator?.handle)
            }
        }
    }

    /// Fills this tensor in place with normal samples (outside autograd) and returns it.
    @discardableResult
    public func normal_(mean: Double = 0, std: Double = 1, generator: Generator? = nil) throws -> Tensor {
        _ = try Tensor.make("normal_", [self]) { ct_normal_(handle, mean, std, generator?.handle) }
        return self
    }
}
