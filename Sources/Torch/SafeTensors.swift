import Foundation

/// Reading and writing the safetensors format (https://huggingface.co/docs/safetensors), the only
/// checkpoint format nanolm uses:
///
///     [8 bytes: header length N, little-endian u64]
///     [N bytes: JSON {"name": {"dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end]}, …,
///                     "__metadata__": {"key": "value"}}]
///     [data: each tensor's raw little-endian bytes at begin..<end, relative to the data start]
///
/// Reading validates everything before touching the data: a malformed file is a ``SafeTensorsError``
/// that names the file and the problem, never a crash or an out-of-bounds read.
public enum SafeTensors {
    /// Tensors by name, plus the free-form string metadata.
    public struct Contents {
        public var tensors: [String: Tensor]
        public var metadata: [String: String]
    }

    static let dtypeNames: [(DType, String)] = [
        (.float32, "F32"), (.float64, "F64"), (.float16, "F16"), (.bfloat16, "BF16"), (.int64, "I64"),
        (.int32, "I32"), (.int16, "I16"), (.int8, "I8"), (.uint8, "U8"), (.bool, "BOOL"),
    ]
    static func name(of dtype: DType) -> String { dtypeNames.first { $0.0 == dtype }!.1 }
    static func dtype(named name: String) -> DType? { dtypeNames.first { $0.1 == name }?.0 }

    /// Header size limit, as the reference implementation (100 MB).
    static let maxHeaderBytes = 100_000_000

    // MARK: Writing

    /// The file's bytes for `tensors` (written in name order) and `metadata`.
    public static func encode(_ tensors: [String: Tensor], metadata: [String: String] = [:]) throws -> Data {
        var header: [String: Any] = [:]
        if !metadata.isEmpty { header["__metadata__"] = metadata }
        var payload = Data()
        for name in tensors.keys.sorted() {
            let tensor = tensors[name]!
            let bytes = try tensor.bytes()
            header[name] = [
                "dtype": Self.name(of: tensor.dtype), "shape": tensor.shape,
                "data_offsets": [payload.count, payload.count + bytes.count],
            ] as [String: Any]
            payload.append(contentsOf: bytes)
        }
        var json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        // Pad the header with spaces so the data starts 8-byte aligned, as the reference writer does.
        while (8 + json.count) % 8 != 0 { json.append(0x20) }
        var file = Data()
        withUnsafeBytes(of: UInt64(json.count).littleEndian) { file.append(contentsOf: $0) }
        file.append(json)
        file.append(payload)
        return file
    }

    /// Writes `tensors` to `url` atomically (a temporary file renamed into place), so a crash never
    /// leaves a half-written file under that name.
    public static func save(_ tensors: [String: Tensor], metadata: [String: String] = [:], to url: URL) throws {
        try encode(tensors, metadata: metadata).write(to: url, options: .atomic)
    }

    // MARK: Reading

    /// Reads and validates the file at `url`.
    public static func load(_ url: URL) throws -> Contents {
        let data: Data
        do {
            data = try Data(contentsOf: url, options: .mappedIfSafe)
        } catch {
            throw SafeTensorsError(file: url.path, problem: "cannot read: \(error.localizedDescription)")
        }
        return try decode(data, file: url.path)
    }

    /// Parses and validates safetensors bytes; `file` names the source in errors.
    public static func decode(_ data: Data, file: String = "<memory>") throws -> Contents {
        func bad(_ problem: String) -> SafeTensorsError { SafeTensorsError(file: file, problem: problem) }
        guard data.count >= 8 else { throw bad("file is \(data.count) bytes, shorter than the 8-byte header length") }
        let headerLength = data.prefix(8).withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) }
        guard headerLength <= UInt64(maxHeaderBytes) else { throw bad("header length \(headerLength) exceeds the 100 MB limit") }
        guard 8 + Int(headerLength) <= data.count else {
            throw bad("header length \(headerLength) runs past the end of the file (\(data.count) bytes): truncated?")
        }
        let headerData = data.subdata(in: 8 ..< 8 + Int(headerLength))
        guard let header = (try? JSONSerialization.jsonObject(with: headerData)) as? [String: Any] else {
            throw bad("header is not a JSON object")
        }
        let dataStart = 8 + Int(headerLength)
        let dataLength = data.count - dataStart

        var metadata: [String: String] = [:]
        if let raw = header["__metadata__"] {
            guard let dict = raw as? [String: String] else { throw bad("__metadata__ must map strings to strings") }
            metadata = dict
        }

        struct Entry { let name: String; let dtype: DType; let shape: [Int]; let begin: Int; let end: Int }
        var entries: [Entry] = []
        for (name, value) in header where name != "__metadata__" {
            guard let info = value as? [String: Any] else { throw bad("entry '\(name)' is not an object") }
            guard let dtypeName = info["dtype"] as? String else { throw bad("entry '\(name)' has no dtype") }
            guard let dtype = dtype(named: dtypeName) else { throw bad("entry '\(name)' has unsupported dtype '\(dtypeName)'") }
            guard let shape = (info["shape"] as? [Any])?.compactMap({ ($0 as? NSNumber)?.intValue }),
                  shape.count == (info["shape"] as? [Any])?.count, shape.allSatisfy({ $0 >= 0 })
            else { throw bad("entry '\(name)' has no valid shape") }
            guard let offsets = (info["data_offsets"] as? [Any])?.compactMap({ ($0 as? NSNumber)?.intValue }),
                  offsets.count == 2
            else { throw bad("entry '\(name)' has no valid data_offsets") }
            let (begin, end) = (offsets[0], offsets[1])
            guard begin >= 0, begin <= end, end <= dataLength else {
                throw bad("entry '\(name)' data_offsets [\(begin), \(end)] fall outside the \(dataLength) data bytes")
            }
            let (elements, overflow) = shape.reduce((1, false)) { acc, d in
                let (p, o) = acc.0.multipliedReportingOverflow(by: d)
                return (p, acc.1 || o)
            }
            guard !overflow, elements.multipliedReportingOverflow(by: dtype.byteCount).partialValue == end - begin else {
                throw bad("entry '\(name)' has \(end - begin) bytes, but \(dtypeName) \(shape) needs \(elements * dtype.byteCount)")
            }
            entries.append(Entry(name: name, dtype: dtype, shape: shape, begin: begin, end: end))
        }
        // The data regions must tile the data area without overlaps or gaps.
        var cursor = 0
        for entry in entries.sorted(by: { ($0.begin, $0.end) < ($1.begin, $1.end) }) {
            guard entry.begin == cursor else {
                throw bad(entry.begin < cursor ? "entry '\(entry.name)' overlaps the previous tensor's data"
                                               : "gap in the data before entry '\(entry.name)'")
            }
            cursor = entry.end
        }
        guard cursor == dataLength else { throw bad("\(dataLength - cursor) trailing bytes after the last tensor") }

        var tensors: [String: Tensor] = [:]
        try data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
            for entry in entries {
                let slice = UnsafeRawBufferPointer(rebasing: raw[(dataStart + entry.begin) ..< (dataStart + entry.end)])
                tensors[entry.name] = try Tensor.fromBytes(slice, dtype: entry.dtype, shape: entry.shape)
            }
        }
        return Contents(tensors: tensors, metadata: metadata)
    }
}

/// A safetensors file that could not be read, with the file and the reason.
public struct SafeTensorsError: Error, CustomStringConvertible {
    public let file: String
    public let problem: String
    public init(file: String, problem: String) {
        self.file = file
        self.problem = problem
    }
    public var description: String { "\(file): not a valid safetensors file: \(problem)" }
}
