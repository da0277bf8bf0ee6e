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
/// All changes go through the mutating methods below, which keep the value types and the use
/// lists current and count changes (`changeCount`) so that passes can report what they did. The
/// use lists make `producer(of:)` and `users(of:)` cost the same on a graph of any size, so a
/// rewrite sweep over the whole graph stays linear in its size.
///
/// Two graphs are equal when they define the same values the same way: `changeCount` (history, not
/// content) and the use lists (derived data) do not take part, and constants compare bit for bit
/// (see `Tensor`).
public struct Graph: Equatable, Sendable {
    public var name: String
    public private(set) var inputs: [GraphInput]
    public private(set) var outputs: [String]
    /// Constants by name; `constantNames` keeps their order of definition.
    public private(set) var constants: [String: Tensor]
    public private(set) var nodes: [Node]
    /// The type of every defined value.
    public private(set) var types: [String: TensorType]
    /// How many mutations have been applied since creation.
    public private(set) var changeCount: Int
    /// The partition and exits of a staged graph (`split-stages`, `insert-exits`); nil when static.
    public private(set) var stageInfo: StageInfo?

    // Use lists. Every node gets a stable id when it is inserted; `position[id]` is its current
    // index in `nodes` (-1 once removed), renumbered on insertion and removal by one pass over an
    // integer array. Values map to the id of their producer and to the ids of their readers (one
    // entry per reading input, so a node that reads a value twice is listed twice).
    private var nodeIDs: [Int]
    private var position: [Int]
    private var producerID: [String: Int]
    private var readerIDs: [String: [Int]]
    /// Constants in order of definition, with nil where one was removed (compacted when more than
    /// half are holes), so that removing a constant does not cost a scan of all of them.
    private var constantSlots: [String?]
    private var constantSlot: [String: Int]
    /// True inside `withDeferredNodeRemoval`: removed nodes stay in `nodes` as tombstones
    /// (position -1) until the block ends, so that a sweep removing k of n nodes costs O(n + k)
    /// rather than O(n·k).
    private var deferringRemoval: Bool
    private var tombstones: Int

    public init(name: String = "main") {
        self.name = name
        inputs = []
        outputs = []
        constants = [:]
        nodes = []
        types = [:]
        changeCount = 0
        stageInfo = nil
        nodeIDs = []
        position = []
        producerID = [:]
        readerIDs = [:]
        constantSlots = []
        constantSlot = [:]
        deferringRemoval = false
        tombstones = 0
    }

    // MARK: Queries

    /// The constants' names in order of definition.
    public var constantNames: [String] { constantSlots.compactMap { $0 } }

    /// True when a value of this name is defined.
    public func isDefined(_ value: String) -> Bool { types[value] != nil }

    /// The type of a defined value.
    public func type(of value: String) throws -> TensorType {
        guard let t = types[value] else { throw IRError("value '\(value)' is not defined") }
        return t
    }

    /// The index of the node that produces `value`, or nil for inputs, constants and unknown names.
    public func producer(of value: String) -> Int? {
        guard let id = producerID[value] else { return nil }
        return position[id]
    }

    /// Indices of the nodes that read `value`, in order (each node once).
    public func users(of value: String) -> [Int] {
        guard let ids = readerIDs[value], !ids.isEmpty else { return [] }
        if ids.count == 1 { return [position[ids[0]]] }
        return Set(ids.map { position[$0] }).sorted()
    }

    /// How many node inputs read `value` (a node reading it twice counts twice).
    public func useCount(of value: String) -> Int { readerIDs[value]?.count ?? 0 }

    /// True when the node at `index` was removed inside the running `withDeferredNodeRemoval` block
    /// (always false outside one).
    public func isRemoved(nodeAt index: Int) -> Bool {
        tombstones > 0 && nodes.indices.contains(index) && position[nodeIDs[index]] < 0
    }

    /// True when the value is a graph output.
    public func isOutput(_ value: String) -> Bool { outputs.contains(value) }

    /// True when the stage table names the value (an exit's value or block, a classifier sum).
    public func isStageReference(_ value: String) -> Bool { stageInfo?.references(value) ?? false }

    /// True when the value is a graph output or a value the stage table names: the values a graph
    /// is run for. Dead-code elimination keeps what they depend on, and passes never remove one
    /// nor replace it by another name (an early exit's value is no graph output, yet it is a root).
    public func isRoot(_ value: String) -> Bool { isOutput(value) || isStageReference(value) }

    /// Every root (see `isRoot`): the graph outputs, then the stage table's values.
    public var roots: [String] { outputs + (stageInfo?.valueReferences ?? []) }

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
        constantSlot[name] = constantSlots.count
        constantSlots.append(name)
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
        guard constants[name] != nil, let slot = constantSlot[name] else { throw IRError("'\(name)' is not a constant") }
        guard useCount(of: name) == 0, !isRoot(name) else { throw IRError("constant '\(name)' is still used") }
        constants[name] = nil
        constantSlots[slot] = nil
        constantSlot[name] = nil
        types[name] = nil
        if constantSlots.count > 32, constantSlot.count * 2 < constantSlots.count {
            constantSlots = constantSlots.filter { $0 != nil }
            for (i, n) in constantSlots.enumerated() { if let n { constantSlot[n] = i } }
        }
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
        for input in node.inputs where !isAvailable(input, before: index) {
            throw IRError(types[input] == nil ? "input '\(input)' is not defined"
                                              : "input '\(input)' is defined after this node", node: node.name)
        }
        let outTypes = try ShapeInference.outputTypes(of: node, inputTypes: try inputTypes(of: node))
        let id = position.count
        position.append(index)
        nodes.insert(node, at: index)
        nodeIDs.insert(id, at: index)
        renumber(from: index + 1)
        for (name, t) in zip(node.outputs, outTypes) {
            types[name] = t
            producerID[name] = id
        }
        for input in node.inputs { readerIDs[input, default: []].append(id) }
        changeCount += 1
    }

    /// Removes the node at `index`; its outputs must have no users left and must not be roots
    /// (graph outputs or values the stage table names).
    public mutating func removeNode(at index: Int) throws {
        try requireNodeIndex(index)
        let node = nodes[index]
        for out in node.outputs {
            guard useCount(of: out) == 0, !isOutput(out) else {
                throw IRError("output '\(out)' is still used", node: node.name)
            }
            guard !isStageReference(out) else {
                throw IRError("output '\(out)' is named by the stage table (an exit or classifier sum)", node: node.name)
            }
        }
        let id = nodeIDs[index]
        position[id] = -1
        if deferringRemoval {
            tombstones += 1
        } else {
            nodes.remove(at: index)
            nodeIDs.remove(at: index)
            renumber(from: index)
        }
        for out in node.outputs {
            types[out] = nil
            producerID[out] = nil
            readerIDs[out] = nil
        }
        for input in node.inputs { removeReader(id, of: input) }
        changeCount += 1
    }

    /// Runs `body` with node removal deferred: `removeNode` takes the node's outputs out of the graph
    /// at once (they are undefined, unread and without a producer) but leaves the node in `nodes` as a
    /// tombstone, so no index moves, and the tombstones are compacted away in one pass when `body`
    /// returns or throws. For sweeps that remove many nodes (the pattern driver, DCE, CSE); inside
    /// the block, skip indices for which `isRemoved(nodeAt:)` holds. Nested blocks join the outer one.
    public mutating func withDeferredNodeRemoval<T>(_ body: (inout Graph) throws -> T) rethrows -> T {
        if deferringRemoval { return try body(&self) }
        deferringRemoval = true
        defer {
            deferringRemoval = false
            compactTombstones()
        }
        return try body(&self)
    }

    /// Makes every reader of `old` (nodes, graph outputs and the stage table's exits and classifier
    /// sums) read `new` instead. Both must have the same type, and `new` must be defined before the
    /// first reader of `old`.
    public mutating func replaceAllUses(of old: String, with new: String) throws {
        guard let oldType = types[old], let newType = types[new] else {
            throw IRError("cannot replace '\(old)' with '\(new)': undefined value")
        }
        guard oldType == newType else {
            throw IRError("cannot replace '\(old)' \(oldType) with '\(new)' \(newType): types differ")
        }
        let readers = readerIDs[old] ?? []
        if let first = readers.map({ position[$0] }).min(), !isAvailable(new, before: first) {
            throw IRError("cannot replace '\(old)' with '\(new)': '\(new)' is defined after its first user")
        }
        if old != new {
            for id in Set(readers) {
                let i = position[id]
                nodes[i].inputs = nodes[i].inputs.map { $0 == old ? new : $0 }
            }
            readerIDs[old] = nil
            if !readers.isEmpty { readerIDs[new, default: []].append(contentsOf: readers) }
        }
        outputs = outputs.map { $0 == old ? new : $0 }
        if old != new, var info = stageInfo, info.references(old) {
            info.renameReferences(of: old, to: new)
            stageInfo = info
        }
        changeCount += 1
    }

    /// Replaces the op of node `index`, re-inferring its output types (which must stay the same).
    public mutating func setOp(_ op: Op, ofNodeAt index: Int, inputs: [String]? = nil) throws {
        try requireNodeIndex(index)
        var node = nodes[index]
        node.op = op
        if let inputs { node.inputs = inputs }
        for input in node.inputs where !isAvailable(input, before: index) {
            throw IRError("input '\(input)' is not defined before this node", node: node.name)
        }
        let outTypes = try ShapeInference.outputTypes(of: node, inputTypes: try inputTypes(of: node))
        for (name, t) in zip(node.outputs, outTypes) {
            if let old = types[name], old != t {
                throw IRError("new op changes the type of '\(name)' from \(old) to \(t)", node: node.name)
            }
        }
        let id = nodeIDs[index]
        for input in nodes[index].inputs { removeReader(id, of: input) }
        for input in node.inputs { readerIDs[input, default: []].append(id) }
        nodes[index] = node
        changeCount += 1
    }

    /// Renames node `index` (the name is for messages and profiles; values keep theirs).
    public mutating func setName(_ name: String, ofNodeAt index: Int) throws {
        try requireNodeIndex(index)
        nodes[index].name = name
        changeCount += 1
    }

    /// Sets the graph outputs; each must be defined.
    public mutating func setOutputs(_ names: [String]) throws {
        for n in names where types[n] == nil { throw IRError("graph output '\(n)' is not defined") }
        outputs = names
        changeCount += 1
    }

    /// Replaces the whole graph with `other`, a graph a pass built through this same mutation API.
    /// For transformations that change the types of many values at once (pruning channels changes
    /// every shape along a chain of layers), which node-by-node edits cannot make without an
    /// ill-typed graph in between. The change count grows by the mutations that built `other`.
    public mutating func replaceContents(with other: Graph) {
        let count = changeCount + other.changeCount
        let deferring = deferringRemoval
        self = other
        changeCount = count
        deferringRemoval = deferring
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

    // MARK: Helpers

    /// True when `value` is a graph input, a constant, or the output of a node before `index`.
    public func isAvailable(_ value: String, before index: Int) -> Bool {
        guard types[value] != nil else { return false }
        guard let p = producer(of: value) else { return true }
        return p < index
    }

    /// Brings `position` up to date for the nodes from `index` on (after an insertion or removal).
    /// Tombstones (position -1, see `withDeferredNodeRemoval`) keep their mark.
    private mutating func renumber(from index: Int) {
        guard index < nodes.count else { return }
        nodeIDs.withUnsafeBufferPointer { ids in
            position.withUnsafeMutableBufferPointer { pos in
                for i in index..<ids.count where pos[ids[i]] >= 0 { pos[ids[i]] = i }
            }
        }
    }

    /// Drops the tombstones left by deferred removals, in one pass.
    private mutating func compactTombstones() {
        guard tombstones > 0 else { return }
        var keptNodes: [Node] = []
        var keptIDs: [Int] = []
        keptNodes.reserveCapacity(nodes.count - tombstones)
        keptIDs.reserveCapacity(nodes.count - tombstones)
        for (node, id) in zip(nodes, nodeIDs) where position[id] >= 0 {
            keptNodes.append(node)
            keptIDs.append(id)
        }
        nodes = keptNodes
        nodeIDs = keptIDs
        tombstones = 0
        renumber(from: 0)
    }

    /// Drops one entry of node `id` from the readers of `value`.
    private mutating func removeReader(_ id: Int, of value: String) {
        guard var ids = readerIDs[value], let k = ids.lastIndex(of: id) else { return }
        ids.remove(at: k)
        readerIDs[value] = ids.isEmpty ? nil : ids
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
        guard !isRemoved(nodeAt: index) else { throw IRError("node \(index) ('\(nodes[index].name)') was removed") }
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
