// Verifier: checks that a graph is well formed (definitions, order, arity, types, attributes).

/// Checks the invariants every pass must keep: each value defined exactly once, nodes in
/// topological order, op arities, recorded types equal to re-run shape inference, constants whose
/// data fits their shape, only a leading symbolic (batch) dimension, and attribute values that
/// shape inference does not already reject. Tests run it after every pass.
///
/// The graph's mutation API already refuses most of these mistakes; the verifier re-checks them
/// from scratch so that a bug in that API, in the text parser, or in a pass is caught where it
/// happens and not in a backend.
public enum Verifier {
    /// Throws the first problem found, naming the node where there is one.
    public static func verify(_ graph: Graph) throws {
        if let first = diagnostics(graph).first { throw first }
    }

    /// Every problem found, in graph order (inputs, constants, nodes, outputs); empty when the
    /// graph is well formed.
    public static func diagnostics(_ graph: Graph) -> [IRError] {
        diagnostics(Parts(graph))
    }

    /// The graph's fields, copied so that tests can break invariants the `Graph` API protects.
    struct Parts {
        var inputs: [GraphInput]
        var outputs: [String]
        var constants: [String: Tensor]
        var constantNames: [String]
        var nodes: [Node]
        var types: [String: TensorType]
        var stageInfo: StageInfo?

        init(_ g: Graph) {
            inputs = g.inputs
            outputs = g.outputs
            constants = g.constants
            constantNames = g.constantNames
            nodes = g.nodes
            types = g.types
            stageInfo = g.stageInfo
        }
    }

    static func diagnostics(_ g: Parts) -> [IRError] {
        var errors: [IRError] = []
        // Values defined so far, walking inputs, constants, then nodes in order.
        var defined = Set<String>()
        func define(_ value: String, what: String, node: String? = nil) {
            if value.isEmpty {
                errors.append(IRError("\(what) has an empty name", node: node))
            } else if !defined.insert(value).inserted {
                errors.append(IRError("value '\(value)' is defined twice (again as \(what))", node: node))
            }
        }
        // Lets an input defined too late be told apart from one never defined.
        let nodeOutputs = Set(g.nodes.flatMap(\.outputs))

        for input in g.inputs {
            define(input.name, what: "graph input")
            checkValueType(input.type, of: input.name, node: nil, into: &errors)
            if g.types[input.name] != input.type {
                errors.append(IRError("graph input '\(input.name)' is \(input.type) but its recorded type is \(describe(g.types[input.name]))"))
            }
        }

        checkConstantTable(g, into: &errors)
        for name in g.constantNames {
            define(name, what: "constant")
            guard let tensor = g.constants[name] else { continue }
            checkConstant(tensor, name: name, recorded: g.types[name], into: &errors)
        }

        for (index, node) in g.nodes.enumerated() {
            let before = errors.count
            checkNodeStructure(node, index: index, defined: defined, nodeOutputs: nodeOutputs, into: &errors)
            for out in node.outputs { define(out, what: "output of node '\(node.name)'", node: node.name) }
            // Types are only worth re-inferring when the node's wiring is sound.
            if errors.count == before { checkNodeTypes(node, g, into: &errors) }
            checkAttributes(node, g, into: &errors)
        }
        checkStages(g, into: &errors)

        for name in g.types.keys.sorted() where !defined.contains(name) {
            errors.append(IRError("a type is recorded for '\(name)', which nothing defines"))
        }

        if g.outputs.isEmpty { errors.append(IRError("the graph has no outputs")) }
        var seenOutputs = Set<String>()
        for out in g.outputs {
            if !defined.contains(out) { errors.append(IRError("graph output '\(out)' is not defined")) }
            if !seenOutputs.insert(out).inserted { errors.append(IRError("graph output '\(out)' is listed twice")) }
        }
        return errors
    }

    // MARK: Values

    private static func describe(_ t: TensorType?) -> String { t.map(\.description) ?? "missing" }

    /// Sizes are non-negative, and only the leading dimension may be a symbol (DESIGN: "The IR").
    static func checkValueType(_ t: TensorType, of value: String, node: String?, into errors: inout [IRError]) {
        for (i, d) in t.dims.enumerated() {
            switch d {
            case .fixed(let v) where v < 0:
                errors.append(IRError("'\(value)' has negative size \(v) in \(t)", node: node))
            case .symbol(let s) where i > 0:
                errors.append(IRError("'\(value)' has symbolic dimension '\(s)' at position \(i) of \(t); only the leading (batch) dimension may be symbolic", node: node))
            case .symbol(let s) where s.isEmpty:
                errors.append(IRError("'\(value)' has an empty symbol in \(t)", node: node))
            default:
                break
            }
        }
    }

    /// `constants` and `constantNames` must list the same names, each once.
    private static func checkConstantTable(_ g: Parts, into errors: inout [IRError]) {
        for name in g.constantNames where g.constants[name] == nil {
            errors.append(IRError("constant '\(name)' is listed but has no tensor"))
        }
        let listed = Set(g.constantNames)
        for name in g.constants.keys.sorted() where !listed.contains(name) {
            errors.append(IRError("constant '\(name)' has a tensor but is not listed"))
        }
    }

    private static func checkConstant(_ t: Tensor, name: String, recorded: TensorType?, into errors: inout [IRError]) {
        if t.shape.contains(where: { $0 < 0 }) {
            errors.append(IRError("constant '\(name)' has a negative dimension in shape \(t.shape)"))
            return
        }
        if t.isElided {
            if !t.scalars.isEmpty { errors.append(IRError("constant '\(name)' is elided but holds \(t.scalars.count) scalars")) }
        } else {
            let expected = try? ShapeInference.checkedProduct(t.shape, what: "constant '\(name)'")
            if t.scalars.count != expected {
                errors.append(IRError("constant '\(name)' of shape \(t.shape) holds \(t.scalars.count) scalars"))
            }
        }
        if recorded != t.type {
            errors.append(IRError("constant '\(name)' is \(t.type) but its recorded type is \(describe(recorded))"))
        }
    }

    // MARK: Nodes

    private static func checkNodeStructure(_ node: Node, index: Int, defined: Set<String>, nodeOutputs: Set<String>,
                                           into errors: inout [IRError]) {
        let name = node.name
        if name.isEmpty { errors.append(IRError("node #\(index) (\(node.op.name)) has an empty name")) }
        if !node.op.inputArity.contains(node.inputs.count) {
            let r = node.op.inputArity
            let want = r.upperBound == Int.max ? "at least \(r.lowerBound)" : r.lowerBound == r.upperBound ? "\(r.lowerBound)" : "\(r.lowerBound) to \(r.upperBound)"
            errors.append(IRError("\(node.op.name) takes \(want) inputs, node lists \(node.inputs.count)", node: name))
        }
        if node.outputs.count != node.op.outputCount {
            errors.append(IRError("\(node.op.name) produces \(node.op.outputCount) outputs, node lists \(node.outputs.count)", node: name))
        }
        for input in node.inputs where !defined.contains(input) {
            errors.append(IRError(nodeOutputs.contains(input) ? "input '\(input)' is defined after this node (nodes out of topological order)"
                                                                : "input '\(input)' is not defined", node: name))
        }
    }

    /// Re-runs shape inference on the recorded input types and compares with the recorded outputs.
    private static func checkNodeTypes(_ node: Node, _ g: Parts, into errors: inout [IRError]) {
        var inputTypes: [TensorType] = []
        for input in node.inputs {
            guard let t = g.types[input] else {
                errors.append(IRError("input '\(input)' has no recorded type", node: node.name))
                return
            }
            inputTypes.append(t)
        }
        let inferred: [TensorType]
        do {
            inferred = try ShapeInference.outputTypes(of: node, inputTypes: inputTypes)
        } catch let error as IRError {
            errors.append(error)
            return
        } catch {
            errors.append(IRError("shape inference failed: \(error)", node: node.name))
            return
        }
        for (out, want) in zip(node.outputs, inferred) {
            guard let have = g.types[out] else {
                errors.append(IRError("output '\(out)' has no recorded type (inferred \(want))", node: node.name))
                continue
            }
            checkValueType(have, of: out, node: node.name, into: &errors)
            if have != want {
                errors.append(IRError("output '\(out)' is recorded as \(have) but inference gives \(want)", node: node.name))
            }
        }
    }
}

// MARK: Attributes

extension Verifier {
    /// Attribute values that shape inference accepts but no runtime can honour. Infinite bounds are
    /// fine where the op allows them (clip, pad value); NaN never is, also because it would make a
    /// graph unequal to itself after a print/parse round trip.
    static func checkAttributes(_ node: Node, _ g: Parts, into errors: inout [IRError]) {
        func fail(_ message: String) { errors.append(IRError(message, node: node.name)) }
        func finite(_ value: Float, _ what: String) {
            if !value.isFinite { fail("\(node.op.name) \(what) must be finite, got \(value)") }
        }
        switch node.op.activation {
        case .leakyRelu(let alpha)?:
            finite(alpha, "fused leaky_relu alpha")
        case .clip(let lo, let hi)?:
            if lo.isNaN || hi.isNaN { fail("fused clip bounds must not be NaN, got [\(lo), \(hi)]") }
            else if lo > hi { fail("fused clip min \(lo) is greater than max \(hi)") }
        case .relu?, .hardSwish?, nil:
            break
        }
        switch node.op {
        case .batchNormalization(let epsilon, _):
            if !(epsilon.isFinite && epsilon >= 0) { fail("batch_norm epsilon must be finite and >= 0, got \(epsilon)") }
        case .leakyRelu(let alpha):
            finite(alpha, "alpha")
        case .clip(let lo, let hi):
            if lo.isNaN || hi.isNaN { fail("clip bounds must not be NaN, got [\(lo), \(hi)]") }
            // NumPy and ONNX would return `max` everywhere: a constant, surely an import mistake.
            else if lo > hi { fail("clip min \(lo) is greater than max \(hi)") }
        case .hardSigmoid(let alpha, let beta):
            finite(alpha, "alpha")
            finite(beta, "beta")
        case .lrn(_, let alpha, let beta, let bias):
            // ONNX allows an even size (the window is floor((size-1)/2) before, ceil after), so
            // only the coefficients are checked.
            finite(alpha, "alpha")
            finite(beta, "beta")
            finite(bias, "bias")
        case .gemm(let a):
            finite(a.alpha, "alpha")
            finite(a.beta, "beta")
        case .dropout(let ratio):
            // ONNX: "ratio ... must be in the range [0, 1)".
            if !(ratio >= 0 && ratio < 1) { fail("dropout ratio must be in [0, 1), got \(ratio)") }
        case .pad(let pads, let mode, let value):
            if value.isNaN { fail("pad value must not be NaN") }
            if mode != .constant, let x = node.inputs.first.flatMap({ g.types[$0] }), pads.count == 2 * x.rank {
                checkBorderPads(pads, mode: mode, input: x, fail: fail)
            }
        default:
            // Conv group, window sizes, axes, permutations, split sizes and slice steps are
            // checked by shape inference, which the verifier re-runs on every node.
            break
        }
    }

    /// Reflect padding mirrors the input without repeating the edge, so each pad must be smaller
    /// than the dimension; edge and wrap need at least one element to copy from.
    private static func checkBorderPads(_ pads: [Int], mode: PadMode, input x: TensorType, fail: (String) -> Void) {
        for i in 0..<x.rank {
            let widest = max(pads[i], pads[x.rank + i])
            guard widest > 0, let n = x.dims[i].value else { continue }
            if mode == .reflect, widest >= n {
                fail("reflect pad \(widest) on dimension \(i) needs more than \(widest) elements, input has \(n)")
            } else if n == 0 {
                fail("\(mode.rawValue) pad on empty dimension \(i) has nothing to copy")
            }
        }
    }
}
