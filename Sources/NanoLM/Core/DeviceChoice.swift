import Torch

/// Where to run, as a user writes it (`--device`, a study file's `device`, a config's `"device"`):
/// `cpu`, `cuda` (the first GPU, or one per job or rank), `cuda:N`, or `auto` (a GPU when libtorch has
/// one, else the CPU). Resolving it gives the ``Device`` tensors live on.
public enum DeviceChoice: Hashable, Sendable, LosslessStringConvertible, Codable {
    case auto
    case cpu
    /// A GPU: `index` fixes it; nil takes the job's or rank's slot modulo the GPUs there are.
    case cuda(index: Int?)

    public init?(_ description: String) {
        let text = description.lowercased()
        switch text {
        case "auto": self = .auto
        case "cpu": self = .cpu
        case "cuda", "gpu": self = .cuda(index: nil)
        default:
            guard text.hasPrefix("cuda:"), let index = Int(text.dropFirst(5)), index >= 0 else { return nil }
            self = .cuda(index: index)
        }
    }

    public var description: String {
        switch self {
        case .auto: "auto"
        case .cpu: "cpu"
        case .cuda(nil): "cuda"
        case .cuda(let index?): "cuda:\(index)"
        }
    }

    /// The accepted spellings, for error messages and `--help`.
    public static let spellings = "cpu, cuda, cuda:N or auto"

    /// The device to use. `slot` (a job or rank number) spreads `cuda` and `auto` over the GPUs there
    /// are; a missing GPU is an error that says what to do.
    public func resolve(slot: Int = 0, cudaDevices: Int = Device.cudaDeviceCount) throws -> Device {
        switch self {
        case .cpu: return .cpu
        case .auto: return cudaDevices > 0 ? .cuda(slot % cudaDevices) : .cpu
        case .cuda(let index):
            guard cudaDevices > 0 else {
                throw DeviceError("--device \(self): this libtorch (\(Torch.version)) sees no CUDA device. Run with --device cpu (or auto), or build against a CUDA libtorch on a machine with a GPU (README, \"Running on a GPU\").")
            }
            let chosen = index ?? slot % cudaDevices
            guard chosen < cudaDevices else {
                throw DeviceError("--device \(self): there \(cudaDevices == 1 ? "is 1 CUDA device" : "are \(cudaDevices) CUDA devices") (cuda:0…cuda:\(cudaDevices - 1)). Pick one of those.")
            }
            return .cuda(chosen)
        }
    }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let choice = DeviceChoice(text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath,
                                                    debugDescription: "device \"\(text)\" is not one of \(Self.spellings)"))
        }
        self = choice
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

/// A device that was asked for and is not there.
public struct DeviceError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
