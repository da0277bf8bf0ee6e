// ProtoDecoder: decodes ONNX protobuf (ModelProto, TensorProto) into the plain ONNXModel values.
import ONNXProto

/// Decodes ONNX files into `ONNXModel` / `ONNXTensor` values. This is the only place that reads
/// protobuf: it unpacks with protobuf-c, copies every field the importer needs into Swift values,
/// reads tensor data (raw, typed or external) and frees the C message before returning.
///
/// Every malformed input throws an `ONNXError` naming the file (and the node, for tensors inside
/// node attributes); no input makes it crash.
public enum ONNXDecoder {
    /// Decodes the model at `path`; external data is read relative to the model's directory.
    public static func decodeModel(fileAt path: String) throws -> ONNXModel {
        let context = DecodeContext(file: path, baseDirectory: directoryOf(path))
        // The file bytes are released as soon as protobuf-c has copied what it needs, so peak
        // memory is about two file sizes (unpacked message + Swift arrays), not three.
        let model = try unpackModel(readWholeFile(path), file: path)
        defer { onnx__model_proto__free_unpacked(model, nil) }
        return try convertModel(model.pointee, context: context)
    }

    /// Decodes a model from its serialized bytes. `file` names it in errors; `baseDirectory` is
    /// where external data lives (nil: a model with external data fails with an error).
    public static func decodeModel(bytes: [UInt8], file: String, baseDirectory: String?) throws -> ONNXModel {
        let context = DecodeContext(file: file, baseDirectory: baseDirectory)
        let model = try unpackModel(bytes, file: file)
        defer { onnx__model_proto__free_unpacked(model, nil) }
        return try convertModel(model.pointee, context: context)
    }

    /// Decodes a serialized TensorProto, as in the ONNX backend test data (input_0.pb, output_0.pb).
    public static func decodeTensor(fileAt path: String) throws -> ONNXTensor {
        try decodeTensor(bytes: readWholeFile(path), file: path, baseDirectory: directoryOf(path))
    }

    /// Decodes a TensorProto from its serialized bytes; `file` and `baseDirectory` as for models.
    public static func decodeTensor(bytes: [UInt8], file: String, baseDirectory: String?) throws -> ONNXTensor {
        guard !bytes.isEmpty else { throw ONNXError(file: file, "empty file (0 bytes): not an ONNX tensor") }
        let context = DecodeContext(file: file, baseDirectory: baseDirectory)
        guard let tensor = bytes.withUnsafeBufferPointer({ onnx__tensor_proto__unpack(nil, $0.count, $0.baseAddress) }) else {
            throw ONNXError(file: file, "not a valid ONNX tensor (protobuf parse failed)")
        }
        defer { onnx__tensor_proto__free_unpacked(tensor, nil) }
        let name = string(tensor.pointee.name)
        return try decodeTensorProto(tensor, site: TensorSite(context: context, node: nil, label: "tensor '\(name)'"))
    }
}

// MARK: - Model and graph

private func unpackModel(_ bytes: [UInt8], file: String) throws -> UnsafeMutablePointer<Onnx__ModelProto> {
    guard !bytes.isEmpty else { throw ONNXError(file: file, "empty file (0 bytes): not an ONNX model") }
    guard let model = bytes.withUnsafeBufferPointer({ onnx__model_proto__unpack(nil, $0.count, $0.baseAddress) }) else {
        throw ONNXError(file: file, "not a valid ONNX model (protobuf parse failed)")
    }
    return model
}

private func convertModel(_ m: Onnx__ModelProto, context: DecodeContext) throws -> ONNXModel {
    var opsets: [String: Int] = [:]
    for entry in cBuffer(m.opset_import, m.n_opset_import) {
        guard let entry else { continue }
        opsets[string(entry.pointee.domain)] = Int(entry.pointee.version)
    }
    guard let graph = m.graph else {
        throw ONNXError(file: context.file, "model has no graph (not an ONNX model, or a truncated one)")
    }
    let decoded = try convertGraph(graph.pointee, opsets: opsets, context: context)
    return ONNXModel(
        irVersion: m.has_ir_version != 0 ? m.ir_version : 0, opsets: opsets,
        producerName: string(m.producer_name), graph: decoded)
}

private func convertGraph(_ g: Onnx__GraphProto, opsets: [String: Int], context: DecodeContext) throws -> ONNXGraph {
    if let sparse = cBuffer(g.sparse_initializer, g.n_sparse_initializer).first {
        let name = sparse.flatMap { $0.pointee.values.map { string($0.pointee.name) } } ?? ""
        throw ONNXError(file: context.file, "sparse initializer '\(name)' is not supported")
    }
    var initializers: [ONNXTensor] = []
    initializers.reserveCapacity(g.n_initializer)
    for t in cBuffer(g.initializer, g.n_initializer) {
        guard let t else { continue }
        let site = TensorSite(context: context, node: nil, label: "initializer '\(string(t.pointee.name))'")
        initializers.append(try decodeTensorProto(t, site: site))
    }
    var nodes: [ONNXNode] = []
    nodes.reserveCapacity(g.n_node)
    for (index, n) in cBuffer(g.node, g.n_node).enumerated() {
        guard let n else { continue }
        nodes.append(try convertNode(n.pointee, index: index, opsets: opsets, context: context))
    }
    return ONNXGraph(
        name: string(g.name), nodes: nodes, initializers: initializers,
        inputs: cBuffer(g.input, g.n_input).compactMap { $0.map { convertValueInfo($0.pointee) } },
        outputs: cBuffer(g.output, g.n_output).compactMap { $0.map { convertValueInfo($0.pointee) } })
}

private func convertValueInfo(_ v: Onnx__ValueInfoProto) -> ONNXValueInfo {
    let name = string(v.name)
    guard let type = v.type, type.pointee.value_case == ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE,
        let tensorType = type.pointee.tensor_type
    else {
        return ONNXValueInfo(name: name, elementType: nil, dims: nil)
    }
    let t = tensorType.pointee
    let elementType = t.has_elem_type != 0 && t.elem_type != 0 ? ONNXDataType(code: t.elem_type) : nil
    guard let shape = t.shape else { return ONNXValueInfo(name: name, elementType: elementType, dims: nil) }
    let dims: [ONNXDim] = cBuffer(shape.pointee.dim, shape.pointee.n_dim).map { d in
        guard let d else { return .unknown }
        switch d.pointee.value_case {
        // Kept as written, negative too: the importer refuses a negative input size instead of
        // guessing what it meant (a -1 read as "unknown" once made a batch of 1).
        case ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE:
            return .value(Int(clamping: d.pointee.dim_value))
        case ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM:
            let param = string(d.pointee.dim_param)
            return param.isEmpty ? .unknown : .param(param)
        default: return .unknown
        }
    }
    return ONNXValueInfo(name: name, elementType: elementType, dims: dims)
}

// MARK: - Nodes and attributes

private func convertNode(_ n: Onnx__NodeProto, index: Int, opsets: [String: Int], context: DecodeContext) throws -> ONNXNode {
    let name = string(n.name)
    let opType = string(n.op_type)
    let domain = string(n.domain)
    // How errors name the node: its name (or position), op type and opset, as ONNXError asks.
    let opset = opsets[domain] ?? (domain == "ai.onnx" ? opsets[""] : nil)
    let label = "\(name.isEmpty ? "#\(index)" : name) (\(opType)\(opset.map { ", opset \($0)" } ?? ""))"
    var attributes: [String: ONNXAttribute] = [:]
    for a in cBuffer(n.attribute, n.n_attribute) {
        guard let a else { continue }
        let attrName = string(a.pointee.name)
        guard attributes[attrName] == nil else {
            throw ONNXError(file: context.file, node: label, "duplicate attribute '\(attrName)'")
        }
        attributes[attrName] = try convertAttribute(a.pointee, name: attrName, node: label, context: context)
    }
    return ONNXNode(
        name: name, opType: opType, domain: domain,
        inputs: cBuffer(n.input, n.n_input).map(string), outputs: cBuffer(n.output, n.n_output).map(string),
        attributes: attributes)
}

private func convertAttribute(_ a: Onnx__AttributeProto, name: String, node: String, context: DecodeContext) throws -> ONNXAttribute {
    var type = a.type.rawValue
    if a.has_type == 0 || type == 0 {
        // Files from before IR version 3 may omit the type; infer it from the field that is set.
        if a.has_f != 0 { type = 1 } else if a.has_i != 0 { type = 2 } else if a.has_s != 0 { type = 3 }
        else if a.t != nil { type = 4 } else if a.g != nil { type = 5 } else if a.n_floats > 0 { type = 6 }
        else if a.n_ints > 0 { type = 7 } else if a.n_strings > 0 { type = 8 } else if a.n_tensors > 0 { type = 9 }
        else if a.n_graphs > 0 { type = 10 } else if a.sparse_tensor != nil { type = 11 }
        else if a.n_sparse_tensors > 0 { type = 12 } else if a.tp != nil { type = 13 }
        else if a.n_type_protos > 0 { type = 14 }
        else { throw ONNXError(file: context.file, node: node, "attribute '\(name)' has no type and no value") }
    }
    switch type {
    case 1: return .float(a.f)
    case 2: return .int(a.i)
    case 3: return .string(string(a.s))
    case 4:
        guard let t = a.t else {
            throw ONNXError(file: context.file, node: node, "attribute '\(name)' is of type TENSOR but holds no tensor")
        }
        let tensorName = string(t.pointee.name)
        let label = "attribute '\(name)': tensor" + (tensorName.isEmpty ? "" : " '\(tensorName)'")
        return .tensor(try decodeTensorProto(t, site: TensorSite(context: context, node: node, label: label)))
    case 5: return .unsupported(kind: "graph")
    case 6: return .floats(Array(cBuffer(a.floats, a.n_floats)))
    case 7: return .ints(Array(cBuffer(a.ints, a.n_ints)))
    case 8: return .strings(cBuffer(a.strings, a.n_strings).map(string))
    case 9: return .unsupported(kind: "tensors")
    case 10: return .unsupported(kind: "graphs")
    case 11: return .unsupported(kind: "sparse tensor")
    case 12: return .unsupported(kind: "sparse tensors")
    case 13: return .unsupported(kind: "type proto")
    case 14: return .unsupported(kind: "type protos")
    default: return .unsupported(kind: "attribute type \(type)")
    }
}

// MARK: - C helpers

/// A protobuf-c repeated field as a buffer; empty when the count is 0 or the pointer is NULL.
@inline(__always)
func cBuffer<T>(_ base: UnsafeMutablePointer<T>?, _ count: Int) -> UnsafeBufferPointer<T> {
    guard let base, count > 0 else { return UnsafeBufferPointer(start: nil, count: 0) }
    return UnsafeBufferPointer(start: base, count: count)
}

/// A protobuf-c string field ("" when absent). Invalid UTF-8 is repaired, never trapped on.
func string(_ p: UnsafeMutablePointer<CChar>?) -> String {
    guard let p else { return "" }
    return String(cString: p)
}

/// A protobuf-c bytes field read as UTF-8 text (attribute strings are bytes in onnx.proto).
func string(_ b: ProtobufCBinaryData) -> String {
    guard let data = b.data, b.len > 0 else { return "" }
    return String(decoding: UnsafeBufferPointer(start: data, count: b.len), as: UTF8.self)
}
