// ONNXModel: a decoded ONNX model in plain Swift values, the boundary between protobuf and import.

/// An ONNX model decoded from protobuf, with tensor data already read (raw, typed or external).
/// Nothing here refers to protobuf-c; the importer turns it into an IR graph.
public struct ONNXModel: Sendable {
    public var irVersion: Int64
    /// Opset version per domain; the default domain is stored under "".
    public var opsets: [String: Int]
    public var producerName: String
    public var graph: ONNXGraph

    public init(irVersion: Int64, opsets: [String: Int], producerName: String, graph: ONNXGraph) {
        self.irVersion = irVersion
        self.opsets = opsets
        self.producerName = producerName
        self.graph = graph
    }

    /// The opset of the default ("" / "ai.onnx") domain.
    public var defaultOpset: Int { opsets[""] ?? opsets["ai.onnx"] ?? 1 }
}

/// The main graph of a model.
public struct ONNXGraph: Sendable {
    public var name: String
    public var nodes: [ONNXNode]
    public var initializers: [ONNXTensor]
    public var inputs: [ONNXValueInfo]
    public var outputs: [ONNXValueInfo]

    public init(name: String, nodes: [ONNXNode], initializers: [ONNXTensor], inputs: [ONNXValueInfo], outputs: [ONNXValueInfo]) {
        self.name = name
        self.nodes = nodes
        self.initializers = initializers
        self.inputs = inputs
        self.outputs = outputs
    }
}

/// One dimension of a declared value shape.
public enum ONNXDim: Hashable, Sendable {
    case value(Int)
    case param(String)
    case unknown
}

/// A declared graph input or output.
public struct ONNXValueInfo: Sendable {
    public var name: String
    /// The element type, nil when the type is not a tensor type or is absent.
    public var elementType: ONNXDataType?
    /// The declared shape, nil when absent.
    public var dims: [ONNXDim]?

    public init(name: String, elementType: ONNXDataType?, dims: [ONNXDim]?) {
        self.name = name
        self.elementType = elementType
        self.dims = dims
    }
}

/// ONNX TensorProto.DataType values (the ones s2dc knows by name; others keep their number).
public enum ONNXDataType: Hashable, Sendable, CustomStringConvertible {
    case float, uint8, int8, uint16, int16, int32, int64, string, bool, float16, double, uint32, uint64, bfloat16
    case other(Int32)

    public init(code: Int32) {
        switch code {
        case 1: self = .float
        case 2: self = .uint8
        case 3: self = .int8
        case 4: self = .uint16
        case 5: self = .int16
        case 6: self = .int32
        case 7: self = .int64
        case 8: self = .string
        case 9: self = .bool
        case 10: self = .float16
        case 11: self = .double
        case 12: self = .uint32
        case 13: self = .uint64
        case 16: self = .bfloat16
        default: self = .other(code)
        }
    }

    /// True for the types whose data decodes to floating point.
    public var isFloatingPoint: Bool {
        switch self {
        case .float, .float16, .double, .bfloat16: return true
        default: return false
        }
    }

    public var description: String {
        switch self {
        case .float: return "float32"
        case .uint8: return "uint8"
        case .int8: return "int8"
        case .uint16: return "uint16"
        case .int16: return "int16"
        case .int32: return "int32"
        case .int64: return "int64"
        case .string: return "string"
        case .bool: return "bool"
        case .float16: return "float16"
        case .double: return "float64"
        case .uint32: return "uint32"
        case .uint64: return "uint64"
        case .bfloat16: return "bfloat16"
        case .other(let c): return "data type \(c)"
        }
    }
}

/// Decoded tensor data: floating-point types widen or narrow to Float, integer and bool types to Int64.
public enum ONNXTensorData: Sendable {
    case floats([Float])
    case ints([Int64])
}

/// A decoded TensorProto.
public struct ONNXTensor: Sendable {
    public var name: String
    public var dims: [Int]
    public var dataType: ONNXDataType
    public var data: ONNXTensorData

    public init(name: String, dims: [Int], dataType: ONNXDataType, data: ONNXTensorData) {
        self.name = name
        self.dims = dims
        self.dataType = dataType
        self.data = data
    }
}

/// A decoded AttributeProto value.
public enum ONNXAttribute: Sendable {
    case float(Float)
    case int(Int64)
    case string(String)
    case tensor(ONNXTensor)
    case floats([Float])
    case ints([Int64])
    case strings([String])
    /// A graph, sparse tensor, type proto or list of them: s2dc reads none of these.
    case unsupported(kind: String)
}

/// A decoded NodeProto.
public struct ONNXNode: Sendable {
    public var name: String
    public var opType: String
    public var domain: String
    /// Input names; "" marks an omitted optional input.
    public var inputs: [String]
    public var outputs: [String]
    public var attributes: [String: ONNXAttribute]

    public init(name: String, opType: String, domain: String, inputs: [String], outputs: [String], attributes: [String: ONNXAttribute]) {
        self.name = name
        self.opType = opType
        self.domain = domain
        self.inputs = inputs
        self.outputs = outputs
        self.attributes = attributes
    }
}
