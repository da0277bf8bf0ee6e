// Lower: the pipeline the interpreter and the backends run before executing a graph: fold-batchnorm, then fuse-activation, in lowering mode.
//
// Before:
//   %c = conv(%x, %w) {kernel = [1, 1]}
//   %n = batch_norm(%c, %scale, %shift, %mean, %var) {epsilon = 1e-05}
//   %r = relu(%n)
//   %s = add(%r, %x)
//   %y = clip(%s) {min = 0.0, max = 6.0}
//   %z = softmax(%y)
// After (each fused node takes the place and output of the last node it absorbed):
//   %r = conv(%x, %w_bn, %b_bn) {kernel = [1, 1], activation = relu} name = "c+n+r"
//   %y = add(%r, %x) {activation = clip(0.0, 6.0)} name = "s+y"
//   %z = softmax(%y)
//
// A fused node is named after every node it absorbed, so that an executor's messages and profiles
// still name the source nodes.
//
// It is made of the two canonicalization passes and nothing else, so that the interpreter, the C
// and Swift emitters and `s2dc opt` agree on every fold and fusion: none of them re-derives one.

import IR

/// Folds batch norms and fuses activations into every producer a runtime fuses into.
public struct Lower: Pass {
    public static let name = "lower"
    public static let summary = "Prepares a graph for execution: fold-batchnorm{lowering=true}, then fuse-activation{lowering=true}"

    /// The same steps as pipeline text, for messages and `--passes`.
    public static let pipeline = "fold-batchnorm{lowering=true},fuse-activation{lowering=true}"

    public init(options: PassOptions) throws {}

    public func run(on graph: inout Graph) throws {
        try applyPatternsGreedily([FoldBatchNormIntoProducer(lowering: true)], to: &graph)
        try applyPatternsGreedily([FuseActivationIntoProducer(lowering: true)], to: &graph)
    }

    /// `graph` after the pass: what an executor runs.
    public static func lowered(_ graph: Graph) throws -> Graph {
        var g = graph
        try Lower(options: try PassOptions(specs: [])).run(on: &g)
        return g
    }
}
