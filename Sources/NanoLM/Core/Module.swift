import Foundation
import ModelSpec
import Torch

/// A trainable tensor with its state-dict name and μP role.
public final class Parameter {
    /// The PyTorch / Hugging Face state-dict key, e.g. `transformer.h.0.attn.c_attn.weight`.
    public let name: String
    public let role: ParameterRole
    /// The values (float32, requires grad), on the device of the last ``move(to:)`` (the CPU at first); in a
    /// ``StackedDecoder``, R runs' values stacked along a leading dimension [R, ...].
    public internal(set) var value: Tensor
    /// How it was initialised, and the factor on the base learning rate (set by ``Parametrization``).
    public internal(set) var initialization: Initialization = .zeros
    public internal(set) var learningRateMultiplier = 1.0
    /// Rows of this weight that project to queries (zeroed under μP's `zeroQuery`), if any.
    public var queryRows: Range<Int>?
    /// Whether AdamW's weight decay applies (matrices and embeddings yes, vectors no, as in nanoGPT).
    public var decays: Bool { role != .vector }

    public init(_ name: String, role: ParameterRole, shape: [Int]) throws {
        self.name = name
        self.role = role
        value = try Tensor.zeros(shape).requiringGrad()
    }

    public var shape: [Int] { value.shape }

    /// Puts the values on `device` (a new leaf tensor there; any gradient is dropped). An optimizer made
    /// before the move still holds the old tensors: move first.
    public func move(to device: Device) throws {
        guard value.device != device else { return }
        value = try withNoGrad { try value.to(device: device) }.requiringGrad()
    }
}

/// Anything that owns parameters, directly or through children.
public protocol Module: AnyObject {
    /// Every parameter, in a fixed order (the order of the state dict).
    var parameters: [Parameter] { get }
}

extension Module {
    /// Parameters by state-dict name.
    public var namedParameters: [String: Parameter] {
        Dictionary(uniqueKeysWithValues: parameters.map { ($0.name, $0) })
    }

    /// Moves every parameter to `device` (models are built and initialised on the CPU, from the CPU
    /// generator, so a seed gives the same weights on every device; see docs/DESIGN.md, "Devices").
    public func move(to device: Device) throws {
        for p in parameters { try p.move(to: device) }
    }

    /// Where the parameters live (the CPU for a model without any).
    public var device: Device { parameters.first?.value.device ?? .cpu }

    /// Total number of parameter elements.
    public var parameterCount: Int { parameters.reduce(0) { $0 + $1.value.count } }

    /// The state dict: name → tensor (detached views of the live values).
    public func stateDict() throws -> [String: Tensor] {
        try Dictionary(uniqueKeysWithValues: parameters.map { ($0.name, try $0.value.detach()) })
    }

    /// Saves every parameter as safetensors, keyed by its state-dict name.
    public func save(to url: URL, metadata: [String: String] = [:]) throws {
        try SafeTensors.save(stateDict(), metadata: metadata, to: url)
    }

    /// Copies tensors into the parameters of the same names. Every parameter must be present with
    /// its shape; names that no parameter has are an error too (a file for another model).
    public func load(_ tensors: [String: Tensor], from source: String = "state dict") throws {
        let own = namedParameters
        let missing = own.keys.filter { tensors[$0] == nil }.sorted()
        let unexpected = tensors.keys.filter { own[$0] == nil }.sorted()
        guard missing.isEmpty, unexpected.isEmpty else {
            throw ModelError.stateDictMismatch(source: source, missing: missing, unexpected: unexpected)
        }
        try withNoGrad {
            for (name, p) in own {
                let t = tensors[name]!
                guard t.shape == p.shape else {
                    throw ModelError.shapeMismatch(source: source, name: name, expected: p.shape, found: t.shape)
                }
                try p.value.copy_(t)
            }
        }
    }

    /// Loads parameters from a safetensors file written by ``save(to:metadata:)`` or by PyTorch.
    public func load(from url: URL) throws {
        try load(SafeTensors.load(url).tensors, from: url.path)
    }
}
