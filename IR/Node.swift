// Node: one operation applied to named values, producing named values.

/// A node of the graph: an op, the names of the values it reads and writes, and a name kept from
/// the source file so that errors can point at it.
public struct Node: Hashable, Sendable {
    public var name: String
    public var op: Op
    public var inputs: [String]
    public var outputs: [String]
    /// The node's stage in a staged graph (see `StageInfo`); nil in a static graph.
    public var staging: NodeStaging?

    public init(name: String, op: Op, inputs: [String], outputs: [String], staging: NodeStaging? = nil) {
        self.name = name
        self.op = op
        self.inputs = inputs
        self.outputs = outputs
        self.staging = staging
    }
}
