import Torch

/// One training or evaluation batch for any of the four objectives.
public struct Batch {
    /// Token ids [B, T] (the encoder's input for T5, with masks or sentinels already applied).
    public var inputs: Tensor
    /// Ids to predict [B, T'], ``ignoreIndex`` where no loss is taken (causal LM: inputs shifted by
    /// one; MLM: the original ids at masked positions; T5: the span targets).
    public var targets: Tensor
    /// T5's decoder input ids [B, T'] (targets shifted right); nil for decoder-only and encoder-only.
    public var decoderInputs: Tensor?

    public static let ignoreIndex = -100

    public init(inputs: Tensor, targets: Tensor, decoderInputs: Tensor? = nil) {
        self.inputs = inputs
        self.targets = targets
        self.decoderInputs = decoderInputs
    }

    /// The same batch on `device` (itself when already there): data sources make batches on the CPU,
    /// the trainer moves each to the model's device.
    public func moved(to device: Device) throws -> Batch {
        guard inputs.device != device else { return self }
        return Batch(inputs: try inputs.to(device: device), targets: try targets.to(device: device),
                     decoderInputs: try decoderInputs?.to(device: device))
    }
}
