import Foundation
import XCTest
import ScalingLaws

/// The ScalingLaws readers under the fuzz harness (FuzzHarness.swift, issue 20 item 3): fit inputs (CSV,
/// JSON) read and fitted as `nanolm fit` does, and saved fits read and used as `nanolm predict` and
/// `study report` do. 250 cases per reader in CI; NANOLM_FUZZ_CASES=20000 runs more.
final class FuzzFitReadersTests: XCTestCase {
    func testFitReadersNeverTrapOrHang() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("fit-fuzz-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: root) }
        func points(_ ext: String) -> (Data) throws -> Void {
            { data in
                let url = root.appendingPathComponent("points-\(UUID().uuidString).\(ext)")
                try data.write(to: url)
                defer { try? FileManager.default.removeItem(at: url) }
                let rows = try PointsFile.read(url, columns: ["params", "loss"])
                let fit = try fitMuScaling(parameters: rows.map { $0[0] }, losses: rows.map { $0[1] })
                _ = (fit.interval(at: 1e9), fit.aStandardDeviation(perUnit: 1e9), fit.standardDeviation(of: 2))
            }
        }
        let csv = ["params,loss\n50048,2.2428\n93504,2.2101\n149248,2.2063\n297600,2.1120\n495104,2.1168\n",
                   "name,params,loss,sd\n\"gpt, 32\",4.2m,8.31,0.1\r\n\"gpt \"\"48\"\"\",8.8M,6.21,0.1\r\nx,20.3m,2.53,0.1\r\ny,59m,0.686,0.1\r\nz,275m,0.597,0.1\r\n"]
        let json = [#"[{"params": 50048, "loss": 2.2428}, {"params": 93504, "loss": 2.2101}, {"params": 149248, "loss": 2.2063},"#
                    + "\n" + #" {"params": 297600, "loss": 2.1120}, {"params": "495.104k", "loss": 2.1168, "w": [1, {"x": null}]}]"#]
        let atBound = try fitMuScaling(parameters: [50048, 93504, 149248, 297600, 495104], losses: [2.2428, 2.2101, 2.2063, 2.1120, 2.1168])
        let free = try fitMuScaling(parameters: [0.077e9, 0.153e9, 0.254e9, 0.381e9, 0.532e9], losses: [3.656, 3.389, 3.298, 3.215, 3.198])
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys  // the same fixture bytes, so the same cases, in every run
        let down = try fitDownstream(losses: [2.3, 2.7, 3.1, 3.5, 3.9, 4.3], errors: [0.52, 0.6, 0.66, 0.71, 0.75, 0.77])
        let targets = [
            FuzzTarget(name: "fit CSV", syntax: .text, fixtures: csv.map { Data($0.utf8) }, read: points("csv")),
            FuzzTarget(name: "fit JSON", syntax: .json, fixtures: json.map { Data($0.utf8) }, read: points("json")),
            FuzzTarget(name: "saved mu fit", syntax: .json, fixtures: try [atBound, free].map { try encoder.encode($0) }) { data in
                let f = try JSONDecoder().decode(MuScalingFit.self, from: data)
                _ = (f.interval(at: 1e9), f.aStandardDeviation(perUnit: 1e9), f.standardDeviation(of: 2), f.parameters.min(), f.form)
            },
            FuzzTarget(name: "saved downstream", syntax: .json, fixtures: [try encoder.encode(down)]) { data in
                let f = try JSONDecoder().decode(DownstreamFit.self, from: data)
                if let problem = f.shapeProblem { throw ScalingLawError.degenerate(law: "saved", reason: problem) }
                _ = (f.interval(at: 2.0), f.standardDeviations)
            },
        ]
        let counts = FuzzRun.run(targets, casesPerTarget: FuzzRun.caseCount(default: 250))
        XCTAssertEqual(counts.map(\.hangs).reduce(0, +), 0)
        for c in counts where c.cases >= 100 {
            XCTAssertGreaterThan(c.errors, 0, c.name)
            XCTAssertGreaterThan(c.accepted, 0, c.name)
        }
    }
}
