import Foundation
import XCTest
@testable import ScalingLaws

/// The ScalingLaws readers under seeded mutations (issue 20 item 3), in the manner of NanoLMTests' fuzz
/// harness: fit inputs (CSV, JSON) read and fitted as `nanolm fit` does, and saved fits read and used as
/// `nanolm predict` and `study report` do. A case passes when the reader returns (accepted) or throws (a clean
/// error); a trap kills the test process; a case over `hangLimit` fails the test.
///
///     NANOLM_FUZZ_CASES=20000 swift test --disable-swift-testing --filter FuzzReadersTests   # default 300 per reader
final class FuzzReadersTests: XCTestCase {
    struct Target { var name: String; var fixtures: [String]; var read: (Data) throws -> Void }
    struct Counts { var cases = 0, accepted = 0, errors = 0, hangs = 0 }

    /// Not a speed assertion: a guard against a case that never ends (a debug build on a loaded machine).
    static let hangLimit: TimeInterval = 30
    static let hostileNumbers = ["0", "-1", "-0", "1e300", "-1e300", "1e-300", "1e309", "9223372036854775807", "NaN", "nan", "inf",
                                 "-inf", "1.5", "4e9", "2.8B", "125m", "1e", "0x10", ""]
    static let wrongTypes = ["\"text\"", "[]", "{}", "true", "false", "null", "[1, 2]", "\"1.9\"", "\"\"", "\"2.8B\""]

    func testReadersNeverTrapOrHang() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("scalinglaws-fuzz-\(UUID().uuidString)")
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
        let mu = try fitMuScaling(parameters: [50048, 93504, 149248, 297600, 495104], losses: [2.2428, 2.2101, 2.2063, 2.1120, 2.1168])
        let free = try fitMuScaling(parameters: [0.077e9, 0.153e9, 0.254e9, 0.381e9, 0.532e9], losses: [3.656, 3.389, 3.298, 3.215, 3.198])
        let down = try fitDownstream(losses: [2.3, 2.7, 3.1, 3.5, 3.9, 4.3], errors: [0.52, 0.6, 0.66, 0.71, 0.75, 0.77])
        let saved = try [mu, free].map { String(decoding: try JSONEncoder().encode($0), as: UTF8.self) }
        let targets = [
            Target(name: "fit CSV", fixtures: csv, read: points("csv")),
            Target(name: "fit JSON", fixtures: json, read: points("json")),
            Target(name: "saved mu fit", fixtures: saved) { data in
                let f = try JSONDecoder().decode(MuScalingFit.self, from: data)
                _ = (f.interval(at: 1e9), f.aStandardDeviation(perUnit: 1e9), f.standardDeviation(of: 2), f.parameters.min(), f.form)
            },
            Target(name: "saved downstream", fixtures: [String(decoding: try JSONEncoder().encode(down), as: UTF8.self)]) { data in
                let f = try JSONDecoder().decode(DownstreamFit.self, from: data)
                if let problem = f.shapeProblem { throw ScalingLawError.degenerate(law: "saved", reason: problem) }
                _ = (f.interval(at: 2.0), f.standardDeviations)
            },
        ]
        let perTarget = ProcessInfo.processInfo.environment["NANOLM_FUZZ_CASES"].flatMap(Int.init) ?? 300
        for target in targets {
            var counts = Counts()
            for c in 0..<perTarget {
                var random = SplitMix64(seed: UInt64(c) &* 0x9E37_79B9 ^ UInt64(target.name.utf8.reduce(0) { $0 &* 31 &+ Int($1) }))
                let fixture = Array(target.fixtures[Int(random.next() % UInt64(target.fixtures.count))].utf8)
                var input = fixture, done: [String] = []
                for _ in 0...(random.next() % 3) {
                    let (next, kind) = Self.mutate(input, &random)
                    input = next; done.append(kind)
                }
                counts.cases += 1
                switch Self.run({ try target.read(Data(input)) }) {
                case .accepted: counts.accepted += 1
                case .rejected: counts.errors += 1
                case .hang:
                    counts.hangs += 1
                    XCTFail("hang: case \(c) of \(target.name) (\(done.joined(separator: ", ")))")
                }
                if counts.hangs > 0 { break }
            }
            print("fuzz \(target.name): \(counts.cases) cases: \(counts.errors) clean errors, \(counts.accepted) accepted, 0 crashes, \(counts.hangs) hangs")
            XCTAssertGreaterThan(counts.errors, 0, target.name)
            XCTAssertGreaterThan(counts.accepted, 0, target.name)
        }
    }

    /// One mutation of the bytes: truncation, bit flips, slices, hostile numbers, wrong types, CRLF, BOM, nesting, quotes.
    static func mutate(_ b: [UInt8], _ random: inout SplitMix64) -> ([UInt8], String) {
        func below(_ n: Int) -> Int { n <= 0 ? 0 : Int(random.next() % UInt64(n)) }
        var b = b
        let n = b.count
        let kinds = ["truncate", "bit flips", "delete a slice", "duplicate a slice", "random bytes", "hostile number", "hostile number",
                     "wrong type", "CRLF", "BOM", "deep nesting", "quote", "swap lines"]
        let kind = kinds[below(kinds.count)]
        switch kind {
        case "truncate": b = Array(b.prefix(below(n + 1)))
        case "bit flips": for _ in 0...below(8) where n > 0 { b[below(n)] ^= UInt8(1 << below(8)) }
        case "delete a slice": let s = below(n + 1); b.removeSubrange(s..<min(n, s + 1 + below(32)))
        case "duplicate a slice": let s = below(n + 1); b.insert(contentsOf: b[s..<min(n, s + 1 + below(128))], at: below(n + 1))
        case "random bytes": b.insert(contentsOf: (0...below(16)).map { _ in UInt8(below(256)) }, at: below(n + 1))
        case "CRLF": b = b.flatMap { $0 == 0x0A ? [0x0D, 0x0A] : [$0] }
        case "BOM": b = [0xEF, 0xBB, 0xBF] + b
        case "quote": b.insert(0x22, at: below(n + 1))
        case "swap lines":
            var lines = b.split(separator: 0x0A, omittingEmptySubsequences: false)
            if lines.count > 1 { lines.swapAt(below(lines.count), below(lines.count)) }
            b = Array(lines.joined(separator: [0x0A]))
        default:
            let depth = 1 + below(3000)
            let replacement = kind == "hostile number" ? hostileNumbers[below(hostileNumbers.count)]
                : kind == "wrong type" ? wrongTypes[below(wrongTypes.count)]
                : String(repeating: "[", count: depth) + "1" + String(repeating: "]", count: depth)
            // Replace one number (a run of digits, signs, dots and exponents).
            var spans: [Range<Int>] = [], i = 0
            while i < n {
                if (0x30...0x39).contains(b[i]) {
                    let s = i
                    while i < n, (0x30...0x39).contains(b[i]) || [0x2E, 0x65, 0x45, 0x2B, 0x2D].contains(b[i]) { i += 1 }
                    spans.append(s..<i)
                } else { i += 1 }
            }
            if spans.isEmpty { b += Array(replacement.utf8) } else { b.replaceSubrange(spans[below(spans.count)], with: Array(replacement.utf8)) }
        }
        return (b, kind)
    }

    enum Outcome { case accepted, rejected, hang }

    /// `body` on its own thread (8 MiB stack), waiting at most `hangLimit`.
    static func run(_ body: @escaping () throws -> Void) -> Outcome {
        final class Box: @unchecked Sendable { var outcome = Outcome.hang }
        let box = Box(), done = DispatchSemaphore(value: 0)
        let thread = Thread {
            do { try body(); box.outcome = .accepted } catch { box.outcome = .rejected }
            done.signal()
        }
        thread.stackSize = 8 << 20
        thread.start()
        return done.wait(timeout: .now() + hangLimit) == .timedOut ? .hang : box.outcome
    }
}
