// FuseActivation: moves Relu, LeakyRelu, Clip (Relu6) and HardSwish into the op before them.
//
// Before:
//   %c = conv(%x, %w, %b) {kernel = [3, 3]}
//   %y = clip(%c) {min = 0.0, max = 6.0}
// After:
//   %c = conv(%x, %w, %b) {kernel = [3, 3], activation = clip(0.0, 6.0)}
//
// By default the producer must be a conv (the form canonicalize leaves, which training and every
// tool understand). It fires only when the producer's result feeds nothing but the activation,
// neither is a graph output (output names never change), and the producer has no activation yet.
// Readers of the activation read the producer instead.
//
// With `lowering=true` (the `lower` pipeline that the interpreter and the backends run) any op
// that takes an epilogue qualifies (conv, gemm, matmul, batch_norm, add, sub, mul, div), and the
// fused node takes the activation's place, output and the name "producer+activation", so an
// activation whose result is a graph output fuses too. This file is the only place that fuses
// activations.

import IR

/// Fuses activations into the producing op (see the file comment).
public struct FuseActivation: PatternPass {
    public static let name = "fuse-activation"
    public static let summary = "Fuses Relu, LeakyRelu, Clip/Relu6 and HardSwish into the producing Conv (or any epilogue op)"
    public static let options: [PassOptionSpec] = [
        .bool("lowering", default: false,
              help: "fuse into every op that takes an epilogue, also where the activation's result is a graph output (the lower pipeline)"),
    ]

    let lowering: Bool

    public init(options: PassOptions) throws {
        lowering = try options.bool("lowering")
    }

    public var patterns: [any RewritePattern] { [FuseActivationIntoProducer(lowering: lowering)] }
}

/// Rooted at the activation node.
struct FuseActivationIntoProducer: RewritePattern {
    let name = "fuse-activation-into-producer"
    /// The `lowering` option: every epilogue op qualifies, and the fused node takes the
    /// activation's place, outputs and a merged name.
    var lowering = false

    func matchAndRewrite(nodeAt index: Int, in graph: inout Graph) throws -> Bool {
        let node = graph.nodes[index]
        guard let activation = FusedActivation(node.op), lowering || !graph.isRoot(node.outputs[0]),
              let p = graph.producer(of: node.inputs[0]),
              graph.soleUser(of: node.inputs[0]) == index else { return false }
        let producer = graph.nodes[p].op
        guard producer.activation == nil, producer.outputCount == 1 else { return false }
        if case .conv = producer {} else if !lowering { return false }
        guard let fused = producer.withActivation(activation) else { return false }
        if lowering {
            try graph.mergeProducer(at: p, intoReaderAt: index, op: fused, inputs: graph.nodes[p].inputs,
                                    name: graph.nodes[p].name + "+" + node.name)
            return true
        }
        try graph.setOp(fused, ofNodeAt: p)
        try graph.replaceNode(at: index, withValue: node.inputs[0])
        return true
    }
}
