import Foundation
import XCTest
@testable import NanoLM

// The fuzz harness (issue 20): seeded mutations of valid files, fed to nanolm's readers in process. A case
// passes when the reader returns (accepted) or throws (a clean error); a trap kills the test process, and
// the signal handler below first prints the case to rerun; a case that runs past `FuzzRun.hangLimit` is a
// hang, which fails the test. A reader is one `FuzzTarget`: a name, valid fixtures, and a closure that reads
// bytes. To fuzz another reader, make a target and call `FuzzRun.run` on it (see FuzzTests.swift).
//
//     NANOLM_FUZZ_CASES=2000 swift test --filter FuzzTests      # cases per reader (default 150)
//     NANOLM_FUZZ_TARGET=index.json NANOLM_FUZZ_CASE=1234 …     # rerun one case

/// One reader under fuzz.
struct FuzzTarget {
    /// What the fixtures are written in: decides which mutations apply.
    enum Syntax { case yaml, json, jsonLines, text, binary }

    var name: String
    var syntax: Syntax
    /// Valid inputs; each case mutates one of them.
    var fixtures: [Data]
    /// Reads one (mutated) input: returns normally or throws. Runs on a worker thread, one case at a time.
    var read: (Data) throws -> Void
}

/// Per-reader counts of one fuzz run.
struct FuzzCounts: CustomStringConvertible {
    var name: String
    var cases = 0, accepted = 0, errors = 0, hangs = 0
    var description: String {
        "\(name.padding(toLength: 16, withPad: " ", startingAt: 0)) \(cases) cases: \(errors) clean errors, \(accepted) accepted, 0 crashes, \(hangs) hangs"
    }
}

/// Seeded mutations of a file's bytes.
struct FuzzMutator {
    var random: CounterRandom

    /// Numbers that break arithmetic: zero, negatives, Int's edges, overflowing and non-finite values.
    static let hostileNumbers = ["0", "-1", "-0", "1e300", "-1e300", "1e-300", "9223372036854775807", "9223372036854775808",
                                 "-9223372036854775808", "4611686018427387904", "4000000000", "18446744073709551615",
                                 "65536", "16777216", "2147483648", "1.5", "0.5", "NaN", ".nan", ".inf", "-.inf", "Infinity", "1e19"]
    /// Values of the wrong type, written so both YAML and JSON parse them.
    static let wrongTypes = ["\"text\"", "[]", "{}", "true", "false", "null", "[1, 2]", "{\"a\": 1}", "\"1.9\"", "\"\""]
    /// YAML features nanolm's files never need: anchors, aliases, complex keys, merge keys, tags.
    static let yamlHazards = ["&a [1, 2]", "*a", "? [a, b]\n: 1\n", "<<: *a\n", "!!binary aGVsbG8=", "!!timestamp 2001-12-14",
                              "!custom 1", "{? [x]: 1}", "&a {b: *a}", "- &x 1\n- *x\n", "%YAML 1.1\n---\n", "--- \n...\n---\n"]

    init(seed: UInt64) { random = CounterRandom(seed: seed) }

    mutating func pick<T>(_ items: [T]) -> T { items[random.next(below: items.count)] }

    /// One to three mutations of `data`, with the names of what was done.
    mutating func mutate(_ data: Data, syntax: FuzzTarget.Syntax) -> (Data, [String]) {
        var bytes = [UInt8](data), done: [String] = []
        for _ in 0 ... random.next(below: 3) {
            let (next, name) = mutateOnce(bytes, syntax: syntax)
            bytes = next
            done.append(name)
        }
        return (Data(bytes), done)
    }

    mutating func mutateOnce(_ bytes: [UInt8], syntax: FuzzTarget.Syntax) -> ([UInt8], String) {
        let textual = syntax != .binary
        var kinds = ["truncate", "bit flips", "delete a slice", "duplicate a slice", "random bytes", "zero a slice", "hostile number"]
        if textual { kinds += ["wrong type", "CRLF", "BOM", "deep nesting", "swap lines", "hostile number", "wrong type"] }
        if syntax == .yaml { kinds += ["YAML hazard", "YAML hazard"] }
        if syntax == .binary { kinds += ["hostile number", "hostile number"] }   // in the header JSON of safetensors
        let kind = pick(kinds)
        var b = bytes
        let n = b.count
        func position() -> Int { n == 0 ? 0 : random.next(below: n + 1) }
        switch kind {
        case "truncate": b = Array(b.prefix(position()))
        case "bit flips":
            for _ in 0 ... random.next(below: 8) where n > 0 { b[random.next(below: n)] ^= UInt8(1 << random.next(below: 8)) }
        case "delete a slice":
            let start = position(), end = min(n, start + 1 + random.next(below: 64))
            if start < end { b.removeSubrange(start ..< end) }
        case "duplicate a slice":
            let start = position(), end = min(n, start + 1 + random.next(below: 256))
            if start < end { b.insert(contentsOf: b[start ..< end], at: position()) }
        case "random bytes": b.insert(contentsOf: (0 ..< 1 + random.next(below: 16)).map { _ in UInt8(random.next(below: 256)) }, at: position())
        case "zero a slice":
            let start = position(), end = min(n, start + 1 + random.next(below: 4096))
            for i in start ..< max(start, end) { b[i] = 0 }
        case "hostile number": b = replaceToken(b, isNumber: true, with: pick(Self.hostileNumbers))
        case "wrong type": b = replaceToken(b, isNumber: random.next(below: 2) == 0, with: pick(Self.wrongTypes))
        case "CRLF": b = b.flatMap { $0 == 0x0A ? [0x0D, 0x0A] : [$0] }
        case "BOM": b = [0xEF, 0xBB, 0xBF] + b
        case "deep nesting":
            let depth = 1 + random.next(below: 3000)
            let open: UInt8 = random.next(below: 2) == 0 ? 0x5B : 0x7B
            let inner: [UInt8] = open == 0x5B ? [] : Array("\"k\": ".utf8)
            var nest: [UInt8] = []
            for _ in 0 ..< depth { nest += [open] + (open == 0x7B ? inner : []) }
            nest += Array("1".utf8)
            nest += Array(repeating: open == 0x5B ? 0x5D : 0x7D, count: depth)
            b = replaceToken(b, isNumber: true, with: String(decoding: nest, as: UTF8.self))
        case "swap lines":
            var lines = b.split(separator: 0x0A, omittingEmptySubsequences: false)
            if lines.count > 1 { lines.swapAt(random.next(below: lines.count), random.next(below: lines.count)) }
            b = Array(lines.joined(separator: [0x0A]))
        default:   // YAML hazard, at the start of a random line
            let lines = b.split(separator: 0x0A, omittingEmptySubsequences: false)
            let at = random.next(below: lines.count + 1)
            let hazard = pick(Self.yamlHazards)
            var out = Array(lines.prefix(at).joined(separator: [0x0A]))
            if at > 0 { out.append(0x0A) }
            out += Array(hazard.utf8)
            if random.next(below: 2) == 0, at < lines.count { out += Array(": ".utf8) }
            if at < lines.count { out.append(0x0A); out += Array(lines.dropFirst(at).joined(separator: [0x0A])) }
            b = out
        }
        return (b, kind)
    }

    /// Replaces a random number (or, with `isNumber` false, a random quoted string) with `replacement`.
    mutating func replaceToken(_ b: [UInt8], isNumber: Bool, with replacement: String) -> [UInt8] {
        var spans: [Range<Int>] = []
        var i = 0
        while i < b.count {
            if isNumber, b[i] >= 0x30 && b[i] <= 0x39 || (b[i] == 0x2D && i + 1 < b.count && b[i + 1] >= 0x30 && b[i + 1] <= 0x39) {
                let start = i
                i += 1
                while i < b.count, (b[i] >= 0x30 && b[i] <= 0x39) || b[i] == 0x2E || b[i] == 0x65 || b[i] == 0x45 || b[i] == 0x2B || b[i] == 0x2D { i += 1 }
                spans.append(start ..< i)
            } else if !isNumber, b[i] == 0x22 {
                let start = i
                i += 1
                while i < b.count, b[i] != 0x22 { i += b[i] == 0x5C ? 2 : 1 }
                i = min(i + 1, b.count)
                spans.append(start ..< i)
            } else {
                i += 1
            }
        }
        guard !spans.isEmpty else { return b + Array(replacement.utf8) }
        var out = b
        out.replaceSubrange(spans[random.next(below: spans.count)], with: Array(replacement.utf8))
        return out
    }
}

/// Runs targets: seeded cases, each on a worker thread under the hang limit.
enum FuzzRun {
    /// CPU seconds of the case's own thread: longer than any reader takes on a valid file in a debug
    /// build; not a speed assertion, a guard against cases that never end. Counted on the worker thread's
    /// CPU clock, not the wall clock, so a loaded machine (or libtorch's spinning threads) cannot make a
    /// slow case look hung.
    static let hangLimit: TimeInterval = 30
    /// Wall-clock backstop, as a multiple of the limit: catches a case blocked without using CPU.
    static let wallFactor: Double = 20
    static let environment = ProcessInfo.processInfo.environment
    /// Cases per target: NANOLM_FUZZ_CASES, or `defaultCases`.
    static func caseCount(default defaultCases: Int) -> Int { environment["NANOLM_FUZZ_CASES"].flatMap(Int.init) ?? defaultCases }

    /// Fuzzes every target and returns its counts; a hang is an XCTest failure naming the case.
    static func run(_ targets: [FuzzTarget], casesPerTarget: Int, file: StaticString = #filePath, line: UInt = #line) -> [FuzzCounts] {
        CrashReport.install()
        let only = environment["NANOLM_FUZZ_TARGET"], onlyCase = environment["NANOLM_FUZZ_CASE"].flatMap(Int.init)
        var all: [FuzzCounts] = []
        for target in targets where only == nil || only == target.name {
            var counts = FuzzCounts(name: target.name)
            for c in 0 ..< casesPerTarget where onlyCase == nil || onlyCase == c {
                var mutator = FuzzMutator(seed: seed(target.name, c))
                let fixture = mutator.pick(target.fixtures)
                let (input, mutations) = mutator.mutate(fixture, syntax: target.syntax)
                let label = "fuzz case \(c) of \(target.name) (\(mutations.joined(separator: ", "))); rerun: NANOLM_FUZZ_TARGET=\(target.name) NANOLM_FUZZ_CASE=\(c)"
                CrashReport.current = label
                counts.cases += 1
                switch runCase({ try target.read(input) }) {
                case .accepted: counts.accepted += 1
                case .rejected: counts.errors += 1
                case .hang:
                    counts.hangs += 1
                    XCTFail("hang (over \(Int(hangLimit)) s): \(label)", file: file, line: line)
                }
                if counts.hangs > 0 { break }   // the hung thread still runs: stop this target
            }
            all.append(counts)
            print(counts)
        }
        CrashReport.current = ""
        return all
    }

    /// A stable seed per (target, case).
    static func seed(_ name: String, _ index: Int) -> UInt64 {
        var h = FNV1a64()
        h.update(name)
        return h.value ^ UInt64(index)
    }

    enum Outcome: Equatable { case accepted, rejected, hang }

    /// `body` on its own thread (8 MiB stack, as the main thread), waiting until that thread has used
    /// `limit` seconds of CPU, or `wallFactor × limit` seconds have passed.
    static func runCase(limit: TimeInterval = hangLimit, _ body: @escaping () throws -> Void) -> Outcome {
        final class Box: @unchecked Sendable { var outcome = Outcome.hang; var clock: clockid_t? }
        let box = Box(), started = DispatchSemaphore(value: 0), done = DispatchSemaphore(value: 0)
        let thread = Thread {
            var clock = clockid_t()
            if pthread_getcpuclockid(pthread_self(), &clock) == 0 { box.clock = clock }
            started.signal()
            do { try body(); box.outcome = .accepted } catch { box.outcome = .rejected }
            done.signal()
        }
        thread.stackSize = 8 << 20
        thread.start()
        started.wait()
        let wallDeadline = Date().addingTimeInterval(limit * wallFactor)
        while done.wait(timeout: .now() + min(0.25, limit)) == .timedOut {
            if Date() > wallDeadline || (box.clock.map(cpuSeconds) ?? 0) > limit { return .hang }
        }
        return box.outcome
    }

    /// Seconds on a thread's CPU clock; 0 once the thread has ended.
    static func cpuSeconds(_ clock: clockid_t) -> Double {
        var t = timespec()
        return clock_gettime(clock, &t) == 0 ? Double(t.tv_sec) + Double(t.tv_nsec) / 1e9 : 0
    }
}

/// On a trap (SIGILL, SIGTRAP from a Swift runtime check; SIGSEGV, SIGBUS, SIGFPE, SIGABRT), prints the
/// fuzz case that was running before the process dies, so the crash can be rerun.
enum CrashReport {
    nonisolated(unsafe) static var buffer = [CChar](repeating: 0, count: 1024)
    nonisolated(unsafe) static var installed = false

    static var current: String {
        get { "" }
        set {
            let bytes = Array(("\n*** crashed in " + newValue + "\n").utf8.prefix(1000)).map { CChar(bitPattern: $0) }
            for i in 0 ..< buffer.count { buffer[i] = i < bytes.count && !newValue.isEmpty ? bytes[i] : 0 }
        }
    }

    static func install() {
        guard !installed else { return }
        installed = true
        for sig in [SIGILL, SIGTRAP, SIGSEGV, SIGBUS, SIGFPE, SIGABRT] {
            signal(sig) { sig in
                CrashReport.buffer.withUnsafeBufferPointer { p in _ = write(2, p.baseAddress, strlen(p.baseAddress!)) }
                signal(sig, SIG_DFL)
                raise(sig)
            }
        }
    }
}
