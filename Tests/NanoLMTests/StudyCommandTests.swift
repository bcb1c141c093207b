import XCTest
@testable import NanoLM

/// `nanolm study run` as a user runs it: exit statuses of a dry run, a bad file named without usage text.
final class StudyCommandTests: ScratchDirectoryTestCase {
    /// `--dry-run` of a study file with a bad field exits 1, names the file and the field, and prints no usage;
    /// a valid one prints the script and exits 0 without training anything.
    func testDryRunExitStatus() throws {
        let nanolm = try builtNanolm()
        let bad = root.appendingPathComponent("bad.yaml")
        try StudyTests.tinyYAML().replacingOccurrences(of: "targetWidth: 128", with: "targetWidth: 64").write(to: bad, atomically: true, encoding: .utf8)
        let (status, err) = try RunDirectoryTests.run(nanolm, ["study", "run", bad.path, "--executor", "slurm", "--dry-run",
                                                               "--dir", root.appendingPathComponent("s").path])
        XCTAssertEqual(status, 1, err)
        XCTAssertTrue(err.contains("bad.yaml") && err.contains("targetWidth"), err)
        XCTAssertFalse(err.contains("USAGE"), err)

        let good = root.appendingPathComponent("good.yaml")
        try StudyTests.tinyYAML().write(to: good, atomically: true, encoding: .utf8)
        let dir = root.appendingPathComponent("g")
        let (ok, okErr) = try RunDirectoryTests.run(nanolm, ["study", "run", good.path, "--executor", "slurm", "--dry-run", "--dir", dir.path])
        XCTAssertEqual(ok, 0, okErr)
        let script = try String(contentsOf: dir.appendingPathComponent("slurm/grid.sbatch"), encoding: .utf8)
        XCTAssertTrue(script.contains("#SBATCH --array=0-2"), script)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.appendingPathComponent("result.json").path))
    }

    /// A bad flag value is a usage error (ArgumentParser's exit status 64 with the usage text).
    func testBadExecutorIsAUsageError() throws {
        let nanolm = try builtNanolm()
        let file = root.appendingPathComponent("study.yaml")
        try StudyTests.tinyYAML().write(to: file, atomically: true, encoding: .utf8)
        let (status, err) = try RunDirectoryTests.run(nanolm, ["study", "run", file.path, "--executor", "cloud"])
        XCTAssertEqual(status, 64, err)
        XCTAssertTrue(err.contains("cloud") && (err.contains("Usage") || err.contains("USAGE")), err)
    }
}
