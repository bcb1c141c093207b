import ArgumentParser
import ScalingLaws

/// The top-level commands that need libtorch, as both binaries list them. `nanolm` (this module, no libtorch:
/// fit, predict, cost, params, --help, --version) runs `nanolm-torch` beside it for these, so a law fit starts in
/// milliseconds instead of loading libtorch's 300 shared objects (docs/BENCHMARKS.md, Startup).
public enum TorchCommand: String, CaseIterable {
    case study
    case train
    case data
    case tokenizer
    case coordCheck = "coord-check"
    case eval
    case export
    case golden
    case demo

    /// The one-line summary `--help` prints.
    public var abstract: String {
        switch self {
        case .study: "Run a μScaling study: grid search at the base width, μTransfer, proxies, fit, prediction, comparison, cost."
        case .train: "Train one model (GPT, Llama, BERT or T5; SP or μP) and record its losses."
        case .data: "Build token shards from a data track and inspect them."
        case .tokenizer: "Train and apply a byte-level BPE tokenizer (GPT-2's)."
        case .coordCheck: "Check that μP is implemented right: module outputs must not change size with width."
        case .eval: "Score trained runs on multiple-choice tasks, measure their validation loss; run an over-training study (Gadre et al.)."
        case .export: "Export a trained run for Hugging Face transformers (from_pretrained), μP folded into the weights."
        case .golden: "Check a model against a PyTorch golden fixture (logits, loss, every gradient) on a device."
        case .demo: "Train a tiny MLP on a toy curve and print the loss falling (checks libtorch works here)."
        }
    }
}

/// The root command's configuration, the same in both binaries but for the subcommands each one parses.
public func nanolmConfiguration(subcommands: [ParsableCommand.Type]) -> CommandConfiguration {
    CommandConfiguration(
        commandName: "nanolm",
        abstract: "Predict a large language model's loss from narrow μP proxies (μScaling, nanoLM).",
        discussion: """
            Typical flow: search hyperparameters once at a small base width, μTransfer them to a few \
            narrow proxies, train the proxies, fit L = a·C^b + c to their losses against parameter \
            count C, and extrapolate to the target width.
            """,
        version: NanoLMInfo.version,
        subcommands: subcommands)
}
