// ProtoWriter: a minimal protobuf wire-format writer for the few ONNX messages the exporter emits.

/// One protobuf message being serialized: fields are appended in the order written.
///
/// Why not the protobuf-c structs used for reading: building them from Swift means allocating and
/// freeing every nested C array and string by hand; the exporter needs only five wire forms, and
/// its output is read back by the protobuf-c decoder and by `onnx.checker` in the tests.
struct ProtoMessage {
    private(set) var bytes: [UInt8] = []

    private mutating func appendVarint(_ value: UInt64) {
        var v = value
        while v >= 0x80 {
            bytes.append(UInt8(v & 0x7f) | 0x80)
            v >>= 7
        }
        bytes.append(UInt8(v))
    }

    private mutating func key(_ field: Int, wireType: UInt64) {
        appendVarint(UInt64(field) << 3 | wireType)
    }

    /// An int32/int64/enum/bool field (negative values as ten-byte two's complement varints).
    mutating func int(_ field: Int, _ value: Int) {
        key(field, wireType: 0)
        appendVarint(UInt64(bitPattern: Int64(value)))
    }

    /// A repeated int64 field, one entry per value (proto2's unpacked encoding, which ONNX declares).
    mutating func ints(_ field: Int, _ values: [Int]) {
        for v in values { int(field, v) }
    }

    /// A float field (fixed32, little-endian).
    mutating func float(_ field: Int, _ value: Float) {
        key(field, wireType: 5)
        withUnsafeBytes(of: value.bitPattern.littleEndian) { bytes.append(contentsOf: $0) }
    }

    /// A bytes field.
    mutating func data(_ field: Int, _ value: [UInt8]) {
        key(field, wireType: 2)
        appendVarint(UInt64(value.count))
        bytes.append(contentsOf: value)
    }

    /// A string field (UTF-8).
    mutating func string(_ field: Int, _ value: String) {
        data(field, Array(value.utf8))
    }

    /// An embedded message field.
    mutating func message(_ field: Int, _ value: ProtoMessage) {
        data(field, value.bytes)
    }
}
