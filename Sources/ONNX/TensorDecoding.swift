// TensorDecoding: turns a protobuf-c TensorProto (raw, typed or external data) into an ONNXTensor.
import ONNXProto

#if !_endian(little)
#error("s2dc reads ONNX raw_data (little-endian) by bulk copy and assumes a little-endian host")
#endif

/// How one ONNX element type is stored and what it decodes to.
struct ElementLayout {
    /// Bytes per element in raw_data.
    var size: Int
    /// The typed field that carries it when raw_data is absent (for messages).
    var typedField: String
}

extension ONNXDataType {
    /// The layout of the types s2dc decodes; nil for strings and types it does not support.
    var layout: ElementLayout? {
        switch self {
        case .float: return ElementLayout(size: 4, typedField: "float_data")
        case .double: return ElementLayout(size: 8, typedField: "double_data")
        case .float16, .bfloat16: return ElementLayout(size: 2, typedField: "int32_data")
        case .int8, .uint8, .bool: return ElementLayout(size: 1, typedField: "int32_data")
        case .int16, .uint16: return ElementLayout(size: 2, typedField: "int32_data")
        case .int32: return ElementLayout(size: 4, typedField: "int32_data")
        case .int64: return ElementLayout(size: 8, typedField: "int64_data")
        case .uint32: return ElementLayout(size: 4, typedField: "uint64_data")
        case .uint64: return ElementLayout(size: 8, typedField: "uint64_data")
        case .string, .other: return nil
        }
    }
}

/// Converts an IEEE 754 half-precision bit pattern to Float, exactly (every half is a Float),
/// including subnormals, infinities and NaN payloads. Hand-written because Swift's Float16 is not
/// available on every platform s2dc builds on.
@inline(__always)
func floatFromHalfBits(_ h: UInt16) -> Float {
    let sign = UInt32(h & 0x8000) << 16
    let exponent = UInt32(h >> 10) & 0x1f
    let mantissa = UInt32(h & 0x3ff)
    if exponent == 0 {
        // Zero or subnormal: mantissa · 2⁻²⁴, exact in Float.
        let magnitude = Float(mantissa) * 0x1p-24
        return sign != 0 ? -magnitude : magnitude
    }
    if exponent == 0x1f {
        return Float(bitPattern: sign | 0x7f80_0000 | (mantissa << 13))
    }
    return Float(bitPattern: sign | ((exponent + 112) << 23) | (mantissa << 13))
}

/// bfloat16 is the top half of a float32.
@inline(__always)
func floatFromBFloat16Bits(_ b: UInt16) -> Float {
    Float(bitPattern: UInt32(b) << 16)
}

/// Where a tensor sits, for error messages: the file, the node (if any) and a label such as
/// "initializer 'conv1.weight'" or "attribute 'value': tensor".
struct TensorSite {
    var context: DecodeContext
    var node: String?
    var label: String

    func error(_ message: String) -> ONNXError {
        ONNXError(file: context.file, node: node, "\(label): \(message)")
    }
}

/// Decodes one TensorProto. `site.label` should already name the tensor.
func decodeTensorProto(_ t: UnsafePointer<Onnx__TensorProto>, site: TensorSite) throws -> ONNXTensor {
    let p = t.pointee
    let name = string(p.name)
    guard p.has_data_type != 0, p.data_type != 0 else {
        throw site.error("tensor has no data type")
    }
    let dataType = ONNXDataType(code: p.data_type)
    var dims: [Int] = []
    dims.reserveCapacity(Int(p.n_dims))
    var count = 1
    for d in cBuffer(p.dims, p.n_dims) {
        guard d >= 0 else {
            throw site.error("negative dimension \(d) in dims \(cBuffer(p.dims, p.n_dims).map { $0 })")
        }
        let (product, overflow) = count.multipliedReportingOverflow(by: Int(d))
        guard !overflow else {
            throw site.error("dims \(cBuffer(p.dims, p.n_dims).map { $0 }) overflow: the element count does not fit in 64 bits")
        }
        dims.append(Int(d))
        count = product
    }
    if dataType == .string {
        throw site.error("string tensors are not supported")
    }
    guard let layout = dataType.layout else {
        throw site.error("tensor data type \(dataType) is not supported")
    }
    let (byteCount, overflow) = count.multipliedReportingOverflow(by: layout.size)
    guard !overflow else {
        throw site.error("dims \(dims) overflow: \(count) \(dataType) values do not fit in memory")
    }
    let shapeText = "\(count) \(dataType) value\(count == 1 ? "" : "s"), dims \(dims)"

    let data: ONNXTensorData
    if p.has_data_location != 0, p.data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL {
        let bytes = try readExternalData(p, expectedBytes: byteCount, site: site)
        data = bytes.withUnsafeBytes { convertRaw($0, count: count, type: dataType) }
    } else if p.has_raw_data != 0 {
        let raw = p.raw_data
        guard raw.len == byteCount else {
            throw site.error("raw_data has \(raw.len) bytes, expected \(byteCount) (\(shapeText))")
        }
        data = convertRaw(UnsafeRawBufferPointer(start: raw.data, count: byteCount), count: count, type: dataType)
    } else {
        data = try convertTyped(p, count: count, type: dataType, layout: layout, shapeText: shapeText, site: site)
    }
    return ONNXTensor(name: name, dims: dims, dataType: dataType, data: data)
}

/// Converts little-endian raw bytes (already checked to hold `count` elements) to Float or Int64.
func convertRaw(_ raw: UnsafeRawBufferPointer, count: Int, type: ONNXDataType) -> ONNXTensorData {
    guard count > 0, let base = raw.baseAddress else {
        return type.isFloatingPoint ? .floats([]) : .ints([])
    }
    // float32 and int64 are stored exactly as Swift stores them: one bulk copy, no element loop.
    func bulk<T>(_: T.Type) -> [T] {
        [T](unsafeUninitializedCapacity: count) { buffer, initialized in
            UnsafeMutableRawPointer(buffer.baseAddress!).copyMemory(from: base, byteCount: count * MemoryLayout<T>.stride)
            initialized = count
        }
    }
    func map<S, R>(_: S.Type, _ f: (S) -> R) -> [R] {
        [R](unsafeUninitializedCapacity: count) { buffer, initialized in
            for i in 0..<count {
                buffer[i] = f(base.loadUnaligned(fromByteOffset: i * MemoryLayout<S>.size, as: S.self))
            }
            initialized = count
        }
    }
    switch type {
    case .float: return .floats(bulk(Float.self))
    case .double: return .floats(map(Double.self) { Float($0) })
    case .float16: return .floats(map(UInt16.self, floatFromHalfBits))
    case .bfloat16: return .floats(map(UInt16.self, floatFromBFloat16Bits))
    case .int64: return .ints(bulk(Int64.self))
    case .int32: return .ints(map(Int32.self) { Int64($0) })
    case .int16: return .ints(map(Int16.self) { Int64($0) })
    case .int8: return .ints(map(Int8.self) { Int64($0) })
    case .uint8: return .ints(map(UInt8.self) { Int64($0) })
    case .uint16: return .ints(map(UInt16.self) { Int64($0) })
    case .uint32: return .ints(map(UInt32.self) { Int64($0) })
    // uint64 values above Int64.max keep their bit pattern; s2dc reads uint64 tensors only as
    // shapes or indices, where such values are meaningless anyway.
    case .uint64: return .ints(map(UInt64.self) { Int64(bitPattern: $0) })
    case .bool: return .ints(map(UInt8.self) { $0 != 0 ? 1 : 0 })
    case .string, .other: return .ints([])  // rejected by the caller before this point
    }
}

/// Converts the typed repeated field that carries `type`, checking its length against the dims.
private func convertTyped(
    _ p: Onnx__TensorProto, count: Int, type: ONNXDataType, layout: ElementLayout, shapeText: String,
    site: TensorSite
) throws -> ONNXTensorData {
    func check(_ n: Int) throws {
        guard n == count else {
            throw site.error("\(layout.typedField) has \(n) value\(n == 1 ? "" : "s"), expected \(count) (\(shapeText))")
        }
    }
    switch type {
    case .float:
        let b = cBuffer(p.float_data, p.n_float_data)
        try check(b.count)
        return .floats(Array(b))
    case .double:
        let b = cBuffer(p.double_data, p.n_double_data)
        try check(b.count)
        return .floats(b.map { Float($0) })
    case .int64:
        let b = cBuffer(p.int64_data, p.n_int64_data)
        try check(b.count)
        return .ints(Array(b))
    case .uint32, .uint64:
        let b = cBuffer(p.uint64_data, p.n_uint64_data)
        try check(b.count)
        return .ints(b.map { Int64(bitPattern: $0) })
    default:
        // Every narrower type travels in int32_data, one element per entry; narrow the way
        // numpy's astype does (onnx.numpy_helper.to_array), so values agree with onnx's reader.
        let b = cBuffer(p.int32_data, p.n_int32_data)
        try check(b.count)
        switch type {
        case .float16: return .floats(b.map { floatFromHalfBits(UInt16(truncatingIfNeeded: $0)) })
        case .bfloat16: return .floats(b.map { floatFromBFloat16Bits(UInt16(truncatingIfNeeded: $0)) })
        case .int8: return .ints(b.map { Int64(Int8(truncatingIfNeeded: $0)) })
        case .uint8: return .ints(b.map { Int64(UInt8(truncatingIfNeeded: $0)) })
        case .int16: return .ints(b.map { Int64(Int16(truncatingIfNeeded: $0)) })
        case .uint16: return .ints(b.map { Int64(UInt16(truncatingIfNeeded: $0)) })
        case .bool: return .ints(b.map { $0 != 0 ? 1 : 0 })
        default: return .ints(b.map { Int64($0) })
        }
    }
}
