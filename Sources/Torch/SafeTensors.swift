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
        let header: Header
        do { header = try JSONDecoder().decode(Header.self, from: headerData) } catch let DecodingError.typeMismatch(_, context),
            let DecodingError.valueNotFound(_, context), let DecodingError.keyNotFound(_, context), let DecodingError.dataCorrupted(context) {
            let field = context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
            throw bad(field.isEmpty ? "header is not a JSON object of tensor entries (invalid JSON, or a number that is not an integer in Int's range)"
                                    : "header field '\(field.dropFirst())': \(context.debugDescription)")
        } catch {
            throw bad("header is not a JSON object")
        }
        let dataStart = 8 + Int(headerLength)
        let dataLength = data.count - dataStart

        struct Entry { let name: String; let dtype: DType; let shape: [Int]; let begin: Int; let end: Int }
        var entries: [Entry] = []
        for (name, info) in header.entries {
            guard let dtype = dtype(named: info.dtype) else { throw bad("entry '\(name)' has unsupported dtype '\(info.dtype)'") }
            let shape = info.shape
            guard shape.allSatisfy({ $0 >= 0 }) else { throw bad("entry '\(name)' has no valid shape: \(shape) has a negative dimension") }
            guard info.data_offsets.count == 2 else { throw bad("entry '\(name)' has no valid data_offsets") }
            let (begin, end) = (info.data_offsets[0], info.data_offsets[1])
            guard begin >= 0, begin <= end, end <= dataLength else {
                throw bad("entry '\(name)' data_offsets [\(begin), \(end)] fall outside the \(dataLength) data bytes")
            }
            // Element and byte counts with overflow checks: a shape like [2^62] must be an error, not a trap.
            var bytes: Int? = dtype.byteCount
            for d in shape {
                let (p, o) = bytes?.multipliedReportingOverflow(by: d) ?? (0, true)
                bytes = o ? nil : p
            }
            guard let bytes, bytes == end - begin else {
                throw bad("entry '\(name)' has \(end - begin) bytes, but \(info.dtype) \(shape) needs \(bytes.map(String.init) ?? "more than Int.max")")
            }
            entries.append(Entry(name: name, dtype: dtype, shape: shape, begin: begin, end: end))
        }
        let metadata = header.metadata
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

/// The JSON header: tensor entries by name, and the optional `__metadata__` strings. Decoded with
/// JSONDecoder, so numbers must be integers in Int's range (not 1e300, not true) and types must match.
private struct Header: Decodable {
    struct Entry: Decodable {
        let dtype: String
        let shape: [Int]
        let data_offsets: [Int]
    }
    struct Key: CodingKey {
        let stringValue: String
        init(stringValue: String) { self.stringValue = stringValue }
        var intValue: Int? { nil }
        init?(intValue: Int) { nil }
    }
    var entries: [(String, Entry)] = []
    var metadata: [String: String] = [:]

    init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: Key.self)
        for key in container.allKeys {
            if key.stringValue == "__metadata__" {
                metadata = try container.decode([String: String].self, forKey: key)
            } else {
                entries.append((key.stringValue, try container.decode(Entry.self, forKey: key)))
            }
        }
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
