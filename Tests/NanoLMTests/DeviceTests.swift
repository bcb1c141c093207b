import Foundation
import XCTest
import Torch
@testable import NanoLM

/// Devices without a GPU: every model trains on libtorch's `meta` device (shapes only) while
/// ``DeviceCheck`` refuses any tensor made elsewhere, checkpoints load onto another device, and a GPU
/// that is not there is a clear error.
final class DeviceTests: XCTestCase {
    /// A small μP model with dropout (so the dropout paths run too); the coordinate check's batch.
    func options(_ architecture: Architecture) -> CoordCheck.Options {
        var o = CoordCheck.Options(architecture: architecture, parametrization: .muP)
        o.batchSize = 2
        return o
    }

    func config(_ architecture: Architecture, tied: Bool = false) -> ModelConfig {
        var c = options(architecture).config(width: 32)
        c.dropout = 0.1
        c.tiedEmbeddings = tied
        return c
    }

    /// Forward (training and evaluation), backward and one AdamW step of every architecture, all on
    /// meta: a CPU tensor made anywhere in them (positions, masks, rotary or bucket tables, optimizer
    /// moments) throws.
    func testEveryModelTrainsOnMetaMakingNoTensorElsewhere() throws {
        for architecture in Architecture.allCases {
            for tied in [false, true] {
                let model = try makeModel(config(architecture, tied: tied), seed: 1, device: .meta)
                XCTAssertTrue(model.parameters.allSatisfy { $0.value.device == .meta }, "\(architecture)")
                let batch = try CoordCheck.batch(options(architecture), seed: 0).moved(to: .meta)
                // The explicit attention: libtorch 2.11's fused kernel has no meta kernel for its where.self.
                try AttentionKernel.$current.withValue(.explicit) { try DeviceCheck.$required.withValue(.meta) {
                    let optimizer = try AdamW(model.parameters, options: AdamW.Options(weightDecay: 0.1))
                    let loss = try model.loss(batch, training: true)
                    XCTAssertEqual(loss.device, .meta, "\(architecture)")
                    try loss.backward()
                    for p in model.parameters {
                        XCTAssertEqual(try XCTUnwrap(p.value.grad, "\(architecture) \(p.name)").device, .meta, "\(architecture) \(p.name)")
                    }
                    try optimizer.update(learningRate: 1e-3)
                    XCTAssertTrue(optimizer.exponentialAverages.allSatisfy { $0.device == .meta }, "\(architecture)")
                    _ = try withNoGrad { try model.loss(batch, training: false) }
                } }
            }
        }
    }

    /// The check can fail: a CPU tensor made while meta is required throws, and so does feeding a CPU
    /// batch to a meta model's arithmetic.
    func testDeviceCheckRefusesATensorMadeOnTheCPU() throws {
        try DeviceCheck.$required.withValue(.meta) {
            XCTAssertThrowsError(try Tensor.arange(0, 4)) { XCTAssertTrue("\($0)".contains("where every tensor must be on meta"), "\($0)") }
            XCTAssertThrowsError(try Tensor([1, 2] as [Float]))
            XCTAssertThrowsError(try Tensor.zeros([2]))
            XCTAssertNoThrow(try Tensor.zeros([2], device: .meta))
        }
        let model = try makeModel(config(.gpt), seed: 1, device: .meta)
        let cpuBatch = try CoordCheck.batch(options(.gpt), seed: 0)
        XCTAssertThrowsError(try DeviceCheck.$required.withValue(.meta) { try model.loss(cpuBatch, training: true) })
    }

    /// A checkpoint written on the CPU loads into a model and optimizer on another device (meta here;
    /// CUDA on a GPU machine): tensors are saved from CPU copies and copied onto the parameters' device.
    func testCheckpointLoadsOntoAnotherDevice() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("nanolm-device-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        var training = TrainingConfig(model: config(.llama), steps: 3, batchSize: 2)
        training.model.dropout = 0
        training.device = .cpu
        let data = try openTrainingData("synthetic", config: training)
        let trainer = try Trainer(config: training, model: try makeModel(training.model, seed: 1), data: data, directory: directory)
        try trainer.run()
        XCTAssertEqual(trainer.device, .cpu)
        let run = RunDirectory(directory)
        let contents = try SafeTensors.load(run.checkpointURL)
        let checkpoint = try XCTUnwrap(try run.loadCheckpoint())
        let onMeta = try makeModel(training.model, seed: 2, device: .meta)
        let optimizer = try AdamW(onMeta.parameters)
        try onMeta.load(checkpoint.model, from: "checkpoint")
        try optimizer.load(checkpoint.optimizer, from: "checkpoint")
        XCTAssertTrue(onMeta.parameters.allSatisfy { $0.value.device == .meta })
        XCTAssertEqual(optimizer.step, 3)
        XCTAssertTrue(contents.tensors.values.allSatisfy { $0.device == .cpu })
    }

    /// `cpu | cuda | cuda:N | auto`, and what each resolves to with 0, 1 or 2 GPUs.
    func testDeviceChoiceParsesAndResolves() throws {
        XCTAssertEqual(DeviceChoice("cpu"), .cpu)
        XCTAssertEqual(DeviceChoice("CUDA"), .cuda(index: nil))
        XCTAssertEqual(DeviceChoice("cuda:1"), .cuda(index: 1))
        XCTAssertEqual(DeviceChoice("auto"), .auto)
        XCTAssertNil(DeviceChoice("tpu"))
        XCTAssertNil(DeviceChoice("cuda:-1"))
        XCTAssertNil(DeviceChoice("cuda:x"))
        XCTAssertEqual(try DeviceChoice.auto.resolve(cudaDevices: 0), .cpu)
        XCTAssertEqual(try DeviceChoice.auto.resolve(slot: 3, cudaDevices: 2), .cuda(1))
        XCTAssertEqual(try DeviceChoice.cuda(index: nil).resolve(slot: 2, cudaDevices: 2), .cuda(0))
        XCTAssertEqual(try DeviceChoice.cuda(index: 1).resolve(cudaDevices: 2), .cuda(1))
        XCTAssertThrowsError(try DeviceChoice.cuda(index: nil).resolve(cudaDevices: 0)) {
            XCTAssertTrue("\($0)".contains("sees no CUDA device"), "\($0)")
        }
        XCTAssertThrowsError(try DeviceChoice.cuda(index: 2).resolve(cudaDevices: 2)) {
            XCTAssertTrue("\($0)".contains("cuda:0…cuda:1"), "\($0)")
        }
        let json = try JSONEncoder().encode([DeviceChoice.cuda(index: 3)])
        XCTAssertEqual(String(decoding: json, as: UTF8.self), #"["cuda:3"]"#)
        XCTAssertEqual(try JSONDecoder().decode([DeviceChoice].self, from: json), [.cuda(index: 3)])
        XCTAssertThrowsError(try JSONDecoder().decode([DeviceChoice].self, from: Data(#"["gpu0"]"#.utf8)))
    }

    /// A run asked to train on a GPU this machine lacks fails before training, saying so.
    func testTrainingOnAMissingGPUIsAnError() throws {
        try XCTSkipIf(Device.cudaDeviceCount > 0, "this machine has a GPU")
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("nanolm-nogpu-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        var training = TrainingConfig(model: config(.gpt), steps: 1, batchSize: 2)
        training.device = .cuda(index: nil)
        let trainer = try Trainer(config: training, model: try makeModel(training.model, seed: 1),
                                  data: try openTrainingData("synthetic", config: training), directory: directory)
        XCTAssertThrowsError(try trainer.run()) { XCTAssertTrue("\($0)".contains("sees no CUDA device"), "\($0)") }
    }

    /// `--device cuda` on a machine without a GPU: train, coord-check and study run exit non-zero saying
    /// so (before any work); a device that is not a device is a usage error.
    func testDeviceFlagWithoutAGPUExitsNonZero() throws {
        try XCTSkipIf(Device.cudaDeviceCount > 0, "this machine has a GPU")
        let nanolm = try builtNanolm()
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("nanolm-flag-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        func run(_ arguments: [String]) throws -> (status: Int32, errors: String) {
            let p = Process()
            p.executableURL = nanolm
            p.arguments = arguments
            let errors = Pipe()
            p.standardError = errors
            p.standardOutput = FileHandle(forWritingAtPath: "/dev/null")
            try p.run()
            let text = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            p.waitUntilExit()
            return (p.terminationStatus, text)
        }
        let train = try run(["train", "--arch", "gpt", "--steps", "1", "--data", "synthetic", "--out", directory.path, "--device", "cuda"])
        XCTAssertNotEqual(train.status, 0)
        XCTAssertTrue(train.errors.contains("sees no CUDA device"), train.errors)
        XCTAssertFalse(FileManager.default.fileExists(atPath: directory.appendingPathComponent("checkpoint.safetensors").path))
        let check = try run(["coord-check", "--arch", "gpt", "--widths", "16,32", "--out", directory.path, "--device", "cuda:0"])
        XCTAssertNotEqual(check.status, 0)
        XCTAssertTrue(check.errors.contains("sees no CUDA device"), check.errors)
        let bad = try run(["train", "--arch", "gpt", "--data", "synthetic", "--out", directory.path, "--device", "tpu"])
        XCTAssertNotEqual(bad.status, 0)
        XCTAssertTrue(bad.errors.contains("--device"), bad.errors)
    }

    /// A config without a device (every config written before devices existed) decodes, encodes
    /// without the key (so a study's run ids do not change), and a device round-trips.
    func testTrainingConfigDeviceIsOptional() throws {
        var training = TrainingConfig(model: config(.gpt), steps: 1, batchSize: 2)
        XCTAssertFalse(String(decoding: try JSONEncoder().encode(training), as: UTF8.self).contains("device"))
        training.device = .cuda(index: 0)
        let decoded = try JSONDecoder().decode(TrainingConfig.self, from: JSONEncoder().encode(training))
        XCTAssertEqual(decoded.device, .cuda(index: 0))
    }
}
