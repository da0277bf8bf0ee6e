// EliminateIdentity: removes Identity and Dropout (an identity at inference) nodes.
//
// Before:
//   %d = dropout(%x) {ratio = 0.5}
//   %i = identity(%d)
//   %y = relu(%i)
// After:
//   %y = relu(%x)
//
// A node whose result is a graph output stays, so that the graph's output names do not change.

import IR

/// Removes identity-like nodes (see the file comment).
public struct EliminateIdentity: PatternPass {
    public static let name = "eliminate-identity"
    public static let summary = "Removes Identity and Dropout nodes (Dropout is the identity at inference)"

    public init(options: PassOptions) throws {}

    public var patterns: [any RewritePattern] { [EliminateIdentityNode()] }
}

/// Replaces the result of one identity or dropout by its input.
struct EliminateIdentityNode: RewritePattern {
    let name = "eliminate-identity-node"

    func matchAndRewrite(nodeAt index: Int, in graph: inout Graph) throws -> Bool {
        let node = graph.nodes[index]
        switch node.op {
        case .identity, .dropout: break
        default: return false
        }
        guard !graph.isRoot(node.outputs[0]) else { return false }
        try graph.replaceNode(at: index, withValue: node.inputs[0])
        return true
    }
}
