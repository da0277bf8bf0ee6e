// FlattenPatterns: turns PyTorch's flatten/reshape idioms into one plain Flatten (or nothing).
//
// Before (x.view(x.size(0), -1) after global pooling, as exported and shape-folded):
//   %p: f32[N,512,1,1] = global_average_pool(%x)
//   %r: f32[N,512] = reshape(%p) {shape = [0, -1]}
//   %y = gemm(%r, %w, %b) {trans_b = true}
// After:
//   %r: f32[N,512] = flatten(%p) {axis = 1}
//
// Three rewrites, each checked by shape inference so the data order never changes (both ops only
// reinterpret row-major data):
//   - a reshape to 2-D that equals flatten(axis) for some axis becomes that flatten (axis 1 first);
//   - a reshape or flatten of a reshape or flatten that feeds only it reads the earlier input
//     directly, when that gives the same type;
//   - a reshape or flatten whose result has its input's type is removed (unless a graph output).

import IR

/// Canonicalizes flatten and reshape chains (see the file comment).
public struct FlattenPatterns: PatternPass {
    public static let name = "flatten-patterns"
    public static let summary = "Rewrites PyTorch flatten/reshape patterns into a plain Flatten"

    public init(options: PassOptions) throws {}

    public var patterns: [any RewritePattern] { [RemoveNoOpReshape(), CollapseReshapeChain(), ReshapeToFlatten()] }
}

private func isReshapeLike(_ op: Op) -> Bool {
    switch op {
    case .reshape, .flatten: return true
    default: return false
    }
}

/// A reshape or flatten whose output type equals its input type.
struct RemoveNoOpReshape: RewritePattern {
    let name = "remove-no-op-reshape"

    func matchAndRewrite(nodeAt index: Int, in graph: inout Graph) throws -> Bool {
        let node = graph.nodes[index]
        guard isReshapeLike(node.op), !graph.isRoot(node.outputs[0]),
              graph.types[node.inputs[0]] == graph.types[node.outputs[0]] else { return false }
        try graph.replaceNode(at: index, withValue: node.inputs[0])
        return true
    }
}

/// reshape(reshape(x)) → reshape(x) when the inner one feeds only the outer one.
struct CollapseReshapeChain: RewritePattern {
    let name = "collapse-reshape-chain"

    func matchAndRewrite(nodeAt index: Int, in graph: inout Graph) throws -> Bool {
        let node = graph.nodes[index]
        guard isReshapeLike(node.op), let p = graph.producer(of: node.inputs[0]),
              isReshapeLike(graph.nodes[p].op), graph.soleUser(of: node.inputs[0]) == index else { return false }
        let inner = graph.nodes[p]
        // setOp re-infers the type from the new input and refuses a different result.
        do {
            try graph.setOp(node.op, ofNodeAt: index, inputs: [inner.inputs[0]])
        } catch is IRError {
            return try collapseAsFlatten(node, at: index, source: inner.inputs[0], in: &graph, removing: p)
        }
        try graph.removeNode(at: p)
        return true
    }

    /// When the outer op applied to the earlier input gives another type, a flatten may still fit.
    private func collapseAsFlatten(_ node: Node, at index: Int, source: String, in graph: inout Graph,
                                   removing p: Int) throws -> Bool {
        guard let op = ReshapeToFlatten.flattenEquivalent(of: graph.types[node.outputs[0]], input: graph.types[source])
        else { return false }
        try graph.setOp(op, ofNodeAt: index, inputs: [source])
        try graph.removeNode(at: p)
        return true
    }
}

/// reshape(x) → flatten(x, axis) when the shapes say they are the same.
struct ReshapeToFlatten: RewritePattern {
    let name = "reshape-to-flatten"

    func matchAndRewrite(nodeAt index: Int, in graph: inout Graph) throws -> Bool {
        let node = graph.nodes[index]
        guard case .reshape = node.op,
              let op = Self.flattenEquivalent(of: graph.types[node.outputs[0]], input: graph.types[node.inputs[0]])
        else { return false }
        try graph.setOp(op, ofNodeAt: index)
        return true
    }

    /// The flatten that turns `input` into `output`, trying axis 1 first (PyTorch's flatten(x, 1)).
    static func flattenEquivalent(of output: TensorType?, input: TensorType?) -> Op? {
        guard let output, let input, output.rank == 2, input.rank >= 1 else { return nil }
        for axis in [1] + (0...input.rank).filter({ $0 != 1 }) where axis <= input.rank {
            if let t = try? ShapeInference.outputTypes(op: .flatten(axis: axis), inputs: [input]), t == [output] {
                return .flatten(axis: axis)
            }
        }
        return nil
    }
}
