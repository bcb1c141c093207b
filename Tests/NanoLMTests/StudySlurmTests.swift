import XCTest
@testable import NanoLM

/// `nanolm study run --executor slurm` against a real one-node Slurm (scripts/slurm_local.sh, started by
/// scripts/test.sh when it runs as root). Skipped when SLURM_CONF is unset or the nanolm binary is missing.
final class StudySlurmTests: XCTestCase {
    func testSlurmExecutorMatchesLocalRun() throws {
        guard let conf = ProcessInfo.processInfo.environment["SLURM_CONF"], FileManager.default.fileExists(atPath: conf) else {
            throw XCTSkip("no Slurm: run scripts/slurm_local.sh start and export SLURM_CONF (scripts/test.sh does this as root)")
        }
        let package = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let nanolm = package.appendingPathComponent(".build/debug/nanolm")
        guard FileManager.default.isExecutableFile(atPath: nanolm.path) else { throw XCTSkip("\(nanolm.path) not built") }

        let root = FileManager.default.temporaryDirectory.appendingPathComponent("nanolm-slurm-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: root) }
        let file = root.appendingPathComponent("study.yaml")
        try StudyTests.tinyYAML().write(to: file, atomically: true, encoding: .utf8)

        // The same study in this process, for reference.
        let local = try StudyRunner(spec: try StudySpec.load(file), file: file.path, directory: root.appendingPathComponent("local"),
                                    log: { _ in }).run()

        let p = Process()
        p.executableURL = nanolm
        p.arguments = ["study", "run", file.path, "--executor", "slurm", "--dir", root.appendingPathComponent("slurm").path, "--json"]
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle(forWritingAtPath: "/dev/null")
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0)
        let slurm = try JSONDecoder().decode(StudyResult.self, from: data)
        XCTAssertEqual(slurm.runs.count, local.runs.count)
        XCTAssertEqual(slurm.runs.filter { $0.status == "done" }.count, local.runs.filter { $0.status == "done" }.count)
        XCTAssertEqual(slurm.outcomes[0].best, local.outcomes[0].best)
        XCTAssertNotNil(slurm.outcomes[0].targetLoss)
        // Each Slurm task trained with its own thread count; losses agree to float precision, not bitwise.
        XCTAssertEqual(slurm.outcomes[0].targetLoss!, local.outcomes[0].targetLoss!, accuracy: 1e-3)
        // The runs were Slurm jobs: their logs are in the study's slurm/ directory.
        let logs = try FileManager.default.contentsOfDirectory(atPath: root.appendingPathComponent("slurm/slurm").path)
        XCTAssertTrue(logs.contains("grid.sbatch") && logs.contains { $0.hasPrefix("target-") && $0.hasSuffix(".out") }, "\(logs)")
    }
}
