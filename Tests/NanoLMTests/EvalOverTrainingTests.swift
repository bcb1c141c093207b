import Foundation
import XCTest
import ScalingLaws
@testable import NanoLM

/// The over-training study: which runs are fitted, predictions from known laws, and a mini-study end to end.
final class EvalOverTrainingTests: XCTestCase {
    func spec(data: String) -> OverTrainingSpec {
        OverTrainingSpec(name: "mini", data: data, architecture: .gpt, layers: 1, headDim: 8, tiedEmbeddings: true, baseWidth: 8,
                         hyper: MuHyperParameters(learningRate: 0.02), sequenceLength: 32, batchSize: 4, warmupFraction: 0.05,
                         widths: [8, 16, 24, 32], multipliers: [0.5, 1, 2], fitMaxWidth: 24, fitMaxMultiplier: nil, evalItems: 8, seed: 0)
    }

    func testTheFitUsesTheSmallestMultiplierAndTheSmallestWidth() {
        let runs = spec(data: "/nowhere").plannedRuns()
        XCTAssertEqual(runs.filter(\.inFit).map { "\($0.width)@\($0.multiplier)" }, ["8@0.5", "8@1.0", "8@2.0", "16@0.5", "24@0.5"])
        XCTAssertEqual(runs.count, 12)
        var wider = spec(data: "/nowhere")
        wider.fitMaxMultiplier = 1
        XCTAssertEqual(wider.plannedRuns().filter(\.inFit).map { "\($0.width)@\($0.multiplier)" },
                       ["8@0.5", "8@1.0", "8@2.0", "16@0.5", "16@1.0", "24@0.5", "24@1.0"])
    }

    func testAnExplicitRunListReplacesTheGrid() throws {
        var spec = spec(data: "/nowhere")
        spec.widths = nil; spec.multipliers = nil; spec.fitMaxWidth = nil
        spec.runs = [.init(width: 8, multiplier: 20, fit: true), .init(width: 16, multiplier: 20, fit: true),
                     .init(width: 24, multiplier: 20, fit: true), .init(width: 8, multiplier: 80, fit: true),
                     .init(width: 8, multiplier: 320, fit: true), .init(width: 8, multiplier: 640, fit: false),
                     .init(width: 32, multiplier: 20, fit: false)]
        XCTAssertEqual(spec.plannedRuns().map { "\($0.width)@\($0.multiplier)\($0.inFit ? "" : "*")" },
                       ["8@20.0", "16@20.0", "24@20.0", "8@80.0", "8@320.0", "8@640.0*", "32@20.0*"])
        func message(_ s: OverTrainingSpec) -> String {
            do { try s.validate(); return "" } catch { return "\(error)" }
        }
        XCTAssertTrue(message(spec).contains("index.json"), "a valid list gets as far as the data check: \(message(spec))")
        var both = spec
        both.widths = [8, 16]
        XCTAssertTrue(message(both).contains("not both"), message(both))
        var noneHeldOut = spec
        noneHeldOut.runs = spec.runs!.map { var r = $0; r.fit = true; return r }
        XCTAssertTrue(message(noneHeldOut).contains("nothing is held out"), message(noneHeldOut))
        var fewFit = spec
        fewFit.runs = Array(spec.runs!.suffix(3))
        XCTAssertTrue(message(fewFit).contains("only 1 runs are in the fit"), message(fewFit))
    }

    /// A misspelt key, at the top or inside a run, names the file and the field instead of being ignored;
    /// the table of allowed keys lists exactly the spec's fields.
    func testUnknownFieldsAreReported() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ot-keys-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let base = """
            name: mini
            data: data
            architecture: gpt
            layers: 1
            headDim: 8
            baseWidth: 8
            sequenceLength: 32
            batchSize: 4

            """
        func message(_ tail: String) throws -> String {
            let file = directory.appendingPathComponent("study.yaml")
            try (base + tail).write(to: file, atomically: true, encoding: .utf8)
            do { _ = try OverTrainingSpec.load(file); return "" } catch { return error.localizedDescription }
        }
        let top = try message("widths: [8, 16]\nmultiplers: [1, 2]\nfitMaxWidth: 8\n")
        XCTAssertTrue(top.contains("study.yaml") && top.contains("unknown field 'multiplers'"), top)
        let run = try message("runs:\n  - {width: 8, multiplier: 20, fit: true}\n  - {width: 8, multiplier: 40, fits: false}\n")
        XCTAssertTrue(run.contains("unknown field 'runs[1].fits'"), run)
        let hyper = try message("hyper: {learningRate: 0.01, initstd: 0.02, outputMultiplier: 1}\n")
        XCTAssertTrue(hyper.contains("unknown field 'hyper.initstd'"), hyper)
        let known = try message("widths: [8, 16, 24, 32]\nmultipliers: [1, 2, 4]\nfitMaxWidth: 24\n")
        XCTAssertTrue(known.contains("has no index.json"), "a file with known keys only gets as far as the data check: \(known)")
        let fields = Set(Mirror(reflecting: spec(data: "/nowhere")).children.compactMap(\.label))
        XCTAssertEqual(OverTrainingSpec.allowedKeys[""], fields)
    }

    /// Runs whose losses and errors follow known laws exactly: the fits recover them and the held-out
    /// predictions match the laws evaluated by hand.
    func testPredictionsFromExactLaws() throws {
        let study = OverTrainingStudy(spec: spec(data: "/nowhere"), directory: URL(fileURLWithPath: "/tmp"))
        let (E, a, b, eta) = (1.5, 40.0, 90.0, 0.2)
        let (eps, k, gamma) = (0.8, 2.0, 1.1)
        func loss(_ n: Double, _ d: Double) -> Double { let m = d / n; return E + (a * pow(m, eta) + b * pow(m, -eta)) * pow(6 * n * d, -eta) }
        // More fit points than the plan's five, so four coefficients are well determined: widths as N·1000.
        let runs = [(1, 0.5, true), (1, 1, true), (1, 2, true), (1, 4, true), (2, 0.5, true), (3, 0.5, true), (4, 0.5, true),
                    (2, 2, false), (4, 4, false), (8, 8, false)].map { w, m, fit -> OverTrainingRun in
            let n = 1000 * w, d = Int(m * Double(n))
            let l = loss(Double(n), Double(d))
            return OverTrainingRun(width: w, multiplier: m, inFit: fit, parameters: n, tokens: d, steps: 1, directory: "",
                                   loss: l, error: eps - k * exp(-gamma * l), errorStandardError: 0.01, status: .done)
        }
        let r = study.fitAndPredict(runs, chanceError: eps)
        let f = try XCTUnwrap(r.lossFit, r.lossFitError ?? "")
        XCTAssertEqual(f.n, 7)
        for run in r.runs where !run.inFit {
            XCTAssertEqual(try XCTUnwrap(run.predictedLoss), run.loss!, accuracy: 1e-6 * run.loss!)
            XCTAssertEqual(try XCTUnwrap(run.predictedError), run.error!, accuracy: 1e-5)
            XCTAssertEqual(try XCTUnwrap(run.lossRelativeError), 0, accuracy: 1e-6)
            XCTAssertEqual(try XCTUnwrap(run.predictedErrorAnchored), run.error!, accuracy: 1e-5)
        }
        XCTAssertNil(r.runs.first(where: \.inFit)!.predictedLoss, "fit runs are not predicted")
        XCTAssertLessThan(try XCTUnwrap(r.meanLossRelativeError), 1e-6)
        let anchored = try XCTUnwrap(r.anchoredErrorFit)
        XCTAssertEqual(anchored.k, k, accuracy: 1e-9 * k)
        XCTAssertEqual(anchored.gamma, gamma, accuracy: 1e-9)
        XCTAssertEqual(r.notes, [])
        XCTAssertTrue(OverTrainingStudy.html(r).contains("<svg"))
    }

    /// Twelve tiny runs on real shards: trained, scored, fitted, predicted; a rerun trains nothing again.
    func testMiniStudyEndToEnd() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("nanolm-overtrain-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        let (_, shards) = try EvalTaskTests.buildShards(in: root)
        let spec = spec(data: shards.path)
        try spec.validate()
        var lines: [String] = []
        let study = OverTrainingStudy(spec: spec, directory: root.appendingPathComponent("study")) { lines.append($0) }
        let result = try study.run()
        XCTAssertEqual(result.runs.count, 12)
        for run in result.runs {
            XCTAssertEqual(run.status, .done)
            XCTAssertEqual(Double(run.tokens) / Double(run.parameters), run.multiplier, accuracy: 128 / Double(run.parameters) + 1e-9)
            let loss = try XCTUnwrap(run.loss), error = try XCTUnwrap(run.error)
            XCTAssertTrue(loss.isFinite && loss < log(384.0), "width \(run.width) M \(run.multiplier): loss \(loss) is no better than uniform")
            XCTAssertTrue((0 ... 1).contains(error))
        }
        // Every held-out run gets predictions exactly when the fits exist, and they are the fitted laws.
        for run in result.runs where !run.inFit {
            if let f = result.lossFit {
                XCTAssertEqual(run.predictedLoss!, f.loss(parameters: Double(run.parameters), tokens: Double(run.tokens)), accuracy: 1e-12)
            } else { XCTAssertNil(run.predictedLoss) }
            if let g = result.errorFit, let l = run.predictedLoss { XCTAssertEqual(run.predictedError!, g.error(atLoss: l), accuracy: 1e-12) }
        }
        XCTAssertEqual(lines.filter { $0.hasPrefix("[train]") }.count, 12)

        lines.removeAll()
        let again = try OverTrainingStudy(spec: spec, directory: root.appendingPathComponent("study")) { lines.append($0) }.run()
        XCTAssertEqual(lines.filter { $0.hasPrefix("[train]") }.count, 0, "finished runs are not trained again")
        XCTAssertEqual(lines.filter { $0.hasPrefix("[eval]") }.count, 0, "scored runs are not scored again")
        XCTAssertEqual(again.runs.map(\.loss), result.runs.map(\.loss))
        XCTAssertEqual(again.runs.map(\.error), result.runs.map(\.error))
    }
}
