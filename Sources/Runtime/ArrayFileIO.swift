// ArrayFileIO: whole-file reads and writes for NPY and NPZ, with errors that name the file.
import Foundation
import IR

/// Reads a whole file, or throws a `RuntimeError` saying why not (missing, not a regular file, unreadable).
func readFileBytes(_ path: String) throws -> [UInt8] {
    try FilePaths.requireRegularFile(path)
    guard let data = FileManager.default.contents(atPath: path) else {
        throw RuntimeError.file(path, "cannot be read (permissions?)")
    }
    return [UInt8](data)
}

/// Writes a whole file atomically (through a temporary file), replacing any existing one. The path
/// is checked first, so the usual mistakes (a folder, a missing folder) get a message that says so.
func writeFileBytes(_ bytes: [UInt8], to path: String) throws {
    try FilePaths.requireWritableFile(path, what: "the array file")
    try writeAtomically(bytes, to: path)
}

/// Little-endian reads from a byte array with bounds checks, for binary headers from files that
/// may be truncated or malformed.
struct ByteReader {
    let bytes: [UInt8]
    var offset: Int

    init(_ bytes: [UInt8], offset: Int = 0) {
        self.bytes = bytes
        self.offset = offset
    }

    /// True when `count` bytes are available from `at`.
    func has(_ count: Int, at: Int) -> Bool {
        at >= 0 && count >= 0 && at <= bytes.count && count <= bytes.count - at
    }

    func uint16(at i: Int) -> UInt16? {
        guard has(2, at: i) else { return nil }
        return UInt16(bytes[i]) | UInt16(bytes[i + 1]) << 8
    }

    func uint32(at i: Int) -> UInt32? {
        guard has(4, at: i) else { return nil }
        return (0..<4).reduce(UInt32(0)) { $0 | UInt32(bytes[i + $1]) << (8 * UInt32($1)) }
    }

    func uint64(at i: Int) -> UInt64? {
        guard has(8, at: i) else { return nil }
        return (0..<8).reduce(UInt64(0)) { $0 | UInt64(bytes[i + $1]) << (8 * UInt64($1)) }
    }
}

/// Little-endian appends, for writing headers.
extension Array where Element == UInt8 {
    mutating func appendLE(_ v: UInt16) { append(UInt8(v & 0xff)); append(UInt8(v >> 8)) }
    mutating func appendLE(_ v: UInt32) { for i in 0..<4 { append(UInt8((v >> (8 * UInt32(i))) & 0xff)) } }
}
