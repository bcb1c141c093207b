import Foundation
import XCTest
@testable import Torch

final class SafeTensorsTests: XCTestCase {
    func fixture(_ name: String) -> URL { Bundle.module.url(forResource: "Fixtures/\(name)", withExtension: "safetensors")! }

    /// A file written by Python's safetensors package (scripts/torch_goldens.py) loads with its values.
    func testLoadsFileWrittenByPythonSafetensors() throws {
        let file = try SafeTensors.load(fixture("dtypes"))
        XCTAssertEqual(file.metadata, ["written_by": "python safetensors"])
        let t = file.tensors
        XCTAssertEqual(t["f32"]?.shape, [2, 3])
        XCTAssertEqual(try t["f32"]!.toArray(Float.self), [1.5, -2.25, 3.0, 0.0, 1e-8, -7.5])
        XCTAssertEqual(try t["f64"]!.toArray(Double.self), [1.0 / 3.0, -2.0])
        XCTAssertEqual(t["bf16"]?.dtype, .bfloat16)
        XCTAssertEqual(try t["bf16"]!.toArray(Float.self), [1.0, -0.5, 3.140625, 65280.0])
        XCTAssertEqual(try t["i64"]!.toArray(Int64.self), [-(1 << 40), 0, 7])
        XCTAssertEqual(try t["bool"]!.toArray(Bool.self), [true, false, true])
        XCTAssertEqual(try t["u8"]!.toArray(UInt8.self), [0, 255, 17])
        XCTAssertEqual(t["empty"]?.shape, [0, 3])
        XCTAssertEqual(t["scalar"]?.shape, [])
        XCTAssertEqual(try t["scalar"]!.item(), 2.5)
    }

    func testRoundTrip() throws {
        let original = try SafeTensors.load(fixture("dtypes"))
        let data = try SafeTensors.encode(original.tensors, metadata: original.metadata)
        let again = try SafeTensors.decode(data)
        XCTAssertEqual(again.metadata, original.metadata)
        XCTAssertEqual(Set(again.tensors.keys), Set(original.tensors.keys))
        for (name, tensor) in original.tensors {
            XCTAssertEqual(again.tensors[name]!.dtype, tensor.dtype, name)
            XCTAssertEqual(again.tensors[name]!.shape, tensor.shape, name)
            XCTAssertEqual(try again.tensors[name]!.bytes(), try tensor.bytes(), name)
        }
    }

    /// A file written by Swift loads in Python's safetensors with the same values
    /// (scripts/check_safetensors.py). Runs when NANOLM_PYTHON is set, as scripts/test.sh does.
    func testFileWrittenBySwiftLoadsInPython() throws {
        guard let python = ProcessInfo.processInfo.environment["NANOLM_PYTHON"] else {
            throw XCTSkip("NANOLM_PYTHON not set; scripts/test.sh sets it")
        }
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("nanolm-swift-\(getpid()).safetensors")
        defer { try? FileManager.default.removeItem(at: url) }
        try SafeTensors.save([
            "weight": try Tensor([1, 2, 3, 4, 5, 6] as [Float], shape: [2, 3]),
            "ids": try Tensor([7, -1] as [Int64]),
            "half": try Tensor([0.5, -4] as [Float]).to(.bfloat16),
            "flags": try Tensor([false, true] as [Bool]),
        ], metadata: ["format": "pt", "step": "12"], to: url)
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../scripts/check_safetensors.py").standardized.path
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = [script, url.path]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        process.waitUntilExit()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        XCTAssertEqual(process.terminationStatus, 0, output)
        XCTAssertTrue(output.contains("ok"), output)
    }

    func testCorruptFilesAreClearErrors() throws {
        let good = try SafeTensors.encode(["a": try Tensor([1, 2, 3, 4] as [Float]), "b": try Tensor([5] as [Int64])])
        func header(_ json: String, data: Int) -> Data {
            var d = Data()
            withUnsafeBytes(of: UInt64(json.utf8.count).littleEndian) { d.append(contentsOf: $0) }
            d.append(Data(json.utf8))
            d.append(Data(count: data))
            return d
        }
        let cases: [(String, Data, String)] = [
            ("empty", Data(), "shorter than the 8-byte"),
            ("truncated data", good.prefix(good.count - 3), "bytes"),
            ("truncated header", good.prefix(12), "runs past the end"),
            ("huge header length", Data([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]), "exceeds"),
            ("bad json", header("{\"a\": [1, 2", data: 0), "not a JSON object"),
            ("offsets past the end", header(#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#, data: 4), "fall outside"),
            ("reversed offsets", header(#"{"a":{"dtype":"F32","shape":[0],"data_offsets":[4,0]}}"#, data: 4), "fall outside"),
            ("overlap", header(#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#, data: 8), "overlaps"),
            ("size mismatch", header(#"{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#, data: 8), "needs 12"),
            ("unknown dtype", header(#"{"a":{"dtype":"F8","shape":[1],"data_offsets":[0,1]}}"#, data: 1), "unsupported dtype"),
            ("negative shape", header(#"{"a":{"dtype":"U8","shape":[-1],"data_offsets":[0,1]}}"#, data: 1), "no valid shape"),
            ("gap", header(#"{"a":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}"#, data: 2), "gap"),
            ("trailing bytes", header(#"{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}"#, data: 3), "trailing"),
            ("bad metadata", header(#"{"__metadata__":{"k":1}}"#, data: 0), "__metadata__"),
            // Issue 20: a shape whose byte count overflows Int trapped inside this very error message.
            ("shape 2^62", header(#"{"a":{"dtype":"F32","shape":[4611686018427387904],"data_offsets":[0,4]}}"#, data: 4), "more than Int.max"),
            ("shape 1e300", header(#"{"a":{"dtype":"F32","shape":[1e300],"data_offsets":[0,4]}}"#, data: 4), "not an integer"),
            ("shape true", header(#"{"a":{"dtype":"F32","shape":[true],"data_offsets":[0,4]}}"#, data: 4), "shape"),
            ("offsets as strings", header(#"{"a":{"dtype":"F32","shape":[1],"data_offsets":["0","4"]}}"#, data: 4), "data_offsets"),
        ]
        for (name, data, expected) in cases {
            XCTAssertThrowsError(try SafeTensors.decode(data, file: "case.safetensors"), name) { error in
                let text = "\(error)"
                XCTAssertTrue(text.hasPrefix("case.safetensors: "), "\(name): \(text)")
                XCTAssertTrue(text.contains(expected), "\(name): \(text)")
            }
        }
        XCTAssertThrowsError(try SafeTensors.load(URL(fileURLWithPath: "/nonexistent/x.safetensors"))) { error in
            XCTAssertTrue("\(error)".contains("/nonexistent/x.safetensors"))
        }
    }
}
