// Graph: values, constants and topologically ordered nodes, changed only through its mutation API.

/// A graph input: a runtime value with a name and a type.
public struct GraphInput: Hashable, Sendable {
    public var name: String
    public var type: TensorType

    public init(name: String, type: TensorType) {
        self.name = name
        self.type = type
    }
}

/// A dataflow graph over float32 tensors. Values are identified by name; each is defined exactly
/// once, as a graph input, a constant, or a node output. Nodes are kept in topological order.
///
/// All changes go through the mutating methods below, which keep the value types current and count
/// changes (`changeCount`) so that passes can report what they did.
///
/// Two graphs are equal when they define the same values the same way: `changeCount` (history, not
/// content) does not take part, and constants compare bit for bit (see `Tensor`).
public struct Graph: Equatable, Sendable {
    public var name: String
    public private(set) var inputs: [GraphInput]
    public private(set) var outputs: [String]
    /// Constants by name; `constantNames` keeps their order of definition.
    public private(set) var constants: [String: Tensor]
    public private(set) var constantNames: [String]
    public private(set) var nodes: [Node]
    /// The type of every defined value.
    public private(set) var types: [String: TensorType]
    /// How many mutations have been applied since creation.
    public private(set) var changeCount: Int
    /// The partition and exits of a staged graph (`split-stages`, `insert-exits`); nil when static.
    public private(set) var stageInfo: StageInfo?

    public init(name: String = "main") {
        self.name = name
        inputs = []
        outputs = []
        constants = [:]
        constantNames = []
        nodes = []
        types = [:]
        changeCount = 0
        stageInfo = nil
    }

    // MARK: Queries

    /// True when a value of this name is defined.
    public func isDefined(_ value: String) -> Bool { types[value] != nil }

    /// The type of a defined value.
    public func type(of value: String) throws -> TensorType {
        guard let t = types[value] else { throw IRError("value '\(value)' is not defined") }
        return t
    }

    /// The index of the node that produces `value`, or nil for inputs, constants and unknown names.
    public func producer(of value: String) -> Int? {
        nodes.firstIndex { $0.outputs.contains(value) }
    }

    /// Indices of the nodes that read `value`, in order.
    public func users(of value: String) -> [Int] {
        nodes.indices.filter { nodes[$0].inputs.contains(value) }
    }

    /// True when the value is a graph output.
    public func isOutput(_ value: String) -> Bool { outputs.contains(value) }

    /// A name not yet used by any value, derived from `base`.
    public func freshName(_ base: String) -> String {
        if !isDefined(base) { return base }
        var i = 1
        while isDefined("\(base)_\(i)") { i += 1 }
        return "\(base)_\(i)"
    }

    // MARK: Mutation

    /// Declares a runtime input.
    public mutating func addInput(_ name: String, type: TensorType) throws {
        try requireUndefined(name)
        // The verifier's type rules (no negative size, a symbol only in the leading position), so
        // that no graph that the verifier rejects can be built (the text parser builds through here).
        var problems: [IRError] = []
        Verifier.checkValueType(type, of: name, node: nil, into: &problems)
        if let problem = problems.first { throw problem }
        inputs.append(GraphInput(name: name, type: type))
        types[name] = type
        changeCount += 1
    }

    /// Defines a constant.
    public mutating func addConstant(_ name: String, _ tensor: Tensor) throws {
        try requireUndefined(name)
        constants[name] = tensor
        constantNames.append(name)
        types[name] = tensor.type
        changeCount += 1
    }

    /// Replaces the data of an existing constant (its type follows the new shape).
    public mutating func replaceConstant(_ name: String, with tensor: Tensor) throws {
        guard constants[name] != nil else { throw IRError("'\(name)' is not a constant") }
        constants[name] = tensor
        types[name] = tensor.type
        changeCount += 1
    }

    /// Removes a constant that nothing reads any more.
    public mutating func removeConstant(_ name: String) throws {
        guard constants[name] != nil else { throw IRError("'\(name)' is not a constant") }
        guard users(of: name).isEmpty, !isOutput(name) else { throw IRError("constant '\(name)' is still used") }
        constants[name] = nil
        constantNames.removeAll { $0 == name }
        types[name] = nil
        changeCount += 1
    }

    /// Appends a node after all existing ones, inferring the types of its outputs.
    @discardableResult
    public mutating func appendNode(_ node: Node) throws -> Int {
        try insertNode(node, at: nodes.count)
        return nodes.count - 1
    }

    /// Convenience: appends `op` reading `inputs` and returns the name of its (first) output,
    /// named after `name` when free.
    @discardableResult
    public mutating func append(_ op: Op, _ inputs: [String], name: String, output: String? = nil) throws -> String {
        let out = freshName(output ?? name)
        var outs = [out]
        for i in 1..<max(op.outputCount, 1) { outs.append(freshName("\(out)_\(i)")) }
        try appendNode(Node(name: name, op: op, inputs: inputs, outputs: outs))
        return out
    }

    /// Inserts a node at `index`; its inputs must be defined before that point.
    public mutating func insertNode(_ node: Node, at index: Int) throws {
        guard index >= 0, index <= nodes.count else { throw IRError("insertion index \(index) out of range", node: node.name) }
        for out in node.outputs { try requireUndefined(out, node: node.name) }
        guard Set(node.outputs).count == node.outputs.count else {
            throw IRError("lists an output twice: \(node.outputs)", node: node.name)
        }
        let available = definedBefore(index)
        for input in node.inputs where !available.contains(input) {
            throw IRError(types[input] == nil ? "input '\(input)' is not defined"
                                              : "input '\(input)' is defined after this node", node: node.name)
        }
        let outTypes = try ShapeInference.outputTypes(of: node, inputTypes: try inputTypes(of: node))
        nodes.insert(node, at: index)
        for (name, t) in zip(node.outputs, outTypes) { types[name] = t }
        changeCount += 1
    }

    /// Removes the node at `index`; its outputs must have no users left and must not be graph outputs.
    public mutating func removeNode(at index: Int) throws {
        try requireNodeIndex(index)
        let node = nodes[index]
        for out in node.outputs {
            guard users(of: out).isEmpty, !isOutput(out) else {
                throw IRError("output '\(out)' is still used", node: node.name)
            }
        }
        nodes.remove(at: index)
        for out in node.outputs { types[out] = nil }
        changeCount += 1
    }

    /// Makes every reader of `old` (nodes and graph outputs) read `new` instead. Both must have the
    /// same type, and `new` must be defined before the first reader of `old`.
    public mutating func replaceAllUses(of old: String, with new: String) throws {
        guard let oldType = types[old], let newType = types[new] else {
            throw IRError("cannot replace '\(old)' with '\(new)': undefined value")
        }
        guard oldType == newType else {
            throw IRError("cannot replace '\(old)' \(oldType) with '\(new)' \(newType): types differ")
        }
        if let first = users(of: old).first, !definedBefore(first).contains(new) {
            throw IRError("cannot replace '\(old)' with '\(new)': '\(new)' is defined after its first user")
        }
        for i in nodes.indices where nodes[i].inputs.contains(old) {
            nodes[i].inputs = nodes[i].inputs.map { $0 == old ? new : $0 }
        }
        outputs = outputs.map { $0 == old ? new : $0 }
        changeCount += 1
    }

    /// Replaces the op of node `index`, re-inferring its output types (which must stay the same).
    public mutating func setOp(_ op: Op, ofNodeAt index: Int, inputs: [String]? = nil) throws {
        try requireNodeIndex(index)
        var node = nodes[index]
        node.op = op
        if let inputs { node.inputs = inputs }
        let available = definedBefore(index)
        for input in node.inputs where !available.contains(input) {
            throw IRError("input '\(input)' is not defined before this node", node: node.name)
        }
        let outTypes = try ShapeInference.outputTypes(of: node, inputTypes: try inputTypes(of: node))
        for (name, t) in zip(node.outputs, outTypes) {
            if let old = types[name], old != t {
                throw IRError("new op changes the type of '\(name)' from \(old) to \(t)", node: node.name)
            }
        }
        nodes[index] = node
        changeCount += 1
    }

    /// Sets the graph outputs; each must be defined.
    public mutating func setOutputs(_ names: [String]) throws {
        for n in names where types[n] == nil { throw IRError("graph output '\(n)' is not defined") }
        outputs = names
        changeCount += 1
    }

    /// Sets (or clears) the stage metadata; the verifier checks it against the nodes.
    public mutating func setStageInfo(_ info: StageInfo?) {
        stageInfo = info
        changeCount += 1
    }

    /// Sets the stage of node `index`.
    public mutating func setStaging(_ staging: NodeStaging?, ofNodeAt index: Int) throws {
        try requireNodeIndex(index)
        nodes[index].staging = staging
        changeCount += 1
    }

    /// Replaces the whole graph with `other`, a graph a pass built through this same mutation API.
    /// For transformations that change the types of many values at once (pruning channels changes
    /// every shape along a chain of layers), which node-by-node edits cannot make without an
    /// ill-typed graph in between. The change count grows by the mutations that built `other`.
    public mutating func replaceContents(with other: Graph) {
        let count = changeCount + other.changeCount
        self = other
        changeCount = count
    }

    // MARK: Helpers

    /// Names defined by inputs, constants, and the first `index` nodes.
    public func definedBefore(_ index: Int) -> Set<String> {
        var set = Set(inputs.map(\.name))
        set.formUnion(constantNames)
        for node in nodes.prefix(index) { set.formUnion(node.outputs) }
        return set
    }

    /// The types of a node's inputs, each of which must be defined.
    private func inputTypes(of node: Node) throws -> [TensorType] {
        try node.inputs.map { name in
            guard let t = types[name] else { throw IRError("input '\(name)' is not defined", node: node.name) }
            return t
        }
    }

    private func requireNodeIndex(_ index: Int) throws {
        guard nodes.indices.contains(index) else { throw IRError("node index \(index) out of range 0..<\(nodes.count)") }
    }

    public static func == (a: Graph, b: Graph) -> Bool {
        a.name == b.name && a.inputs == b.inputs && a.outputs == b.outputs && a.constantNames == b.constantNames
            && a.constants == b.constants && a.nodes == b.nodes && a.types == b.types && a.stageInfo == b.stageInfo
    }

    private func requireUndefined(_ name: String, node: String? = nil) throws {
        guard !name.isEmpty else { throw IRError("empty value name", node: node) }
        guard types[name] == nil else { throw IRError("value '\(name)' is defined twice", node: node) }
    }
}
