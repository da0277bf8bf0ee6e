// Gzip: decompresses .gz files (RFC 1952) through zlib's raw inflate.

/// gzip member decoding, for datasets shipped as `.gz` (Fashion-MNIST's IDX files).
enum Gzip {
    /// True when `bytes` start with the gzip magic 1f 8b.
    static func hasMagic(_ bytes: [UInt8]) -> Bool { bytes.count >= 2 && bytes[0] == 0x1f && bytes[1] == 0x8b }

    /// The decompressed contents of a single-member gzip file; `file` names it in errors.
    static func decompress(_ bytes: [UInt8], file: String) throws -> [UInt8] {
        func fail(_ message: String) -> RuntimeError { RuntimeError.file(file, "bad gzip data: \(message)") }
        guard bytes.count >= 18, hasMagic(bytes) else { throw fail("too short or no gzip magic") }
        guard bytes[2] == 8 else { throw fail("compression method \(bytes[2]) is not deflate") }
        let flags = bytes[3]
        var offset = 10
        if flags & 4 != 0 {  // FEXTRA
            guard let len = ByteReader(bytes).uint16(at: offset) else { throw fail("truncated header") }
            offset += 2 + Int(len)
        }
        for bit in [UInt8(8), 16] where flags & bit != 0 {  // FNAME, FCOMMENT: zero-terminated
            while offset < bytes.count && bytes[offset] != 0 { offset += 1 }
            offset += 1
        }
        if flags & 2 != 0 { offset += 2 }  // FHCRC
        guard offset < bytes.count - 8, let size = ByteReader(bytes).uint32(at: bytes.count - 4),
              let crc = ByteReader(bytes).uint32(at: bytes.count - 8) else { throw fail("truncated header") }
        // ISIZE is the size modulo 2³²; datasets here are far below 4 GiB.
        let data: [UInt8]
        do {
            data = try Zlib.inflate(bytes[offset..<(bytes.count - 8)], expectedSize: Int(size))
        } catch let error as RuntimeError {
            throw fail(error.message)
        }
        guard Zlib.crc32(data) == crc else { throw fail("CRC mismatch (the file is corrupt)") }
        return data
    }
}
