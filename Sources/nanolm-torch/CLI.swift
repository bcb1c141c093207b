import ArgumentParser
import Foundation
import NanoLM
import ScalingLaws

// What every command shares lives in LawCommands (CommandSupport.swift): CLIError, log, encodeJSON,
// selfExecutable and the argument parsers; this file holds what only the tensor commands use.

/// A table cell: `s` padded to `width` characters, and at least one space after it.
func pad(_ s: String, _ width: Int) -> String { s.count >= width ? s + " " : s + String(repeating: " ", count: width - s.count) }

// MARK: Options as enums

/// `--executor`: where a study's runs train.
enum ExecutorOption: String, CaseIterable, ExpressibleByArgument {
    /// This machine: in this process, or `--jobs N` child processes.
    case local
    /// One Slurm job array per phase, via sbatch.
    case slurm
}

/// `--jobs`: N or auto.
extension JobCount: ExpressibleByArgument {}

extension Schedule.Decay: ExpressibleByArgument {}
extension AdamW.Rule: ExpressibleByArgument {}
extension TaskFormat: ExpressibleByArgument {}
extension ChoiceMetric: ExpressibleByArgument {}
extension PreTokenizer: ExpressibleByArgument {}
