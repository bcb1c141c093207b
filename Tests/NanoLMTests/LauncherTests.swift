import Foundation
import XCTest

/// The two binaries: `nanolm` runs fit, predict, cost, params, --help and --version without libtorch, and
/// `nanolm-torch` (beside it) for every other command, with the same arguments.
final class LauncherTests: ScratchDirectoryTestCase {
    /// The command names a help text lists: its lines of two spaces, a lowercase name, spaces, a summary.
    func commandNames(_ help: String) -> Set<String> {
        Set(help.split(separator: "\n").compactMap { line -> String? in
            guard line.hasPrefix("  "), !line.hasPrefix("   "), let name = line.dropFirst(2).split(separator: " ").first,
                  name.allSatisfy({ $0.isLowercase || $0 == "-" }), line.dropFirst(2 + name.count).hasPrefix("  ") else { return nil }
            return String(name)
        })
    }

    func testNanolmLoadsNoLibtorch() throws {
        let ldd = try runProcess(URL(fileURLWithPath: "/usr/bin/ldd"), [try builtNanolm().path])
        XCTAssertEqual(ldd.status, 0, ldd.err)
        XCTAssertTrue(ldd.out.contains("libc.so"), ldd.out)   // ldd did list the libraries
        XCTAssertFalse(ldd.out.contains("torch") || ldd.out.contains("libc10"), ldd.out)
        let torch = try runProcess(URL(fileURLWithPath: "/usr/bin/ldd"), [try builtNanolm().deletingLastPathComponent().appendingPathComponent("nanolm-torch").path])
        XCTAssertTrue(torch.out.contains("libtorch_cpu"), torch.out)
    }

    /// `nanolm --help` lists every command `nanolm-torch --help` lists, fit and train among them.
    func testHelpListsEveryCommand() throws {
        let nanolm = try builtNanolm()
        let light = try runProcess(nanolm, ["--help"]), full = try runProcess(nanolm.deletingLastPathComponent().appendingPathComponent("nanolm-torch"), ["--help"])
        XCTAssertEqual(light.status, 0, light.err)
        XCTAssertEqual(full.status, 0, full.err)
        XCTAssertTrue(commandNames(full.out).isSuperset(of: ["fit", "predict", "cost", "train", "study", "coord-check", "demo"]), full.out)
        XCTAssertEqual(commandNames(light.out), commandNames(full.out), light.out)
        XCTAssertEqual(try runProcess(nanolm, ["--version"]).out, "0.1.0\n")
    }

    /// A tensor command runs through nanolm-torch: `demo --steps 0 --json` names the libtorch it loaded.
    func testTensorCommandRunsBeside() throws {
        let demo = try runProcess(try builtNanolm(), ["demo", "--steps", "0", "--json"])
        XCTAssertEqual(demo.status, 0, demo.err)
        XCTAssertTrue(demo.out.contains("\"libtorch\""), demo.out)
    }

    /// How libgomp's idle threads wait in nanolm-torch (`OMP_WAIT_POLICY`, which the launcher sets before it runs
    /// it): asleep under `NANOLM_GEMM=openblas`, libgomp's own default under oneDNN's GEMMs (unset), and
    /// always what the user set. A stand-in nanolm-torch prints what it was given.
    func testWaitPolicyFollowsTheGEMM() throws {
        let launcher = root.appendingPathComponent("nanolm"), torch = root.appendingPathComponent("nanolm-torch")
        try FileManager.default.copyItem(at: try builtNanolm(), to: launcher)
        try "#!/bin/sh\necho \"${OMP_WAIT_POLICY:-unset}\"\n".write(to: torch, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: torch.path)
        func policy(_ environment: [String: String?]) throws -> String {
            let run = try runProcess(launcher, ["demo"], environment: environment)
            XCTAssertEqual(run.status, 0, run.err)
            return run.out.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        XCTAssertEqual(try policy(["NANOLM_GEMM": "openblas", "OMP_WAIT_POLICY": nil]), "PASSIVE")
        XCTAssertEqual(try policy(["NANOLM_GEMM": nil, "OMP_WAIT_POLICY": nil]), "unset")
        XCTAssertEqual(try policy(["NANOLM_GEMM": "onednn", "OMP_WAIT_POLICY": nil]), "unset")
        XCTAssertEqual(try policy(["NANOLM_GEMM": "openblas", "OMP_WAIT_POLICY": "ACTIVE"]), "ACTIVE")
    }

    /// Without nanolm-torch beside it, a tensor command is an error that says what to build; fit still works.
    func testMissingTorchBinaryIsAnError() throws {
        let alone = root.appendingPathComponent("nanolm")
        try FileManager.default.copyItem(at: try builtNanolm(), to: alone)
        let train = try runProcess(alone, ["train", "--help"])
        XCTAssertEqual(train.status, 1)
        XCTAssertTrue(train.err.contains("\(root.path)/nanolm-torch") && train.err.contains("swift build"), train.err)
        let cost = try runProcess(alone, ["cost", "--layers", "2", "--seq-len", "64", "--vocab", "512", "--batch", "16",
                                   "--base-width", "16", "--trials", "3", "--proxies", "24,32,48,64", "--target", "256", "--json"])
        XCTAssertEqual(cost.status, 0, cost.err)
        XCTAssertTrue(cost.out.contains("\"ratio\""), cost.out)
    }

    /// `params` counts without libtorch: nanolm alone (no nanolm-torch beside it) prints the paper's Table 3 size
    /// of its 32-layer GPT (26.185 B), and `--audit`, which builds the model, goes to nanolm-torch: alone, the
    /// error says what to build; beside it, the table of every tensor.
    func testParamsCountsWithoutTheTorchBinary() throws {
        let alone = root.appendingPathComponent("nanolm")
        try FileManager.default.copyItem(at: try builtNanolm(), to: alone)
        let count = try runProcess(alone, ["params", "--arch", "gpt", "--layers", "32", "--width", "8192", "--tied"])
        XCTAssertEqual(count.status, 0, count.err)
        XCTAssertTrue(count.out.contains("(26.185 B)"), count.out)
        let json = try runProcess(alone, ["params", "--arch", "gpt", "--layers", "32", "--width", "8192", "--tied", "--json"])
        XCTAssertTrue(json.out.contains("\"scaling\" : 26185"), json.out)
        let audit = try runProcess(alone, ["params", "--arch", "gpt", "--layers", "2", "--width", "64", "--audit"])
        XCTAssertEqual(audit.status, 1)
        XCTAssertTrue(audit.err.contains("nanolm-torch"), audit.err)
        let beside = try runProcess(try builtNanolm(), ["params", "--arch", "gpt", "--layers", "2", "--width", "64", "--audit"])
        XCTAssertEqual(beside.status, 0, beside.err)
        XCTAssertTrue(beside.out.contains("tensors, every one with a role"), beside.out)
    }
}
