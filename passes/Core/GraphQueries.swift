// GraphQueries: small graph questions and tidy-ups that several passes share.

import IR

extension Graph {
    /// The one node that reads `value`, when exactly one node reads it (once) and it is not a root
    /// (a graph output or an exit or classifier sum of the stage table): the condition for folding
    /// a producer into its consumer or the other way round.
    public func soleUser(of value: String) -> Int? {
        guard !isRoot(value), useCount(of: value) == 1 else { return nil }
        return users(of: value).first
    }

    /// The data of a constant, when `value` is a constant whose data is present (not elided).
    public func constantData(_ value: String) -> Tensor? {
        guard let t = constants[value], !t.isElided else { return nil }
        return t
    }

    /// Adds a constant under a fresh name derived from `base` and returns that name.
    @discardableResult
    public mutating func addFreshConstant(_ base: String, _ tensor: Tensor) throws -> String {
        let name = freshName(base)
        try addConstant(name, tensor)
        return name
    }

    /// Removes each named constant that nothing reads any more (and that is not a root).
    public mutating func removeConstantsIfUnused(_ names: [String]) throws {
        for name in names where constants[name] != nil && !isRoot(name) && useCount(of: name) == 0 {
            try removeConstant(name)
        }
    }

    /// Makes readers of the node's single output read `replacement`, then removes the node and
    /// any constants it read that became unused. For eliminating a node whose result equals
    /// another value (identity, a folded op).
    public mutating func replaceNode(at index: Int, withValue replacement: String) throws {
        let node = nodes[index]
        // Rerouting readers moves no node, so the node is still at `index`.
        try replaceAllUses(of: node.outputs[0], with: replacement)
        try removeNode(at: index)
        try removeConstantsIfUnused(node.inputs)
    }

    /// Merges a producer (node `p`) into its only reader (node `c`, after it): node `c` becomes
    /// `op` on `inputs`, named `name`, keeping its outputs (so a graph output keeps its name), and
    /// the producer and the constants only it read are removed. For fusions that must also work
    /// where the reader's result is a graph output.
    public mutating func mergeProducer(at p: Int, intoReaderAt c: Int, op: Op, inputs: [String], name: String) throws {
        let producer = nodes[p], reader = nodes[c]
        try setOp(op, ofNodeAt: c, inputs: inputs)
        try setName(name, ofNodeAt: c)
        try removeNode(at: p)
        try removeConstantsIfUnused(producer.inputs + reader.inputs)
    }
}
