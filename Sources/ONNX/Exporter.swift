// Exporter: writes an IR graph as an ONNX model (opset 17) that onnx.checker and onnxruntime accept.

import IR
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes IR graphs as ONNX models.
///
/// - Opset 17 of the default domain, IR version 8. Every IR op maps to one ONNX node, except a conv
///   with a fused activation, which expands back to Conv followed by the activation node.
/// - Constants become initializers with `raw_data` (float32, little-endian); attributes that ONNX
///   takes as inputs (Reshape's shape, Slice's starts…, Split's sizes, Pad's pads, Clip's bounds)
///   become extra int64 or float initializers named after their node.
/// - A symbolic batch dimension is written as `dim_param`.
///
/// A staged graph (split-stages, insert-exits) is written as the dynamic model of
/// DynamicExporter.swift: an If chain with real early exit, at batch 1.
///
/// Graphs with elided constants cannot be exported, and neither can what opset 17 lacks
/// (AveragePool with dilations, Pad in wrap mode).
public enum ONNXExporter {
    public static let opsetVersion = 17
    public static let irVersion = 8

    /// The serialized ModelProto of `graph`. `file` names the destination in errors.
    public static func modelBytes(_ graph: Graph, file: String = "<memory>") throws -> [UInt8] {
        var builder = GraphBuilder(graph: graph, file: file)
        // A staged graph becomes one If chain that leaves at the first confident exit (DynamicExporter.swift).
        let graphMessage = try graph.stageInfo.map { try builder.buildStaged($0) } ?? builder.build()
        var model = ProtoMessage()
        model.int(1, irVersion)
        model.string(2, "s2dc")
        model.string(3, "0.1.0")
        model.message(7, graphMessage)
        var opset = ProtoMessage()
        opset.string(1, "")
        opset.int(2, opsetVersion)
        model.message(8, opset)
        return model.bytes
    }

    /// Writes `graph` to `path` atomically: a temporary file in the same directory, renamed over
    /// `path` only once it is complete, so a failure never leaves a half-written model.
    public static func export(_ graph: Graph, to path: String) throws {
        try writeAtomically(try modelBytes(graph, file: path), to: path)
    }
}

/// ONNX TensorProto.DataType values used here.
enum DataType {
    static let float = 1
    static let int64 = 7
    static let bool = 9
}

/// ONNX AttributeProto.AttributeType values used here.
enum AttributeType {
    static let float = 1
    static let int = 2
    static let string = 3
    static let tensor = 4
    static let graph = 5
    static let ints = 7
}

/// Builds the GraphProto, keeping the names of extra initializers and values unique. `emit`
/// appends one IR node's ONNX nodes to `nodes` (the dynamic exporter swaps `nodes` to fill the
/// branches of its If chain) and its extra initializers to the top level's `initializers`.
struct GraphBuilder {
    let graph: Graph
    let file: String
    var message = ProtoMessage()
    var initializers: [ProtoMessage] = []
    var nodes: [ProtoMessage] = []
    var used: Set<String>

    init(graph: Graph, file: String) {
        self.graph = graph
        self.file = file
        used = Set(graph.types.keys)
    }

    mutating func build() throws -> ProtoMessage {
        try addConstants()
        for node in graph.nodes { try emit(node) }

        var g = ProtoMessage()
        for n in nodes { g.message(1, n) }
        g.string(2, graph.name.isEmpty ? "main" : graph.name)
        for t in initializers { g.message(5, t) }
        for input in graph.inputs { g.message(11, Self.valueInfo(input.name, input.type)) }
        for output in graph.outputs {
            guard let type = graph.types[output] else { throw ONNXError(file: file, "graph output '\(output)' is not defined") }
            g.message(12, Self.valueInfo(output, type))
        }
        return g
    }

    /// Every constant of the graph as an initializer.
    mutating func addConstants() throws {
        for name in graph.constantNames { try addConstant(name) }
    }

    /// The constant `name` as an initializer (of the scope `initializers` holds).
    mutating func addConstant(_ name: String) throws {
        guard let t = graph.constants[name] else { return }
        guard !t.isElided else {
            throw ONNXError(file: file, "constant '\(name)' has no data (elided); export needs every weight")
        }
        initializers.append(Self.floatTensor(name, shape: t.shape, scalars: t.scalars))
    }

    // MARK: Nodes

    mutating func emit(_ node: Node) throws {
        if let activation = node.op.activation {
            // ONNX has no epilogues: the op writes a fresh value, and the activation node writes the
            // op's IR output.
            let pre = fresh(node.outputs[0] + "_preact")
            try emit(Node(name: node.name, op: node.op.withoutActivation, inputs: node.inputs, outputs: [pre]))
            try emit(Node(name: node.name + "/activation", op: activation.op, inputs: [pre], outputs: node.outputs))
            return
        }
        let file = self.file
        let fail = { (message: String) in ONNXError(file: file, node: "'\(node.name)' (\(node.op.name))", message) }
        var inputs = node.inputs
        let outputs = node.outputs
        var attributes: [ProtoMessage] = []
        let type: String
        switch node.op {
        case .conv(let a):
            type = "Conv"
            attributes = [Self.ints("kernel_shape", a.kernel), Self.ints("strides", a.strides),
                          Self.ints("pads", a.pads), Self.ints("dilations", a.dilations), Self.int("group", a.group)]
        case .batchNormalization(let epsilon, _):
            type = "BatchNormalization"
            attributes = [Self.float("epsilon", epsilon)]
        case .relu: type = "Relu"
        case .leakyRelu(let alpha):
            type = "LeakyRelu"
            attributes = [Self.float("alpha", alpha)]
        case .clip(let lo, let hi):
            type = "Clip"
            // Absent bounds are left out: "" skips the optional min input.
            let minName = lo == -.infinity ? "" : addScalar(node.name + "_min", lo)
            inputs.append(minName)
            if hi != .infinity { inputs.append(addScalar(node.name + "_max", hi)) }
            while inputs.last == "" { inputs.removeLast() }
        case .sigmoid: type = "Sigmoid"
        case .hardSigmoid(let alpha, let beta):
            type = "HardSigmoid"
            attributes = [Self.float("alpha", alpha), Self.float("beta", beta)]
        case .hardSwish: type = "HardSwish"
        case .add: type = "Add"
        case .sub: type = "Sub"
        case .mul: type = "Mul"
        case .div: type = "Div"
        case .maxPool(let a):
            type = "MaxPool"
            attributes = [Self.ints("kernel_shape", a.kernel), Self.ints("strides", a.strides), Self.ints("pads", a.pads),
                          Self.ints("dilations", a.dilations), Self.int("ceil_mode", a.ceilMode ? 1 : 0)]
        case .averagePool(let a):
            type = "AveragePool"
            guard a.dilations.allSatisfy({ $0 == 1 }) else {
                throw fail("AveragePool with dilations \(a.dilations) needs opset 19; the exporter writes opset 17")
            }
            attributes = [Self.ints("kernel_shape", a.kernel), Self.ints("strides", a.strides), Self.ints("pads", a.pads),
                          Self.int("ceil_mode", a.ceilMode ? 1 : 0), Self.int("count_include_pad", a.countIncludePad ? 1 : 0)]
        case .globalAveragePool: type = "GlobalAveragePool"
        case .reduceMean(let axes, let keepDims):
            type = "ReduceMean"
            attributes = [Self.int("keepdims", keepDims ? 1 : 0)]
            if !axes.isEmpty { attributes.insert(Self.ints("axes", axes), at: 0) }
        case .lrn(let size, let alpha, let beta, let bias):
            type = "LRN"
            attributes = [Self.int("size", size), Self.float("alpha", alpha), Self.float("beta", beta), Self.float("bias", bias)]
        case .gemm(let a):
            type = "Gemm"
            attributes = [Self.float("alpha", a.alpha), Self.float("beta", a.beta),
                          Self.int("transA", a.transA ? 1 : 0), Self.int("transB", a.transB ? 1 : 0)]
        case .matMul: type = "MatMul"
        case .flatten(let axis):
            type = "Flatten"
            attributes = [Self.int("axis", axis)]
        case .reshape(let shape, let allowZero):
            type = "Reshape"
            inputs.append(addInt64s(node.name + "_shape", shape))
            attributes = [Self.int("allowzero", allowZero ? 1 : 0)]
        case .transpose(let perm):
            type = "Transpose"
            attributes = [Self.ints("perm", perm)]
        case .concat(let axis):
            type = "Concat"
            attributes = [Self.int("axis", axis)]
        case .split(let axis, let sizes):
            type = "Split"
            inputs.append(addInt64s(node.name + "_split", sizes))
            attributes = [Self.int("axis", axis)]
        case .slice(let starts, let ends, let axes, let steps):
            type = "Slice"
            inputs += [addInt64s(node.name + "_starts", starts), addInt64s(node.name + "_ends", ends),
                       addInt64s(node.name + "_axes", axes), addInt64s(node.name + "_steps", steps)]
        case .pad(let pads, let mode, let value):
            type = "Pad"
            guard mode != .wrap else { throw fail("Pad in wrap mode needs opset 19; the exporter writes opset 17") }
            inputs.append(addInt64s(node.name + "_pads", pads))
            if mode == .constant { inputs.append(addScalar(node.name + "_value", value)) }
            attributes = [Self.string("mode", mode.rawValue)]
        case .softmax(let axis):
            type = "Softmax"
            attributes = [Self.int("axis", axis)]
        case .dropout(let ratio):
            type = "Dropout"
            inputs.append(addScalar(node.name + "_ratio", ratio))
        case .identity: type = "Identity"
        }
        nodes.append(Self.node(node.name, type, inputs, outputs, attributes))
    }

    /// A name no value of the graph or of the export uses yet.
    mutating func fresh(_ base: String) -> String {
        var name = base
        var i = 1
        while used.contains(name) {
            name = "\(base)_\(i)"
            i += 1
        }
        used.insert(name)
        return name
    }

    mutating func addScalar(_ base: String, _ value: Float) -> String {
        let name = fresh(base)
        initializers.append(Self.floatTensor(name, shape: [], scalars: [value]))
        return name
    }

    mutating func addInt64s(_ base: String, _ values: [Int]) -> String {
        let name = fresh(base)
        initializers.append(Self.int64Tensor(name, values))
        return name
    }

    // MARK: Messages

    static func node(_ name: String, _ type: String, _ inputs: [String], _ outputs: [String],
                     _ attributes: [ProtoMessage]) -> ProtoMessage {
        var n = ProtoMessage()
        for i in inputs { n.string(1, i) }
        for o in outputs { n.string(2, o) }
        n.string(3, name)
        n.string(4, type)
        for a in attributes { n.message(5, a) }
        return n
    }

    /// A rank-1 int64 tensor.
    static func int64Tensor(_ name: String, _ values: [Int]) -> ProtoMessage {
        var t = ProtoMessage()
        t.ints(1, [values.count])
        t.int(2, DataType.int64)
        t.string(8, name)
        var raw: [UInt8] = []
        raw.reserveCapacity(values.count * 8)
        for v in values { withUnsafeBytes(of: Int64(v).littleEndian) { raw.append(contentsOf: $0) } }
        t.data(9, raw)
        return t
    }

    static func floatTensor(_ name: String, shape: [Int], scalars: [Float]) -> ProtoMessage {
        var t = ProtoMessage()
        t.ints(1, shape)
        t.int(2, DataType.float)
        t.string(8, name)
        var raw = [UInt8](repeating: 0, count: scalars.count * 4)
        raw.withUnsafeMutableBytes { out in
            for (i, x) in scalars.enumerated() { out.storeBytes(of: x.bitPattern.littleEndian, toByteOffset: 4 * i, as: UInt32.self) }
        }
        t.data(9, raw)
        return t
    }

    static func valueInfo(_ name: String, _ type: TensorType, elementType: Int = DataType.float) -> ProtoMessage {
        var shape = ProtoMessage()
        for d in type.dims {
            var dim = ProtoMessage()
            switch d {
            case .fixed(let v): dim.int(1, v)
            case .symbol(let s): dim.string(2, s)
            }
            shape.message(1, dim)
        }
        var tensor = ProtoMessage()
        tensor.int(1, elementType)
        tensor.message(2, shape)
        var typeProto = ProtoMessage()
        typeProto.message(1, tensor)
        var info = ProtoMessage()
        info.string(1, name)
        info.message(2, typeProto)
        return info
    }

    /// An AttributeProto named `name` of `type`, its value set by `value`.
    static func attribute(_ name: String, _ type: Int, _ value: (inout ProtoMessage) -> Void) -> ProtoMessage {
        var a = ProtoMessage()
        a.string(1, name)
        value(&a)
        a.int(20, type)
        return a
    }

    static func int(_ name: String, _ value: Int) -> ProtoMessage { attribute(name, AttributeType.int) { $0.int(3, value) } }
    static func ints(_ name: String, _ values: [Int]) -> ProtoMessage { attribute(name, AttributeType.ints) { $0.ints(8, values) } }
    static func float(_ name: String, _ value: Float) -> ProtoMessage { attribute(name, AttributeType.float) { $0.float(2, value) } }
    static func string(_ name: String, _ value: String) -> ProtoMessage { attribute(name, AttributeType.string) { $0.string(4, value) } }
    static func tensorAttribute(_ name: String, _ value: ProtoMessage) -> ProtoMessage { attribute(name, AttributeType.tensor) { $0.message(5, value) } }
    static func graphAttribute(_ name: String, _ value: ProtoMessage) -> ProtoMessage { attribute(name, AttributeType.graph) { $0.message(6, value) } }
}
