// Canonicalize: the default cleanup pipeline, run until a whole round changes nothing.
//
// Before (as PyTorch exports a conv block and its head):
//   %c = conv(%x, %w, %b) {kernel = [3, 3], pads = [1, 1, 1, 1]}
//   %n = batch_norm(%c, %scale, %shift, %mean, %var)
//   %r = relu(%n)
//   %d = dropout(%r) {ratio = 0.2}
//   %p = global_average_pool(%d)
//   %f = reshape(%p) {shape = [0, -1]}
// After:
//   %c = conv(%x, %w_bn, %b_bn) {kernel = [3, 3], pads = [1, 1, 1, 1], activation = relu}
//   %p = global_average_pool(%c)
//   %f = flatten(%p) {axis = 1}
//
// Order of a round: fold-constants, eliminate-identity, fold-batchnorm, fold-channel-affine,
// fuse-activation, flatten-patterns, cse, dce. A later pass can enable an earlier one (CSE makes
// two batch norms share a conv's result that was shared before, DCE frees a sole user), hence the
// fixed point.

import IR

/// The default pipeline, to a fixed point (see the file comment).
public struct Canonicalize: Pass {
    public static let name = "canonicalize"
    public static let summary = "Runs the canonicalization passes (fold-constants ... dce) until nothing changes"
    public static let options: [PassOptionSpec] = [
        .int("max-iterations", default: 10, help: "rounds before giving up with an error"),
    ]

    /// The passes of one round, in order.
    public static let round: [any Pass.Type] = [
        FoldConstants.self, EliminateIdentity.self, FoldBatchNorm.self, FoldChannelAffine.self,
        FuseActivation.self, FlattenPatterns.self, CSE.self, DCE.self,
    ]

    let maxIterations: Int

    public init(options: PassOptions) throws {
        maxIterations = try options.int("max-iterations")
        guard maxIterations >= 1 else { throw PassError("max-iterations must be >= 1, got \(maxIterations)") }
    }

    public func run(on graph: inout Graph) throws {
        let passes = try Self.round.map { try PassDescriptor($0).instantiate() }
        for _ in 0..<maxIterations {
            let before = graph.changeCount
            for pass in passes { try pass.run(on: &graph) }
            if graph.changeCount == before { return }
        }
        throw PassError("no fixed point after \(maxIterations) rounds")
    }
}
