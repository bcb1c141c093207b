import XCTest
@testable import NanoLM

/// `study run --jobs N|auto`: runs side by side train bit for bit as `--jobs 1` trains them, because each
/// run's libtorch threads come from its model, not from --jobs (RunThreads).
final class StudyJobsTests: ScratchDirectoryTestCase {
    /// A study whose logits (batch 8 × sequence 64 × vocabulary 512) and largest tensors are big enough that
    /// libtorch splits their reductions by thread: a run on 2 threads does not equal the same run on 1.
    static let yaml = """
        name: jobs
        data: synthetic
        vocabularySize: 512
        baseWidth: 32
        designs:
          - {name: gpt, architecture: gpt, layers: 1, headDim: 16}
        grid:
          learningRates: [0.003, 0.03]
        proxyWidths: [32, 48, 64, 96]
        targetWidth: 128
        budget: {steps: 5, batchSize: 8, sequenceLength: 64, warmupSteps: 1, lossWindow: 2, checkpointEvery: 5}
        seed: 3
        options: {trainTarget: true}
        """

    /// A safetensors file's tensors: its header without `__metadata__` (which holds the run's elapsed time)
    /// and its data bytes.
    static func tensors(_ url: URL) throws -> (header: NSDictionary, data: Data)? {
        guard let file = FileManager.default.contents(atPath: url.path), file.count >= 8 else { return nil }
        let length = file.prefix(8).enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        guard 8 + length <= file.count else { return nil }
        var header = try XCTUnwrap(JSONSerialization.jsonObject(with: file.subdata(in: 8 ..< 8 + length)) as? [String: Any])
        header["__metadata__"] = nil
        return (header as NSDictionary, file.subdata(in: 8 + length ..< file.count))
    }

    /// Every run directory's checkpoint tensors and final loss, by its path under runs/.
    func outcomes(_ dir: URL) throws -> [String: (checkpoint: (header: NSDictionary, data: Data)?, loss: Double?)] {
        let runs = dir.appendingPathComponent("runs")
        var result: [String: ((header: NSDictionary, data: Data)?, Double?)] = [:]
        for path in try FileManager.default.subpathsOfDirectory(atPath: runs.path) where path.hasSuffix("summary.json") {
            let run = runs.appendingPathComponent(path).deletingLastPathComponent()
            let summary = try JSONDecoder().decode(RunSummary.self, from: Data(contentsOf: run.appendingPathComponent("summary.json")))
            result[(path as NSString).deletingLastPathComponent] = (try Self.tensors(run.appendingPathComponent("checkpoint.safetensors")), summary.finalLoss)
        }
        return result
    }

    func testRunsSideBySideEqualSerialRunsBitForBit() throws {
        let nanolm = try builtNanolm()
        let file = root.appendingPathComponent("study.yaml")
        try Self.yaml.write(to: file, atomically: true, encoding: .utf8)
        var results: [[String: (checkpoint: (header: NSDictionary, data: Data)?, loss: Double?)]] = []
        for jobs in ["1", "auto"] {
            let dir = root.appendingPathComponent("jobs-\(jobs)")
            let (status, err) = try RunDirectoryTests.run(nanolm, ["study", "run", file.path, "--dir", dir.path, "--jobs", jobs, "--device", "cpu"])
            guard status == 0 else { return XCTFail("--jobs \(jobs) exited \(status): \(err)") }
            results.append(try outcomes(dir))
        }
        let serial = results[0]
        XCTAssertEqual(serial.count, 6, "2 grid points, proxies 48, 64 and 96 (32 is a grid point), the target: \(serial.keys.sorted())")
        for (jobs, other) in zip(["auto"], results.dropFirst()) {
            XCTAssertEqual(Set(other.keys), Set(serial.keys), "--jobs \(jobs)")
            for (run, s) in serial {
                XCTAssertNotNil(s.checkpoint, run)
                XCTAssertEqual(other[run]?.loss, s.loss, "--jobs \(jobs): \(run)'s final loss")
                XCTAssertEqual(other[run]?.checkpoint?.header, s.checkpoint?.header, "--jobs \(jobs): \(run)")
                XCTAssertTrue(other[run]?.checkpoint?.data == s.checkpoint?.data, "--jobs \(jobs): \(run)'s tensors differ from --jobs 1's")
            }
        }
    }

    func testThreadsComeFromTheModelAlone() throws {
        let threads = RunThreads(cores: 8)
        var small = TrainingConfig(model: ModelConfig(architecture: .gpt, layers: 2, width: 64, vocabularySize: 384, sequenceLength: 128), steps: 10, batchSize: 16)
        // 6·N per token with N ≈ 2·12·64² + 2·384·64 ≈ 0.15M parameters, × 2048 tokens per step: ~2e9 FLOPs, under 1e11.
        XCTAssertEqual(threads.threads(for: small), 1)
        // Width 512 of the same shape: N = 2·12·512² + 2·384·512 = 6.68M, (6·N + 12·2·512·128 for attention) × 2048
        // = 8.5e10 FLOPs per step, still one thread (docs/BENCHMARKS.md: side by side beats every core up to 512).
        let wide = TrainingConfig(model: ModelConfig(architecture: .gpt, layers: 2, width: 512, vocabularySize: 384, sequenceLength: 128), steps: 10, batchSize: 16)
        XCTAssertEqual(threads.threads(for: wide), 1)
        // 4 layers, vocabulary 8192, sequence 256: N ≈ 4·12·512² + 2·8192·512 = 21M, × 6 × 4096 tokens: 5e11, every core.
        let large = TrainingConfig(model: ModelConfig(architecture: .gpt, layers: 4, width: 512, vocabularySize: 8192, sequenceLength: 256), steps: 10, batchSize: 16)
        XCTAssertEqual(threads.threads(for: large), 8)
        small.threads = 3
        XCTAssertEqual(threads.threads(for: small), 3, "a config's own threads win")
    }

    func testNextRunIsTheFirstThatFits() {
        XCTAssertEqual(RunThreads.next([2, 1, 1], free: 1, idle: false), 1)
        XCTAssertNil(RunThreads.next([2], free: 1, idle: false), "waits for cores rather than oversubscribe")
        XCTAssertEqual(RunThreads.next([4], free: 2, idle: true), 0, "a run wider than the machine still trains, alone")
        XCTAssertNil(RunThreads.next([], free: 2, idle: true))
    }

    func testJobCountParses() {
        XCTAssertEqual(JobCount("auto"), .auto)
        XCTAssertEqual(JobCount("AUTO"), .auto)
        XCTAssertEqual(JobCount("3"), .fixed(3))
        XCTAssertNil(JobCount("0"))
        XCTAssertNil(JobCount("-2"))
        XCTAssertNil(JobCount("two"))
    }
}
