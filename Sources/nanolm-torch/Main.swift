import ArgumentParser
import Foundation
import LawCommands
import Torch

/// `nanolm-torch`: every command of nanolm, the ones that need libtorch among them. `nanolm` runs it for those
/// (the usage it prints still says `nanolm`).
@main
struct Main: ParsableCommand {
    static let configuration = nanolmConfiguration(subcommands: [
        StudyCommand.self, TrainCommand.self, DataCommand.self, TokenizerCommand.self, ParamsAuditCommand.self,
        CoordCheckCommand.self, FitCommand.self, PredictCommand.self, CostCommand.self, EvalCommand.self,
        ExportCommand.self, GoldenCommand.self, DemoCommand.self])

    static func main() {
        chooseGEMM()
        main(nil)
    }
}

/// Which library answers libtorch's fp32 GEMMs on the CPU: `NANOLM_GEMM` in the environment, so that a
/// study's `nanolm train` processes inherit it (docs/DESIGN.md, "GEMMs through oneDNN"). Unset, oneDNN
/// wherever it can work (the shim turns it on when it loads), OpenBLAS elsewhere.
enum GEMMLibrary: String {
    /// OpenBLAS, as libtorch calls it.
    case openblas
    /// oneDNN's sgemm: half OpenBLAS's time on the study's shapes here (the default under Debian's libtorch).
    case onednn
}

func chooseGEMM() {
    guard let value = ProcessInfo.processInfo.environment["NANOLM_GEMM"], !value.isEmpty else { return }
    guard let library = GEMMLibrary(rawValue: value) else {
        FileHandle.standardError.write(Data("error: NANOLM_GEMM=\(value): expected onednn or openblas (or unset it)\n".utf8))
        exit(2)
    }
    guard Torch.useOneDNNGEMM(library == .onednn) else {
        FileHandle.standardError.write(Data(("error: NANOLM_GEMM=onednn: oneDNN's sgemm is not available with libtorch \(Torch.version) "
            + "(it needs Debian's libtorch, whose GEMMs go through OpenBLAS's sgemm_): unset NANOLM_GEMM\n").utf8))
        exit(2)
    }
}
