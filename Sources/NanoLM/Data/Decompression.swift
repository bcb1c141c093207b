import CCompression
import Foundation

/// Decompresses a track source as it is read, in process: gzip (also dictzip's .dz and files of several
/// gzip members) through zlib, zstd (several frames too) through libzstd. One child `gzip -dc` per file
/// cost a process start per man page. A damaged or truncated file does not throw: what decoded before
/// the damage is returned, then the end, and ``failure`` says what went wrong (as the exit status and
/// stderr of `gzip -dc` did), so the caller skips and counts the file.
final class StreamDecompressor {
    enum Format { case gzip, zstd }

    let handle: FileHandle
    let format: Format
    /// Why decoding stopped early (nil: it did not).
    private(set) var failure: String?
    private var zlib = z_stream()
    private var zstd: OpaquePointer?
    private var input: [UInt8] = [], position = 0
    private var inputEnded = false, done = false
    /// True between streams (gzip members, zstd frames): the input may end here.
    private var atBoundary = false

    init(handle: FileHandle, format: Format) {
        self.handle = handle
        self.format = format
        switch format {
        case .gzip:   // 15 + 32: a window of 2^15 and gzip or zlib headers detected automatically
            if inflateInit2_(&zlib, 15 + 32, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) != Z_OK { fail("zlib cannot start") }
        case .zstd:
            zstd = ZSTD_createDStream()
            if zstd == nil || ZSTD_isError(ZSTD_initDStream(zstd)) != 0 { fail("libzstd cannot start") }
        }
    }

    deinit {
        switch format {
        case .gzip: inflateEnd(&zlib)
        case .zstd: if let zstd { ZSTD_freeDStream(zstd) }
        }
    }

    private func fail(_ reason: String) { failure = reason; done = true }

    /// Up to `capacity` decompressed bytes; empty at the end (or after a failure).
    func read(capacity: Int = 1 << 20) -> Data {
        var out = [UInt8](repeating: 0, count: capacity)
        var produced = 0
        while produced < capacity && !done {
            if position == input.count && !inputEnded {
                let chunk: Data
                do { chunk = try handle.read(upToCount: 1 << 18) ?? Data() } catch { fail("cannot read: \(error.localizedDescription)"); break }
                if chunk.isEmpty { inputEnded = true } else { input = [UInt8](chunk); position = 0 }
            }
            let (consumed, made, error) = step(into: &out, at: produced)
            position += consumed
            produced += made
            if let error { fail(error); break }
            if inputEnded && made == 0 {   // the decoder has nothing left to give
                if !atBoundary { fail("unexpected end of file: truncated, or not \(format == .gzip ? "gzip" : "zstd") data") }
                done = true
            }
        }
        return Data(out.prefix(produced))
    }

    /// One decompression call on the buffered input: bytes consumed, bytes made, an error if any.
    private func step(into out: inout [UInt8], at offset: Int) -> (Int, Int, String?) {
        input.withUnsafeMutableBufferPointer { inBytes in
            out.withUnsafeMutableBufferPointer { outBytes in
                let available = inBytes.count - position, room = outBytes.count - offset
                switch format {
                case .gzip:
                    zlib.next_in = inBytes.baseAddress.map { $0 + position }
                    zlib.avail_in = UInt32(available)
                    zlib.next_out = outBytes.baseAddress! + offset
                    zlib.avail_out = UInt32(room)
                    let status = inflate(&zlib, Z_NO_FLUSH)
                    let consumed = available - Int(zlib.avail_in), made = room - Int(zlib.avail_out)
                    switch status {
                    case Z_STREAM_END:
                        inflateReset(&zlib)   // another member may follow
                        atBoundary = true
                    case Z_OK, Z_BUF_ERROR:
                        if consumed > 0 || made > 0 { atBoundary = false }
                    case Z_DATA_ERROR where atBoundary && made == 0:
                        done = true           // bytes after the last member that are no gzip header: ignored, as gzip does
                    default:
                        return (consumed, made, "corrupt gzip data: " + (zlib.msg.map { String(cString: $0) } ?? "zlib error \(status)"))
                    }
                    return (consumed, made, nil)
                case .zstd:
                    var inBuffer = ZSTD_inBuffer(src: inBytes.baseAddress.map { UnsafeRawPointer($0 + position) }, size: available, pos: 0)
                    var outBuffer = ZSTD_outBuffer(dst: outBytes.baseAddress! + offset, size: room, pos: 0)
                    let result = ZSTD_decompressStream(zstd, &outBuffer, &inBuffer)
                    if ZSTD_isError(result) != 0 {
                        return (inBuffer.pos, outBuffer.pos, "corrupt zstd data: " + String(cString: ZSTD_getErrorName(result)))
                    }
                    if inBuffer.pos > 0 || outBuffer.pos > 0 { atBoundary = result == 0 }   // 0: a frame just ended
                    return (inBuffer.pos, outBuffer.pos, nil)
                }
            }
        }
    }
}
