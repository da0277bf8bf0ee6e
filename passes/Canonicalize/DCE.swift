// DCE: removes nodes and constants that no root (graph output, early exit) depends on.
//
// Before:
//   const %unused: f32[4] = dense<...>
//   %a = relu(%x)
//   %dead = sigmoid(%a)
//   %y = softmax(%a) {axis = 1}
//   return %y
// After:
//   %a = relu(%x)
//   %y = softmax(%a) {axis = 1}
//   return %y
//
// Graph inputs stay even when unused: they are the graph's interface. The roots are the graph
// outputs and the values a staged graph's stage table names (`Graph.roots`): an early exit's value
// is no graph output, yet everything it reads is live.

import IR

/// Dead-code elimination (see the file comment).
public struct DCE: Pass {
    public static let name = "dce"
    public static let summary = "Removes nodes and constants that no graph output or early exit depends on"

    public init(options: PassOptions) throws {}

    public func run(on graph: inout Graph) throws {
        // Live values, found backwards from the roots in one sweep (nodes are in topological order).
        var live = Set(graph.roots)
        var deadNodes: [Int] = []
        for (i, node) in graph.nodes.enumerated().reversed() {
            if node.outputs.contains(where: live.contains) {
                live.formUnion(node.inputs)
            } else {
                deadNodes.append(i)
            }
        }
        // Descending indices: a dead node's readers (later, also dead) are already gone when it is
        // removed. Deferred removal compacts the node list once instead of once per dead node.
        try graph.withDeferredNodeRemoval { graph in
            for i in deadNodes { try graph.removeNode(at: i) }
        }
        for name in graph.constantNames where !live.contains(name) { try graph.removeConstant(name) }
    }
}
