import XCTest
@testable import NanoLM

/// `nanolm study run --executor slurm` against a real one-node Slurm (scripts/slurm_local.sh, started by
/// scripts/test.sh when it runs as root). Skipped when SLURM_CONF is unset or the nanolm binary is missing.
final class StudySlurmTests: XCTestCase {
    /// The built nanolm binary, or a skip when there is no Slurm (SLURM_CONF) or no binary.
    func slurmAndNanolm() throws -> URL {
        guard let conf = ProcessInfo.processInfo.environment["SLURM_CONF"], FileManager.default.fileExists(atPath: conf) else {
            throw XCTSkip("no Slurm: run scripts/slurm_local.sh start and export SLURM_CONF (scripts/test.sh does this as root)")
        }
        return try builtNanolm()
    }

    func testSlurmExecutorMatchesLocalRun() throws {
        let nanolm = try slurmAndNanolm()

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
        XCTAssertEqual(slurm.runs.filter { $0.status == .done }.count, local.runs.filter { $0.status == .done }.count)
        XCTAssertEqual(slurm.outcomes[0].best, local.outcomes[0].best)
        XCTAssertNotNil(slurm.outcomes[0].targetLoss)
        // Each Slurm task trained with its own thread count; losses agree to float precision, not bitwise.
        XCTAssertEqual(slurm.outcomes[0].targetLoss!, local.outcomes[0].targetLoss!, accuracy: 1e-3)
        // The runs were Slurm jobs: their logs are in the study's slurm/ directory, one array for the grid and
        // one for the proxies with the target beside them (no array of its own: docs/DESIGN.md, Parallelism).
        let logs = try FileManager.default.contentsOfDirectory(atPath: root.appendingPathComponent("slurm/slurm").path)
        let proxyTasks = logs.filter { $0.hasPrefix("proxy-") && $0.hasSuffix(".out") }.count
        XCTAssertTrue(logs.contains("grid.sbatch") && logs.contains("proxy.sbatch") && !logs.contains("target.sbatch"), "\(logs)")
        XCTAssertEqual(proxyTasks, local.runs.filter { $0.phase == .proxy || $0.phase == .target }.count,
                       "a task for every proxy and the target (the proxy at the base width is the grid's run): \(logs)")
    }

    /// Data parallelism launched by Slurm: `srun -n 2 nanolm train …` finds its rank, world size and
    /// rendezvous (first node, port from the job id) from SLURM_* alone and follows the single-process
    /// loss curve of the same global batch.
    func testSrunLaunchedDataParallelEqualsOneProcess() throws {
        let nanolm = try slurmAndNanolm()
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("nanolm-srun-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        let train = ["train", "--data", "synthetic", "--arch", "gpt", "--layers", "1", "--width", "32", "--head-dim", "16",
                     "--seq-len", "32", "--vocab", "64", "--steps", "10", "--batch", "8", "--warmup", "2", "--threads", "1"]

        func run(_ executable: String, _ arguments: [String]) throws -> (status: Int32, stderr: String) {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: executable)
            p.arguments = arguments
            var env = ProcessInfo.processInfo.environment
            for key in ["RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"] { env[key] = nil }
            p.environment = env
            let errors = root.appendingPathComponent("stderr-\(UUID().uuidString)")
            _ = FileManager.default.createFile(atPath: errors.path, contents: nil)
            p.standardOutput = FileHandle.nullDevice
            p.standardError = try FileHandle(forWritingTo: errors)
            try p.run()
            p.waitUntilExit()
            return (p.terminationStatus, try String(contentsOf: errors, encoding: .utf8))
        }
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        let single = try run(nanolm.path, train + ["--out", root.appendingPathComponent("single").path])
        XCTAssertEqual(single.status, 0, single.stderr)
        let srun = try run("/usr/bin/srun", ["-n", "2", "-c", "1", "--time", "5", nanolm.path] + train
                           + ["--out", root.appendingPathComponent("srun").path])
        XCTAssertEqual(srun.status, 0, srun.stderr)
        XCTAssertTrue(srun.stderr.contains("rank 0 of 2") && srun.stderr.contains("rank 1 of 2"), srun.stderr)

        let a = try DataParallelTests.losses(root.appendingPathComponent("single"))
        let b = try DataParallelTests.losses(root.appendingPathComponent("srun"))
        XCTAssertEqual(a.count, 10)
        XCTAssertEqual(b.count, 10)
        for (x, y) in zip(a, b) { XCTAssertEqual(x, y, accuracy: 1e-5) }
    }
}
