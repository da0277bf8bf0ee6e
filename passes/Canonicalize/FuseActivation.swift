// FuseActivation: moves Relu, LeakyRelu, Clip (Relu6) and HardSwish into the convolution before them.
//
// Before:
//   %c = conv(%x, %w, %b) {kernel = [3, 3]}
//   %y = clip(%c) {min = 0.0, max = 6.0}
// After:
//   %c = conv(%x, %w, %b) {kernel = [3, 3], activation = clip(0.0, 6.0)}
//
// It fires only when the conv result feeds nothing but the activation, neither is a graph output
// (output names never change), and the conv has no activation yet. Readers of the activation read
// the conv instead.

import IR

/// Fuses activations into convolutions (see the file comment).
public struct FuseActivation: PatternPass {
    public static let name = "fuse-activation"
    public static let summary = "Fuses Relu, LeakyRelu, Clip/Relu6 and HardSwish into the producing Conv"

    public init(options: PassOptions) throws {}

    public var patterns: [any RewritePattern] { [FuseActivationIntoConv()] }
}

/// Rooted at the activation node.
struct FuseActivationIntoConv: RewritePattern {
    let name = "fuse-activation-into-conv"

    func matchAndRewrite(nodeAt index: Int, in graph: inout Graph) throws -> Bool {
        let node = graph.nodes[index]
        guard let activation = FusedActivation(node.op), !graph.isOutput(node.outputs[0]), let p = graph.producer(of: node.inputs[0]),
              graph.soleUser(of: node.inputs[0]) == index,
              case .conv(var a) = graph.nodes[p].op, a.activation == nil else { return false }
        a.activation = activation
        try graph.setOp(.conv(a), ofNodeAt: p)
        try graph.replaceNode(at: index, withValue: node.inputs[0])
        return true
    }
}
