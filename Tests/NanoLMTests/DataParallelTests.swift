import Foundation
import XCTest
import Torch
@testable import NanoLM

/// Two-process data parallelism over Gloo on loopback against one process with the same global batch.
/// The test binary relaunches itself as the ranks (NANOLM_TEST_WORKER selects `testWorker`).
final class DataParallelTests: XCTestCase {
    static let steps = 12

    static func config() -> TrainingConfig {
        var model = ModelConfig(architecture: .gpt, layers: 1, width: 16, vocabularySize: 16, sequenceLength: 16, headDim: 8)
        model.hyper.learningRate = 0.05
        var c = TrainingConfig(model: model, steps: steps, batchSize: 8)
        c.warmupSteps = 2
        c.lossWindow = 4
        c.evalBatches = 1
        c.checkpointEvery = 2
        c.threads = 1
        return c
    }

    static func data() throws -> CausalLMBatches {
        try CausalLMBatches(training: TrainerTests.tokens(4000, seed: 1), validation: TrainerTests.tokens(1000, seed: 2),
                            batchSize: 8, sequenceLength: 16, seed: 3)
    }

    func temporaryDirectory() -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("nanolm-ddp-\(UUID().uuidString)")
        addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return url
    }

    func launch(world: Int, directory: URL, dieAt: Int? = nil, zero: Bool = false) throws -> [Process] {
        let port = 20000 + Int.random(in: 0 ..< 20000)
        return try (0 ..< world).map { rank in
            let p = Process()
            p.executableURL = URL(fileURLWithPath: CommandLine.arguments[0])
            p.arguments = ["NanoLMTests.DataParallelTests/testWorker"]
            var env = ProcessInfo.processInfo.environment
            env.merge(["NANOLM_TEST_WORKER": directory.path, "RANK": "\(rank)", "WORLD_SIZE": "\(world)",
                       "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": "\(port)"]) { $1 }
            if let dieAt, rank == 1 { env["NANOLM_TEST_DIE_AT"] = "\(dieAt)" }
            if zero { env["NANOLM_TEST_ZERO"] = "1" }
            p.environment = env
            p.standardOutput = FileHandle.nullDevice
            try p.run()
            return p
        }
    }

    /// Per-step training losses from a run's metrics.jsonl.
    static func losses(_ directory: URL) throws -> [Double] {
        try String(contentsOf: directory.appendingPathComponent("metrics.jsonl"), encoding: .utf8).split(separator: "\n")
            .compactMap { (try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])?["loss"] as? Double }
    }

    func testTwoRanksFollowTheSingleProcessLossCurve() throws {
        guard CommandLine.arguments[0].hasSuffix(".xctest") else { throw XCTSkip("needs the xctest binary to relaunch") }
        let single = temporaryDirectory()
        try Trainer(config: Self.config(), model: Bigram(vocabulary: 16, width: 16, seed: 0), data: Self.data(), directory: single).run()
        let parallel = temporaryDirectory()
        let ranks = try launch(world: 2, directory: parallel)
        for p in ranks { p.waitUntilExit() }
        XCTAssertEqual(ranks.map(\.terminationStatus), [0, 0])
        let a = try Self.losses(single), b = try Self.losses(parallel)
        XCTAssertEqual(a.count, Self.steps)
        XCTAssertEqual(b.count, Self.steps)
        for (x, y) in zip(a, b) { XCTAssertEqual(x, y, accuracy: 1e-5 * abs(x)) }
    }

    /// ZeRO-1: each rank keeps the moments of its own parameters only; the curve and the gathered
    /// checkpoint's moments equal the single process's.
    func testShardedOptimizerStateFollowsTheSameCurve() throws {
        guard CommandLine.arguments[0].hasSuffix(".xctest") else { throw XCTSkip("needs the xctest binary to relaunch") }
        let single = temporaryDirectory()
        try Trainer(config: Self.config(), model: Bigram(vocabulary: 16, width: 16, seed: 0), data: Self.data(), directory: single).run()
        let sharded = temporaryDirectory()
        let ranks = try launch(world: 2, directory: sharded, zero: true)
        for p in ranks { p.waitUntilExit() }
        XCTAssertEqual(ranks.map(\.terminationStatus), [0, 0])
        for (x, y) in zip(try Self.losses(single), try Self.losses(sharded)) { XCTAssertEqual(x, y, accuracy: 1e-5 * abs(x)) }
        let a = try SafeTensors.load(single.appendingPathComponent("checkpoint.safetensors")).tensors
        let b = try SafeTensors.load(sharded.appendingPathComponent("checkpoint.safetensors")).tensors
        XCTAssertEqual(Set(a.keys), Set(b.keys))
        for key in a.keys where key.hasPrefix("optimizer.exp_avg") {
            let diff = try (a[key]! - b[key]!).abs().max().item()
            XCTAssertLessThan(diff, 1e-5, key)
        }
    }

    /// Rank 1 dies after 5 steps: rank 0 fails within its collective timeout instead of hanging, and the
    /// run resumes from the last checkpoint in a single process.
    func testADeadRankFailsTheRunAndItResumes() throws {
        guard CommandLine.arguments[0].hasSuffix(".xctest") else { throw XCTSkip("needs the xctest binary to relaunch") }
        let dir = temporaryDirectory()
        let started = Date()
        let ranks = try launch(world: 2, directory: dir, dieAt: 5)
        for p in ranks { p.waitUntilExit() }
        XCTAssertNotEqual(ranks[0].terminationStatus, 0, "rank 0 should fail when rank 1 dies")
        XCTAssertLessThan(Date().timeIntervalSince(started), 120)
        let resumed = try Trainer(config: Self.config(), model: Bigram(vocabulary: 16, width: 16, seed: 7), data: Self.data(),
                                  directory: dir).run()
        XCTAssertEqual(resumed.status, .completed)
        XCTAssertEqual(try Self.losses(dir).count, Self.steps)
    }

    func testRankSliceSplitsRows() throws {
        let data = try Self.data()
        let full = try data.trainingBatch(step: 4, micro: 0).inputs.toArray(Int64.self)
        let halves = try (0 ..< 2).map { try RankSlice(data, rank: $0, worldSize: 2).trainingBatch(step: 4, micro: 0).inputs }
        XCTAssertEqual(halves[0].shape, [4, 16])
        XCTAssertEqual(try halves[0].toArray(Int64.self) + halves[1].toArray(Int64.self), full)
        XCTAssertThrowsError(try RankSlice(data, rank: 0, worldSize: 3).trainingBatch(step: 0, micro: 0))
    }

    /// One rank of the tests above (only in a relaunched process).
    func testWorker() throws {
        guard let path = ProcessInfo.processInfo.environment["NANOLM_TEST_WORKER"] else { throw XCTSkip("worker process only") }
        let env = try XCTUnwrap(try DistributedEnvironment.current())
        let group = try ProcessGroup(masterAddress: env.masterAddress, port: env.masterPort, rank: env.rank,
                                     worldSize: env.worldSize, timeout: 5)
        let dieAt = ProcessInfo.processInfo.environment["NANOLM_TEST_DIE_AT"].flatMap(Int.init)
        let trainer = try Trainer(config: Self.config(), model: Bigram(vocabulary: 16, width: 16, seed: 0),
                                  data: RankSlice(Self.data(), rank: env.rank, worldSize: env.worldSize),
                                  directory: URL(fileURLWithPath: path))
        let zero = ProcessInfo.processInfo.environment["NANOLM_TEST_ZERO"] != nil
        let parallel = DataParallel(group: group, shardOptimizerState: zero)
        trainer.dataParallel = parallel
        if zero {  // the two parameters (embedding, head) are split between the two ranks
            let owned = parallel.optimizerParameters(trainer.model.parameters)
            guard owned.count == 1 else { FileHandle.standardError.write(Data("rank \(env.rank) owns \(owned.count)\n".utf8)); exit(4) }
        }
        do {
            try trainer.run { progress in if progress.step == dieAt { exit(0) } }
        } catch {
            FileHandle.standardError.write(Data("rank \(env.rank): \(error)\n".utf8))
            exit(3)
        }
    }
}
