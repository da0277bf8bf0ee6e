// ZipArchive: the ZIP container of NPZ files — reading stored/deflated entries (ZIP64 too), writing.

/// One file inside a ZIP archive.
struct ZipEntry {
    var name: String
    var data: [UInt8]
}

/// Reads and writes ZIP archives as NumPy's `np.savez` (stored) and `np.savez_compressed`
/// (deflated) produce them, including the ZIP64 extra fields NumPy always writes. Entries are
/// found through the central directory; each is checked against its CRC-32. Encrypted entries,
/// multi-disk archives and compression methods other than stored and deflate are errors.
enum ZipArchive {
    static let localSignature: UInt32 = 0x0403_4b50
    static let centralSignature: UInt32 = 0x0201_4b50
    static let endSignature: UInt32 = 0x0605_4b50
    static let zip64EndSignature: UInt32 = 0x0606_4b50
    static let zip64LocatorSignature: UInt32 = 0x0706_4b50

    /// The entries of an archive, in central-directory order.
    static func read(_ bytes: [UInt8]) throws -> [ZipEntry] {
        let r = ByteReader(bytes)
        guard bytes.count >= 22 else { throw RuntimeError("is too short to be a ZIP archive") }
        // The end record is the last 22 bytes plus a comment of up to 64 KiB: search backwards.
        var end = -1
        var i = bytes.count - 22
        let lowest = max(0, bytes.count - 22 - 65535)
        while i >= lowest {
            if r.uint32(at: i) == endSignature { end = i; break }
            i -= 1
        }
        guard end >= 0 else { throw RuntimeError("is not a ZIP archive (no end of central directory record)") }
        guard let disk = r.uint16(at: end + 4), let cdDisk = r.uint16(at: end + 6),
              let count16 = r.uint16(at: end + 10), let size32 = r.uint32(at: end + 12),
              let offset32 = r.uint32(at: end + 16) else {
            throw RuntimeError("has a truncated end of central directory record")
        }
        var count = Int(count16), cdOffset = Int(offset32), cdSize = Int(size32)
        if count16 == 0xffff || size32 == 0xffff_ffff || offset32 == 0xffff_ffff {
            // ZIP64: the locator sits just before the end record and points at the ZIP64 end record.
            guard r.uint32(at: end - 20) == zip64LocatorSignature, let recordOffset = r.uint64(at: end - 12),
                  recordOffset < UInt64(bytes.count), r.uint32(at: Int(recordOffset)) == zip64EndSignature,
                  let c = r.uint64(at: Int(recordOffset) + 32), let s = r.uint64(at: Int(recordOffset) + 40),
                  let o = r.uint64(at: Int(recordOffset) + 48) else {
                throw RuntimeError("has a missing or broken ZIP64 end of central directory record")
            }
            guard c <= UInt64(bytes.count), s <= UInt64(bytes.count), o <= UInt64(bytes.count) else {
                throw RuntimeError("has a ZIP64 central directory that lies outside the file")
            }
            count = Int(c); cdSize = Int(s); cdOffset = Int(o)
        } else if disk != 0 || cdDisk != 0 {
            throw RuntimeError("is a multi-disk ZIP archive, which is not supported")
        }
        guard r.has(cdSize, at: cdOffset) else { throw RuntimeError("has a central directory that lies outside the file") }

        var entries: [ZipEntry] = []
        var p = cdOffset
        for _ in 0..<count {
            entries.append(try readEntry(r, centralAt: &p))
        }
        return entries
    }

    private static func readEntry(_ r: ByteReader, centralAt p: inout Int) throws -> ZipEntry {
        guard r.uint32(at: p) == centralSignature, let flags = r.uint16(at: p + 8), let method = r.uint16(at: p + 10),
              let crc = r.uint32(at: p + 16), let compressed32 = r.uint32(at: p + 20), let size32 = r.uint32(at: p + 24),
              let nameLength = r.uint16(at: p + 28), let extraLength = r.uint16(at: p + 30),
              let commentLength = r.uint16(at: p + 32), let local32 = r.uint32(at: p + 42),
              r.has(Int(nameLength) + Int(extraLength) + Int(commentLength), at: p + 46) else {
            throw RuntimeError("has a truncated or corrupt central directory entry at offset \(p)")
        }
        let nameStart = p + 46
        let name = String(decoding: r.bytes[nameStart..<(nameStart + Int(nameLength))], as: UTF8.self)
        var compressed = UInt64(compressed32), size = UInt64(size32), local = UInt64(local32)
        // ZIP64 extra field (id 1): the 64-bit values of the fields set to 0xffffffff, in order.
        var e = nameStart + Int(nameLength)
        let extraEnd = e + Int(extraLength)
        while e + 4 <= extraEnd, let id = r.uint16(at: e), let length = r.uint16(at: e + 2) {
            if id == 1 {
                var q = e + 4
                func next() -> UInt64? {
                    guard q + 8 <= e + 4 + Int(length), let v = r.uint64(at: q) else { return nil }
                    q += 8
                    return v
                }
                if size32 == 0xffff_ffff { guard let v = next() else { break }; size = v }
                if compressed32 == 0xffff_ffff { guard let v = next() else { break }; compressed = v }
                if local32 == 0xffff_ffff { guard let v = next() else { break }; local = v }
            }
            e += 4 + Int(length)
        }
        p = extraEnd + Int(commentLength)

        guard flags & 1 == 0 else { throw RuntimeError("entry '\(name)' is encrypted, which is not supported") }
        let fileSize = UInt64(r.bytes.count)
        guard local < fileSize, compressed <= fileSize, size < 1 << 32 else {
            throw RuntimeError("entry '\(name)' declares sizes or offsets beyond the file (or over 4 GiB)")
        }
        let l = Int(local)
        guard r.uint32(at: l) == localSignature, let localName = r.uint16(at: l + 26), let localExtra = r.uint16(at: l + 28) else {
            throw RuntimeError("entry '\(name)' has no valid local header at offset \(l)")
        }
        let dataStart = l + 30 + Int(localName) + Int(localExtra)
        guard r.has(Int(compressed), at: dataStart) else {
            throw RuntimeError("entry '\(name)' is truncated: it declares \(compressed) bytes of data")
        }
        let raw = r.bytes[dataStart..<(dataStart + Int(compressed))]
        let data: [UInt8]
        switch method {
        case 0:
            guard compressed == size else {
                throw RuntimeError("stored entry '\(name)' declares \(compressed) bytes stored but \(size) bytes long")
            }
            data = Array(raw)
        case 8:
            // Deflate cannot expand data by more than about 1032:1; a larger claim is corrupt,
            // and refusing it keeps a hostile header from asking for a huge allocation.
            guard size <= compressed * 1032 + 1024 else {
                throw RuntimeError("deflated entry '\(name)' claims an impossible size of \(size) bytes from \(compressed)")
            }
            do {
                data = try Zlib.inflate(raw, expectedSize: Int(size))
            } catch let error as RuntimeError {
                throw RuntimeError("entry '\(name)': \(error.message)")
            }
        default:
            throw RuntimeError("entry '\(name)' uses compression method \(method); only stored (0) and deflate (8) are supported")
        }
        guard Zlib.crc32(data) == crc else { throw RuntimeError("entry '\(name)' fails its CRC-32 check (corrupt data)") }
        return ZipEntry(name: name, data: data)
    }

    /// An archive of `entries`, each stored or deflated. Archives over 4 GiB (which would need
    /// ZIP64) are refused.
    static func write(_ entries: [ZipEntry], compressed: Bool) throws -> [UInt8] {
        guard entries.count < 0xffff else { throw RuntimeError("too many arrays for one archive (\(entries.count))") }
        var out: [UInt8] = []
        var central: [UInt8] = []
        var seen = Set<String>()
        for entry in entries {
            guard seen.insert(entry.name).inserted else { throw RuntimeError("two arrays are named '\(entry.name)'") }
            let crc = Zlib.crc32(entry.data)
            let payload = compressed ? try Zlib.deflate(entry.data) : entry.data
            let name = Array(entry.name.utf8)
            let offset = out.count
            guard entry.data.count < 0xffff_ffff, payload.count < 0xffff_ffff, offset + 30 + name.count + payload.count < 0xffff_ffff,
                  name.count < 0xffff else {
                throw RuntimeError("archive would exceed 4 GiB, which needs ZIP64 (not written by s2dc)")
            }
            let method: UInt16 = compressed ? 8 : 0
            // Local header. Time 00:00, date 1980-01-01: fixed, so archives are reproducible.
            out.appendLE(localSignature)
            out.appendLE(UInt16(20)); out.appendLE(UInt16(0)); out.appendLE(method)
            out.appendLE(UInt16(0)); out.appendLE(UInt16(0x21))
            out.appendLE(crc); out.appendLE(UInt32(payload.count)); out.appendLE(UInt32(entry.data.count))
            out.appendLE(UInt16(name.count)); out.appendLE(UInt16(0))
            out += name
            out += payload
            // Central directory entry.
            central.appendLE(centralSignature)
            central.appendLE(UInt16(20)); central.appendLE(UInt16(20)); central.appendLE(UInt16(0)); central.appendLE(method)
            central.appendLE(UInt16(0)); central.appendLE(UInt16(0x21))
            central.appendLE(crc); central.appendLE(UInt32(payload.count)); central.appendLE(UInt32(entry.data.count))
            central.appendLE(UInt16(name.count)); central.appendLE(UInt16(0)); central.appendLE(UInt16(0))
            central.appendLE(UInt16(0)); central.appendLE(UInt16(0)); central.appendLE(UInt32(0))
            central.appendLE(UInt32(offset))
            central += name
        }
        let cdOffset = out.count
        guard cdOffset + central.count < 0xffff_ffff else {
            throw RuntimeError("archive would exceed 4 GiB, which needs ZIP64 (not written by s2dc)")
        }
        out += central
        out.appendLE(endSignature)
        out.appendLE(UInt16(0)); out.appendLE(UInt16(0))
        out.appendLE(UInt16(entries.count)); out.appendLE(UInt16(entries.count))
        out.appendLE(UInt32(central.count)); out.appendLE(UInt32(cdOffset))
        out.appendLE(UInt16(0))
        return out
    }
}
