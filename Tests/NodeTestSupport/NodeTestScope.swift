// NodeTestScope: which ONNX node tests are in s2dc's op set, decided from the model, and the inputs to bind.
// Shared by the importer's and the runtime's node-test harnesses (a test target cannot import another).
import Foundation
import IR
import ONNX

/// The scope rule of the ONNX backend node tests, decided from the model alone (never from the
/// importer's answer, so that an importer bug cannot move a test out of scope).
public enum NodeTestScope {
    /// The ONNX op types of the IR op set, fixed here (not read from the importer) so that an op
    /// dropped from the importer's table fails the harnesses instead of quietly moving tests out of scope.
    public static let opSet: Set<String> = [
        "Conv", "BatchNormalization", "Relu", "LeakyRelu", "Clip", "Sigmoid", "HardSigmoid", "HardSwish",
        "Add", "Sub", "Mul", "Div", "Sum", "MaxPool", "AveragePool", "GlobalAveragePool", "ReduceMean", "LRN",
        "Gemm", "MatMul", "Flatten", "Reshape", "Transpose", "Concat", "Split", "Slice", "Pad", "Softmax",
        "Dropout", "Identity", "Squeeze", "Unsqueeze", "Gather", "Expand",
    ]
    /// Shape-arithmetic op types, evaluated at import; they must not read runtime data.
    public static let shapeArithmetic: Set<String> = ["Constant", "Shape", "Size", "ConstantOfShape", "Cast", "Range", "Equal", "Where"]

    /// Ops the importer never folds: they compute on IR (float32) values, so integer data there is
    /// outside the IR (a bound int8 input of MaxPool, an int32 input of Pad).
    public static let computeOnly: Set<String> = [
        "Conv", "BatchNormalization", "MaxPool", "AveragePool", "GlobalAveragePool", "ReduceMean", "LRN", "Gemm",
        "MatMul", "Pad", "Softmax", "Sigmoid", "Relu", "LeakyRelu", "HardSigmoid", "HardSwish",
    ]

    /// Inputs (by position) that the IR takes as attributes, so a test's graph input feeding one
    /// is bound as a constant even when it is float (Clip bounds, Pad value, Dropout ratio).
    public static let attributeInputs: [String: Set<Int>] = [
        "Reshape": [1], "Slice": [1, 2, 3, 4], "Pad": [1, 2, 3], "Clip": [1, 2], "Split": [1], "Squeeze": [1],
        "Unsqueeze": [1], "ReduceMean": [1], "Dropout": [1, 2], "Gather": [1], "Expand": [1],
        "ConstantOfShape": [0], "Range": [0, 1, 2],
    ]

    public struct Scope {
        public var reason: String?
        public var bound: [String: ONNXTensor] = [:]
    }

    /// Whether a node test is in s2dc's scope, decided from the model alone (not from the
    /// importer's answer), and the inputs to bind as constants: every non-float input and every
    /// input the IR takes as an attribute.
    public static func scope(_ model: ONNXModel, data: URL) -> Scope {
        let g = model.graph
        guard let opset = model.opsets[""] ?? model.opsets["ai.onnx"] else { return Scope(reason: "no default-domain opset") }
        if opset < ONNXImporter.supportedOpsets.lowerBound { return Scope(reason: "opset \(opset) below 7") }
        for node in g.nodes {
            if !node.domain.isEmpty && node.domain != "ai.onnx" { return Scope(reason: "op domain \(node.domain)") }
            if !opSet.contains(node.opType) && !shapeArithmetic.contains(node.opType) {
                return Scope(reason: "op \(node.opType) not in op set")
            }
        }
        var attributeFed = Set<String>()
        for node in g.nodes {
            for i in attributeInputs[node.opType] ?? [] where i < node.inputs.count { attributeFed.insert(node.inputs[i]) }
        }
        var scope = Scope()
        var constant = Set(g.initializers.map(\.name))
        // Values holding integer data: bound non-float inputs and what folds from them.
        var integer = Set(g.initializers.filter { !$0.dataType.isFloatingPoint }.map(\.name))
        let initializers = constant
        for (j, input) in g.inputs.enumerated() where !initializers.contains(input.name) {
            guard let type = input.elementType else { return Scope(reason: "input without tensor type") }
            let isFloat = type == .float || type == .float16 || type == .double
            if isFloat && !attributeFed.contains(input.name) { continue }
            switch type {
            case .string: return Scope(reason: "string input")
            case .other: return Scope(reason: "input of a float8/float4/int4/int2 type")
            default: break
            }
            let path = data.appendingPathComponent("input_\(j).pb").path
            guard let t = try? ONNXDecoder.decodeTensor(fileAt: path) else { return Scope(reason: "input without tensor data") }
            scope.bound[input.name] = t
            constant.insert(input.name)
            if !t.dataType.isFloatingPoint { integer.insert(input.name) }
        }
        if g.inputs.contains(where: { $0.elementType == .bfloat16 && scope.bound[$0.name] == nil }) {
            return Scope(reason: "bfloat16 runtime input")
        }
        // The importer refuses float64 graph inputs (IR values are float32).
        if g.inputs.contains(where: { $0.elementType == .double && scope.bound[$0.name] == nil }) {
            return Scope(reason: "float64 runtime input")
        }
        // Which values fold: constants in, constants out, for every op (Shape and Size always).
        for node in g.nodes {
            let inputs = node.inputs.filter { !$0.isEmpty }
            let attributePositions = attributeInputs[node.opType] ?? []
            let dataInputs = node.inputs.enumerated().filter { !$0.element.isEmpty && !attributePositions.contains($0.offset) }.map(\.element)
            if computeOnly.contains(node.opType), dataInputs.contains(where: integer.contains) {
                return Scope(reason: "integer data in \(node.opType)")
            }
            switch node.opType {
            case "Shape", "Size":
                integer.formUnion(node.outputs)
            case "Cast":
                if case .int(let to)? = node.attributes["to"], !ONNXDataType(code: Int32(truncatingIfNeeded: to)).isFloatingPoint {
                    integer.formUnion(node.outputs)
                }
            default:
                if dataInputs.contains(where: integer.contains) { integer.formUnion(node.outputs) }
            }
            let allConstant = inputs.allSatisfy(constant.contains)
            if node.opType == "Shape" || node.opType == "Size" || allConstant {
                constant.formUnion(node.outputs)
                continue
            }
            switch node.opType {
            case "Equal", "Where", "Range", "ConstantOfShape":
                return Scope(reason: "\(node.opType) on runtime data")
            case "Cast":
                if case .int(let to)? = node.attributes["to"], ![1, 10, 11].contains(to) {
                    let type = ONNXDataType(code: Int32(truncatingIfNeeded: to))
                    if case .other = type { return Scope(reason: "Cast of runtime data to a float8/float4/int4/int2 type") }
                    return Scope(reason: "Cast of runtime data to \(type)")
                }
            case "BatchNormalization":
                if case .int(1)? = node.attributes["training_mode"] { return Scope(reason: "training-mode BatchNormalization") }
            case "Dropout":
                if node.inputs.count > 2, !node.inputs[2].isEmpty { return Scope(reason: "training-mode Dropout") }
                if node.outputs.count > 1 { return Scope(reason: "Dropout mask output") }
            case "MaxPool":
                if node.outputs.count > 1, !node.outputs[1].isEmpty { return Scope(reason: "MaxPool Indices output") }
            default:
                break
            }
        }
        return scope
    }

    /// The node-test folder: $S2DC_NODE_TESTS, else .cache/onnx-node-tests under `repoRoot`.
    public static func directory(repoRoot: URL) -> URL {
        if let d = ProcessInfo.processInfo.environment["S2DC_NODE_TESTS"], !d.isEmpty { return URL(fileURLWithPath: d) }
        return repoRoot.appendingPathComponent(".cache/onnx-node-tests")
    }
}
