// ImportContext: the state of one import (the IR graph so far, what each ONNX name stands for) and a node's view.

import IR

/// The mutable state of one import: the IR graph being built and the meaning of every ONNX value
/// name seen so far. Op importers read their inputs and emit IR nodes through it.
struct ImportContext {
    let file: String
    let opset: Int
    let options: ImportOptions
    var graph: Graph
    /// ONNX value name → what it is.
    var values: [String: ImportValue] = [:]
    /// Names read by some node or listed as graph outputs (an op may refuse an output only if used).
    var usedNames: Set<String> = []
    /// Every ONNX value name of the model, so names made up for helper values never collide with
    /// a name a later node defines.
    private var reserved: Set<String>
    /// ONNX name of a constant → the IR constant it was materialized as.
    private var materialized: [String: String] = [:]

    init(file: String, opset: Int, options: ImportOptions, graphName: String, reserved: Set<String>) {
        self.file = file
        self.opset = opset
        self.options = options
        self.graph = Graph(name: graphName.isEmpty ? "main" : graphName)
        self.reserved = reserved
    }

    /// A value name used by nothing in the model or the graph, derived from `base`.
    mutating func freshName(_ base: String) -> String {
        var name = base.isEmpty ? "v" : base
        var i = 1
        while reserved.contains(name) || graph.isDefined(name) {
            name = "\(base)_\(i)"
            i += 1
        }
        reserved.insert(name)
        return name
    }

    /// What an ONNX value name stands for.
    func value(_ name: String) throws -> ImportValue {
        guard let v = values[name] else { throw ImportFailure("value '\(name)' is not defined") }
        return v
    }

    /// The constant an ONNX name stands for, or nil when it is known only at run time.
    func constant(_ name: String) throws -> ConstTensor? {
        if case .constant(let c) = try value(name) { return c }
        return nil
    }

    /// The constant an ONNX name stands for; fails, naming `what`, when it is not known at import time.
    func requireConstant(_ name: String, _ what: String) throws -> ConstTensor {
        if let c = try constant(name) { return c }
        throw ImportFailure("""
            \(what) '\(name)' must be known at import time (an initializer, a Constant, shape arithmetic \
            on them, or a graph input bound through ImportOptions.constantInputs)
            """)
    }

    /// The dims of any value: IR type, constant shape, or declared input shape.
    func dims(_ name: String) throws -> [Dim] {
        switch try value(name) {
        case .ir(let n): return try graph.type(of: n).dims
        case .constant(let c): return c.shape.map { .fixed($0) }
        case .shapeOnly(_, let dims, _): return dims
        }
    }

    /// The IR value that holds an ONNX value's data, materializing a constant as an IR constant
    /// (once per name). Fails for values whose data the IR cannot hold.
    mutating func irValue(_ name: String, allowIntegers: Bool = false) throws -> String {
        switch try value(name) {
        case .ir(let n):
            return n
        case .constant(let c):
            if let n = materialized[name] { return n }
            let tensor = try c.irTensor("value '\(name)'", allowIntegers: allowIntegers)
            let n = graph.isDefined(name) ? freshName(name) : name
            try graph.addConstant(n, tensor)
            materialized[name] = n
            return n
        case .shapeOnly(let input, _, let type):
            throw ImportFailure("""
                graph input '\(input)' has type \(type): IR values are float32, so only shape arithmetic may read it; \
                bind it to a constant through ImportOptions.constantInputs
                """)
        }
    }

    /// The IR type of an ONNX value's data (materializing constants as `irValue` does).
    mutating func irType(_ name: String) throws -> TensorType {
        try graph.type(of: try irValue(name))
    }

    /// Appends an IR node writing `outputs` and returns their names.
    @discardableResult
    mutating func emit(_ op: Op, _ inputs: [String], outputs: [String], node: String) throws -> [String] {
        try graph.appendNode(Node(name: node, op: op, inputs: inputs, outputs: outputs))
        for out in outputs {
            let t = try graph.type(of: out)
            // Shape products must stay representable: later stages multiply them freely.
            _ = try ConstTensor.checkedShapeProduct(t.dims.compactMap(\.value), what: "value '\(out)'")
        }
        return outputs
    }

    /// Appends a one-output IR node writing `output`.
    mutating func emit1(_ op: Op, _ inputs: [String], output: String, node: String) throws -> ImportValue {
        .ir(try emit(op, inputs, outputs: [output], node: node)[0])
    }
}

extension ConstTensor {
    /// The most elements a runtime value may have: far above any CNN activation, low enough that
    /// multiplying by a batch size or a byte width cannot overflow.
    static let maxRuntimeElements = 1 << 40

    /// The product of a runtime shape, checked for overflow and `maxRuntimeElements`.
    static func checkedShapeProduct(_ shape: [Int], what: String) throws -> Int {
        var total = 1
        for d in shape {
            guard d >= 0 else { throw ImportFailure("\(what) has a negative dimension in \(shape)") }
            let (p, overflow) = total.multipliedReportingOverflow(by: d)
            guard !overflow, p <= maxRuntimeElements else { throw ImportFailure("\(what) of shape \(shape) is too large") }
            total = p
        }
        return total
    }
}

/// One ONNX node as an op importer sees it: inputs, outputs and typed attribute access with the
/// spec's defaults supplied by the caller.
struct ImportNode {
    let node: ONNXNode
    /// The node's name, or "OpType #index" when the file leaves it empty.
    let name: String
    let opset: Int

    var opType: String { node.opType }

    /// Input `i`, or nil when absent or empty (an omitted optional input).
    func input(_ i: Int) -> String? {
        guard i < node.inputs.count, !node.inputs[i].isEmpty else { return nil }
        return node.inputs[i]
    }

    /// Input `i`, which the op requires.
    func requiredInput(_ i: Int, _ what: String) throws -> String {
        guard let n = input(i) else { throw ImportFailure("\(opType) needs input \(i) (\(what))") }
        return n
    }

    /// The present (non-empty) inputs, in order.
    var presentInputs: [String] { node.inputs.filter { !$0.isEmpty } }

    /// Output `i`'s name, or "" when the node does not list it.
    func output(_ i: Int) -> String { i < node.outputs.count ? node.outputs[i] : "" }

    func has(_ attr: String) -> Bool { node.attributes[attr] != nil }

    private func wrongType(_ attr: String, _ expected: String, _ got: ONNXAttribute) -> ImportFailure {
        ImportFailure("attribute '\(attr)' must be \(expected), got \(Self.kind(of: got))")
    }

    static func kind(of a: ONNXAttribute) -> String {
        switch a {
        case .float: return "a float"
        case .int: return "an int"
        case .string: return "a string"
        case .tensor: return "a tensor"
        case .floats: return "a list of floats"
        case .ints: return "a list of ints"
        case .strings: return "a list of strings"
        case .unsupported(let k): return "a \(k)"
        }
    }

    func int(_ attr: String) throws -> Int? {
        guard let a = node.attributes[attr] else { return nil }
        guard case .int(let v) = a else { throw wrongType(attr, "an int", a) }
        return Int(v)
    }

    func int(_ attr: String, default d: Int) throws -> Int { try int(attr) ?? d }

    /// An int attribute that must lie in `range`.
    func int(_ attr: String, default d: Int, in range: ClosedRange<Int>) throws -> Int {
        let v = try int(attr) ?? d
        guard range.contains(v) else { throw ImportFailure("attribute '\(attr)' = \(v) is out of range \(range)") }
        return v
    }

    /// A 0/1 flag attribute.
    func flag(_ attr: String, default d: Bool = false) throws -> Bool {
        try int(attr, default: d ? 1 : 0, in: 0...1) == 1
    }

    func ints(_ attr: String) throws -> [Int]? {
        guard let a = node.attributes[attr] else { return nil }
        guard case .ints(let v) = a else { throw wrongType(attr, "a list of ints", a) }
        return v.map { Int($0) }
    }

    func float(_ attr: String) throws -> Float? {
        guard let a = node.attributes[attr] else { return nil }
        guard case .float(let v) = a else { throw wrongType(attr, "a float", a) }
        return v
    }

    func float(_ attr: String, default d: Float) throws -> Float { try float(attr) ?? d }

    func floats(_ attr: String) throws -> [Float]? {
        guard let a = node.attributes[attr] else { return nil }
        guard case .floats(let v) = a else { throw wrongType(attr, "a list of floats", a) }
        return v
    }

    func string(_ attr: String, default d: String) throws -> String {
        guard let a = node.attributes[attr] else { return d }
        guard case .string(let v) = a else { throw wrongType(attr, "a string", a) }
        return v
    }

    func tensor(_ attr: String) throws -> ONNXTensor? {
        guard let a = node.attributes[attr] else { return nil }
        guard case .tensor(let v) = a else { throw wrongType(attr, "a tensor", a) }
        return v
    }
}
