// NPY: reads and writes NumPy's .npy format (versions 1–3; float32, uint8, int64; C order).

/// The NumPy `.npy` file format. Reading accepts format versions 1.0, 2.0 and 3.0 with dtypes
/// `<f4`, `|u1` and `<i8` in C order; Fortran order, big-endian data and other dtypes are errors
/// that say so. Writing produces version 1.0 (2.0 for a header over 64 KiB), as `np.save` does.
/// No malformed file makes the reader crash: every problem is a `RuntimeError`.
public enum NPY {
    static let magic: [UInt8] = [0x93] + Array("NUMPY".utf8)

    /// True when `bytes` start with the NPY magic string.
    public static func hasMagic(_ bytes: [UInt8]) -> Bool {
        bytes.count >= magic.count && Array(bytes.prefix(magic.count)) == magic
    }

    /// Reads the array in the file at `path`.
    public static func read(fileAt path: String) throws -> NumPyArray {
        try decode(try readFileBytes(path), file: path)
    }

    /// Writes `array` to `path`.
    public static func write(_ array: NumPyArray, to path: String) throws {
        try writeFileBytes(encode(array), to: path)
    }

    /// Decodes an NPY file's bytes; `file` names it in errors.
    public static func decode(_ bytes: [UInt8], file: String) throws -> NumPyArray {
        do {
            return try decode(bytes)
        } catch var error as RuntimeError {
            if error.subject == nil { error.subject = "file '\(file)'" }
            throw error
        }
    }

    private static func decode(_ bytes: [UInt8]) throws -> NumPyArray {
        guard hasMagic(bytes) else {
            throw RuntimeError(bytes.isEmpty ? "is empty, not an NPY file" : "is not an NPY file (it does not start with \\x93NUMPY)")
        }
        let reader = ByteReader(bytes)
        guard bytes.count >= 8 else { throw RuntimeError("NPY file is truncated in its preamble") }
        let major = bytes[6]
        let headerLength: Int, headerStart: Int
        switch major {
        case 1:
            guard let n = reader.uint16(at: 8) else { throw RuntimeError("NPY file is truncated in its preamble") }
            headerLength = Int(n); headerStart = 10
        case 2, 3:
            guard let n = reader.uint32(at: 8) else { throw RuntimeError("NPY file is truncated in its preamble") }
            headerLength = Int(n); headerStart = 12
        default:
            throw RuntimeError("NPY format version \(major).\(bytes[7]) is not supported (1.0, 2.0 and 3.0 are)")
        }
        guard reader.has(headerLength, at: headerStart) else {
            throw RuntimeError("NPY header is truncated: it declares \(headerLength) bytes, the file has \(bytes.count - headerStart)")
        }
        let headerBytes = bytes[headerStart..<(headerStart + headerLength)]
        // Versions 1 and 2 are latin-1, 3 is UTF-8; both agree on the ASCII NumPy writes.
        let text = major == 3 ? String(decoding: headerBytes, as: UTF8.self)
                              : String(String.UnicodeScalarView(headerBytes.map { Unicode.Scalar($0) }))
        let header = try NPYHeader(parsing: text)
        guard !header.fortranOrder else {
            throw RuntimeError("holds a Fortran-order array, which is not supported; save a C-order array (np.ascontiguousarray)")
        }
        let type = try ElementType(descr: header.descr)
        var count = 1
        for d in header.shape {
            let (p, overflow) = count.multipliedReportingOverflow(by: d)
            guard !overflow else { throw RuntimeError("NPY shape \(header.shape) is too large") }
            count = p
        }
        let dataStart = headerStart + headerLength
        let available = bytes.count - dataStart
        let (needed, overflow) = count.multipliedReportingOverflow(by: type.size)
        guard !overflow, needed <= available else {
            throw RuntimeError("NPY data is truncated: shape \(header.shape) of \(type.name) needs \(overflow ? "more" : String(needed)) bytes, the file has \(available)")
        }
        guard needed == available else {
            throw RuntimeError("NPY file has \(available - needed) bytes after the data of shape \(header.shape) of \(type.name)")
        }
        let elements: NumPyArray.Elements
        switch type {
        case .float32: elements = .float32(copyLittleEndian(bytes, from: dataStart, count: count))
        case .uint8: elements = .uint8(Array(bytes[dataStart..<(dataStart + needed)]))
        case .int64: elements = .int64(copyLittleEndian(bytes, from: dataStart, count: count))
        }
        return NumPyArray(shape: header.shape, elements: elements)
    }

    /// `count` little-endian values of a fixed-width type from `bytes` at `start` (range checked by
    /// the caller); a plain copy on little-endian hosts.
    static func copyLittleEndian<T: FixedWidthInteger>(_ bytes: [UInt8], from start: Int, count: Int) -> [T] {
        [T](unsafeUninitializedCapacity: count) { buffer, initialized in
            bytes.withUnsafeBytes { raw in
                for i in 0..<count {
                    buffer[i] = T(littleEndian: raw.loadUnaligned(fromByteOffset: start + i * MemoryLayout<T>.size, as: T.self))
                }
            }
            initialized = count
        }
    }

    static func copyLittleEndian(_ bytes: [UInt8], from start: Int, count: Int) -> [Float] {
        let bits: [UInt32] = copyLittleEndian(bytes, from: start, count: count)
        return bits.map { Float(bitPattern: $0) }
    }

    /// The NPY bytes of `array`: version 1.0 (2.0 when the header needs it), C order, little endian,
    /// the header padded with spaces so that the data starts on a 64-byte boundary.
    public static func encode(_ array: NumPyArray) -> [UInt8] {
        let descr: String
        switch array.elements {
        case .float32: descr = "<f4"
        case .uint8: descr = "|u1"
        case .int64: descr = "<i8"
        }
        let text = NPYHeader(descr: descr, fortranOrder: false, shape: array.shape).text
        var version: UInt8 = 1
        var prefix = 10
        if text.utf8.count + 1 + prefix > 65535 { version = 2; prefix = 12 }
        let unpadded = prefix + text.utf8.count + 1
        let padding = (64 - unpadded % 64) % 64
        let header = Array(text.utf8) + [UInt8](repeating: 0x20, count: padding) + [0x0a]
        var bytes = magic + [version, 0]
        if version == 1 { bytes.appendLE(UInt16(header.count)) } else { bytes.appendLE(UInt32(header.count)) }
        bytes += header
        switch array.elements {
        case .float32(let v):
            bytes.reserveCapacity(bytes.count + 4 * v.count)
            for x in v { bytes.appendLE(x.bitPattern) }
        case .uint8(let v):
            bytes += v
        case .int64(let v):
            bytes.reserveCapacity(bytes.count + 8 * v.count)
            for x in v {
                let u = UInt64(bitPattern: x)
                bytes.appendLE(UInt32(truncatingIfNeeded: u))
                bytes.appendLE(UInt32(truncatingIfNeeded: u >> 32))
            }
        }
        return bytes
    }

    /// The element types s2dc reads, from an NPY `descr`.
    enum ElementType {
        case float32, uint8, int64

        var size: Int {
            switch self {
            case .float32: return 4
            case .uint8: return 1
            case .int64: return 8
            }
        }

        var name: String {
            switch self {
            case .float32: return "float32"
            case .uint8: return "uint8"
            case .int64: return "int64"
            }
        }

        init(descr: String) throws {
            switch descr {
            case "<f4", "=f4": self = .float32
            case "|u1", "<u1", "=u1", ">u1", "u1": self = .uint8
            case "<i8", "=i8": self = .int64
            case ">f4", ">i8":
                throw RuntimeError("holds big-endian data ('\(descr)'), which is not supported; save little-endian data (arr.astype('<\(descr.dropFirst())'))")
            default:
                throw RuntimeError("has dtype '\(descr)', which is not supported (float32 '<f4', uint8 '|u1' and int64 '<i8' are)")
            }
        }
    }
}
