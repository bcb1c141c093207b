import ArgumentParser
import LawCommands
import NanoLM

/// `nanolm params --audit`: `nanolm params`'s counts (LawCommands) plus every tensor of the built model with its
/// μP role and multipliers. `nanolm` runs this binary only for a command line with `--audit`; here every
/// `params` command line runs (its counts are the same).
struct ParamsAuditCommand: ParsableCommand {
    static let configuration = ParamsCommand.configuration

    @OptionGroup var options: ParamsOptions

    func run() throws {
        let config = try options.makeConfig()
        guard options.audit else { return print(try options.report(config, audit: nil)) }
        let counts = try config.parameterCounts()
        guard counts.total <= 2_000_000_000 else {
            throw ValidationError("--audit builds the model, and \(counts.total) parameters need \(counts.total * 4 / 1_000_000_000) GB; audit a narrower width (the multipliers follow the same rules at every width)")
        }
        let model = try makeModel(config, seed: 0)
        guard model.parameterCount == counts.total else {
            throw CLIError("internal: the built model has \(model.parameterCount) parameters, the analytic count \(counts.total)")
        }
        print(try options.report(config, audit: config.audit(model)))
    }
}
