// Zlib: raw deflate and inflate (as ZIP stores them) and CRC-32, on the system zlib.
import CZlib

/// Raw-deflate streams (no zlib header: ZIP's method 8) and CRC-32, through zlib.
enum Zlib {
    /// The CRC-32 of `bytes` (ZIP's checksum).
    static func crc32(_ bytes: [UInt8]) -> UInt32 {
        bytes.withUnsafeBufferPointer { b in
            var crc: uLong = CZlib.crc32(0, nil, 0)
            guard let base = b.baseAddress else { return UInt32(crc) }
            var offset = 0
            // zlib takes a 32-bit length: feed it in chunks.
            while offset < b.count {
                let n = min(b.count - offset, 1 << 30)
                crc = CZlib.crc32(crc, base + offset, uInt(n))
                offset += n
            }
            return UInt32(truncatingIfNeeded: crc)
        }
    }

    /// Compresses with raw deflate at `level` (0–9).
    static func deflate(_ input: [UInt8], level: Int32 = 6) throws -> [UInt8] {
        var stream = z_stream()
        // deflateInit2 is a C macro over deflateInit2_; -15 window bits means raw deflate.
        guard deflateInit2_(&stream, level, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY, ZLIB_VERSION,
                            Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw RuntimeError("zlib could not start a deflate stream")
        }
        defer { deflateEnd(&stream) }
        var output = [UInt8](repeating: 0, count: Int(deflateBound(&stream, uLong(input.count))) + 64)
        let status: Int32 = input.withUnsafeBufferPointer { inBuffer in
            output.withUnsafeMutableBufferPointer { outBuffer in
                stream.next_in = UnsafeMutablePointer(mutating: inBuffer.baseAddress)
                stream.avail_in = uInt(inBuffer.count)
                stream.next_out = outBuffer.baseAddress
                stream.avail_out = uInt(outBuffer.count)
                return CZlib.deflate(&stream, Z_FINISH)
            }
        }
        guard status == Z_STREAM_END else { throw RuntimeError("zlib deflate failed (status \(status))") }
        output.removeLast(output.count - Int(stream.total_out))
        return output
    }

    /// Decompresses raw deflate data that must expand to exactly `expectedSize` bytes.
    static func inflate(_ input: ArraySlice<UInt8>, expectedSize: Int) throws -> [UInt8] {
        var stream = z_stream()
        guard inflateInit2_(&stream, -15, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw RuntimeError("zlib could not start an inflate stream")
        }
        defer { inflateEnd(&stream) }
        // One spare byte so that data longer than declared is detected, not silently cut.
        var output = [UInt8](repeating: 0, count: expectedSize + 1)
        var produced = 0
        var status: Int32 = Z_OK
        input.withUnsafeBufferPointer { inBuffer in
            output.withUnsafeMutableBufferPointer { outBuffer in
                stream.next_in = UnsafeMutablePointer(mutating: inBuffer.baseAddress)
                stream.avail_in = uInt(inBuffer.count)
                stream.next_out = outBuffer.baseAddress
                stream.avail_out = uInt(outBuffer.count)
                status = CZlib.inflate(&stream, Z_FINISH)
                produced = outBuffer.count - Int(stream.avail_out)
            }
        }
        guard status == Z_STREAM_END else {
            if status == Z_BUF_ERROR && produced > expectedSize {
                throw RuntimeError("deflated data is longer than the declared \(expectedSize) bytes")
            }
            throw RuntimeError(status == Z_BUF_ERROR ? "deflated data is truncated" : "deflated data is corrupt (zlib status \(status))")
        }
        guard produced == expectedSize else {
            throw RuntimeError("deflated data expands to \(produced) bytes, the archive declares \(expectedSize)")
        }
        output.removeLast()
        return output
    }
}
