// IDX: reads the IDX files of MNIST and Fashion-MNIST (optionally gzipped) as uint8 arrays.

/// The IDX format: magic 0x0000 08 NN (unsigned bytes, NN dimensions), NN big-endian 32-bit sizes,
/// then the data. Only unsigned-byte data (type 0x08) is read, which is what the MNIST family uses.
public enum IDX {
    /// The array in `path` (gzip-decompressed when it starts with the gzip magic).
    public static func read(fileAt path: String) throws -> NumPyArray {
        var bytes = try readFileBytes(path)
        if Gzip.hasMagic(bytes) { bytes = try Gzip.decompress(bytes, file: path) }
        return try decode(bytes, file: path)
    }

    /// Decodes IDX bytes; `file` names the source in errors.
    public static func decode(_ bytes: [UInt8], file: String) throws -> NumPyArray {
        guard bytes.count >= 4, bytes[0] == 0, bytes[1] == 0 else {
            throw RuntimeError.file(file, "not an IDX file (wrong magic number)")
        }
        guard bytes[2] == 0x08 else {
            throw RuntimeError.file(file, "IDX data type 0x\(String(bytes[2], radix: 16)) is not supported (only unsigned bytes, 0x08)")
        }
        let rank = Int(bytes[3])
        guard rank >= 1, bytes.count >= 4 + 4 * rank else { throw RuntimeError.file(file, "truncated IDX header") }
        var shape: [Int] = []
        for d in 0..<rank {
            let o = 4 + 4 * d
            shape.append(Int(bytes[o]) << 24 | Int(bytes[o + 1]) << 16 | Int(bytes[o + 2]) << 8 | Int(bytes[o + 3]))
        }
        let start = 4 + 4 * rank
        guard bytes.count - start == shape.elementCount else {
            throw RuntimeError.file(file, "IDX header says \(shape) (\(shape.elementCount) bytes of data) but the file holds \(bytes.count - start)")
        }
        return NumPyArray(shape: shape, elements: .uint8(Array(bytes[start...])))
    }
}
