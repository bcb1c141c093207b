import XCTest
@testable import NanoLM

/// One owner per study and per run: a second `study run` on a study refuses, naming the first; a killed
/// `study run --jobs 2` leaves no training child behind; metrics.jsonl never has two writers.
final class StudyOwnershipTests: ScratchDirectoryTestCase {
    func testFileLockNamesItsHolder() throws {
        let url = root.appendingPathComponent("run.lock")
        var lock: FileLock? = try FileLock.acquire(url, what: "run x")
        XCTAssertEqual(FileLock.holder(url), getpid())
        XCTAssertThrowsError(try FileLock.acquire(url, what: "run x")) { error in
            XCTAssertTrue("\(error)".contains("run x is in use by process \(getpid())"), "\(error)")
        }
        _ = lock
        lock = nil
        XCTAssertNil(FileLock.holder(url))
        XCTAssertNoThrow(try FileLock.acquire(url, what: "run x"))
    }

    /// A study file whose runs take a few seconds each on synthetic tokens.
    func slowStudy() throws -> URL {
        let file = root.appendingPathComponent("study.yaml")
        try StudyTests.tinyYAML(learningRates: "[0.003, 0.01, 0.03]", steps: 400).write(to: file, atomically: true, encoding: .utf8)
        return file
    }

    func start(_ nanolm: URL, _ arguments: [String]) throws -> Process {
        let p = Process()
        p.executableURL = nanolm
        p.arguments = arguments
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        return p
    }

    /// Processes whose command line mentions `text` (this test's study directory).
    func processes(mentioning text: String) -> [Int32] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap(Int32.init).filter { pid in
            guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return false }
            return String(decoding: data, as: UTF8.self).contains(text)
        }
    }

    func waitUntil(_ seconds: Double, _ condition: () -> Bool) -> Bool {
        let end = Date().addingTimeInterval(seconds)
        while Date() < end { if condition() { return true }; Thread.sleep(forTimeInterval: 0.1) }
        return condition()
    }

    func testSecondStudyRunRefusesAndMetricsStayWhole() throws {
        let nanolm = try builtNanolm()
        let file = try slowStudy()
        let dir = root.appendingPathComponent("s")
        let first = try start(nanolm, ["study", "run", file.path, "--dir", dir.path])
        defer { if first.isRunning { first.interrupt(); first.waitUntilExit() } }
        let lock = dir.appendingPathComponent("study.lock")
        XCTAssertTrue(waitUntil(60) { FileLock.holder(lock) == first.processIdentifier }, "the first study run never took its lock")
        let (status, err) = try RunDirectoryTests.run(nanolm, ["study", "run", file.path, "--dir", dir.path])
        XCTAssertEqual(status, 1, err)
        XCTAssertTrue(err.contains("in use by process \(first.processIdentifier)"), err)
        first.interrupt()
        first.waitUntilExit()
        // Every metrics line is whole JSON, and each run's steps count up without repeats.
        let runs = try FileManager.default.subpathsOfDirectory(atPath: dir.path).filter { $0.hasSuffix("metrics.jsonl") }
        XCTAssertFalse(runs.isEmpty)
        for path in runs {
            var last = 0
            for line in try String(contentsOfFile: dir.appendingPathComponent(path).path, encoding: .utf8).split(separator: "\n") {
                let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], "\(path): \(line)")
                guard object["loss"] != nil, let step = object["step"] as? Int else { continue }
                XCTAssertEqual(step, last + 1, "\(path)")
                last = step
            }
        }
    }

    func testKilledStudyLeavesNoChildTraining() throws {
        let nanolm = try builtNanolm()
        let file = try slowStudy()
        let dir = root.appendingPathComponent("k")
        let study = try start(nanolm, ["study", "run", file.path, "--dir", dir.path, "--jobs", "2"])
        let children = { self.processes(mentioning: dir.path).filter { $0 != study.processIdentifier } }
        XCTAssertTrue(waitUntil(120) { children().count == 2 }, "two training children never started: \(children())")
        kill(study.processIdentifier, SIGKILL)
        study.waitUntilExit()
        XCTAssertTrue(waitUntil(60) { children().isEmpty }, "children outlived the killed study: \(children())")
        // What they left resumes: their checkpoints are whole and the run locks are free.
        let locks = try FileManager.default.subpathsOfDirectory(atPath: dir.path).filter { $0.hasSuffix("run.lock") }
        XCTAssertFalse(locks.isEmpty)
        for l in locks { XCTAssertNil(FileLock.holder(dir.appendingPathComponent(l)), l) }
    }
}
