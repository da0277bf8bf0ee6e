// FoldBatchNorm: folds an inference BatchNormalization into the Conv or Gemm that feeds it.
//
// Before:
//   %c = conv(%x, %w, %b) {kernel = [3, 3]}
//   %y = batch_norm(%c, %scale, %shift, %mean, %var) {epsilon = 1e-05}
// After (k = scale / sqrt(var + epsilon), per output channel; BatchNormCoefficients):
//   const %w_bn = w · k               const %b_bn = (b − mean) · k + shift
//   %c = conv(%x, %w_bn, %b_bn) {kernel = [3, 3]}
//
// The same for a Gemm whose [M, N] output is normalized over axis 1: B's output columns scale by
// k and C becomes (β·C − mean) · k + shift, with β = 1. It fires only when the conv/gemm result
// feeds nothing but the batch norm, has no fused activation, and weights, bias and statistics are
// constants with data. This file is the only place that folds batch norms (the interpreter and
// the backends run it through the `lower` pipeline). Like every canonicalization, it never renames a graph output: a batch norm
// whose result is a graph output stays (except under `lowering=true`, where the folded node takes
// the batch norm's place and output).

import IR

/// Folds batch normalization into the producing conv or gemm (see the file comment).
public struct FoldBatchNorm: PatternPass {
    public static let name = "fold-batchnorm"
    public static let summary = "Folds BatchNormalization into the Conv or Gemm that produces its input"

    public static let options: [PassOptionSpec] = [
        .bool("lowering", default: false,
              help: "fold also where the batch norm's result is a graph output, naming the node producer+batch_norm (the lower pipeline)"),
    ]

    let lowering: Bool

    public init(options: PassOptions) throws {
        lowering = try options.bool("lowering")
    }

    public var patterns: [any RewritePattern] { [FoldBatchNormIntoProducer(lowering: lowering)] }
}

/// Rooted at a batch_norm node; rewrites its producer.
struct FoldBatchNormIntoProducer: RewritePattern {
    let name = "fold-batchnorm-into-producer"
    /// The `lowering` option: the folded node takes the batch norm's place, outputs and a merged name.
    var lowering = false

    func matchAndRewrite(nodeAt index: Int, in graph: inout Graph) throws -> Bool {
        let bn = graph.nodes[index]
        guard case .batchNormalization(let epsilon, nil) = bn.op, lowering || !graph.isRoot(bn.outputs[0]),
              let p = graph.producer(of: bn.inputs[0]), graph.soleUser(of: bn.inputs[0]) == index,
              let scale = graph.constantData(bn.inputs[1]), let shift = graph.constantData(bn.inputs[2]),
              let mean = graph.constantData(bn.inputs[3]), let variance = graph.constantData(bn.inputs[4])
        else { return false }
        let k = BatchNormCoefficients(scale: scale, bias: shift, mean: mean, variance: variance, epsilon: epsilon)
        let producer = graph.nodes[p]
        // A producer with an activation cannot take the batch norm: it would move past the activation.
        switch producer.op {
        case .conv(let a) where a.activation == nil:
            return try foldIntoConv(producer, at: p, a, k, bn: bn, bnIndex: index, in: &graph)
        case .gemm(let a) where a.activation == nil:
            return try foldIntoGemm(producer, at: p, a, k, bn: bn, bnIndex: index, in: &graph)
        default:
            return false
        }
    }

    private func foldIntoConv(_ conv: Node, at p: Int, _ a: ConvAttributes, _ k: BatchNormCoefficients,
                              bn: Node, bnIndex: Int, in graph: inout Graph) throws -> Bool {
        guard let w = graph.constantData(conv.inputs[1]) else { return false }
        let cout = w.shape[0]
        guard k.multiplier.count == cout else { return false }
        var bias = [Float](repeating: 0, count: cout)
        if conv.inputs.count == 3 {
            guard let b = graph.constantData(conv.inputs[2]) else { return false }
            bias = b.scalars
        }
        let w2 = ChannelScaling.scaleRows(w, by: k)
        let b2 = (0..<cout).map { k.foldedBias(bias[$0], channel: $0) }
        try rewire(conv, at: p, op: .conv(a), weight: w2, bias: Tensor(shape: [cout], scalars: b2), bn: bn, bnIndex: bnIndex, in: &graph)
        return true
    }

    private func foldIntoGemm(_ gemm: Node, at p: Int, _ a: GemmAttributes, _ k: BatchNormCoefficients,
                              bn: Node, bnIndex: Int, in graph: inout Graph) throws -> Bool {
        guard let b = graph.constantData(gemm.inputs[1]), let out = graph.types[gemm.outputs[0]],
              out.rank == 2, let n = out.dims[1].value, k.multiplier.count == n else { return false }
        // Scale output column j of op(B) by k[j]: rows of B when transB, columns otherwise.
        let b2 = a.transB ? ChannelScaling.scaleRows(b, by: k) : ChannelScaling.scaleColumns(b, by: k)
        // C' = β·C·k + offset, broadcast over rows; a C with its own rows ([M, N]) keeps them.
        var c2: Tensor
        if gemm.inputs.count == 3 {
            guard let c = graph.constantData(gemm.inputs[2]) else { return false }
            let rows = c.shape.count == 2 && c.shape[0] != 1 ? c.shape[0] : 1
            let shape = rows == 1 ? [1, n] : [rows, n]
            let beta = a.beta
            let columns = Tensor(shape: [n], scalars: (0..<n).map(Float.init))
            // Broadcasting the column index along with C says which channel each element is in.
            c2 = ConstantEvaluator.broadcast(c, columns, to: shape) { k.foldedBias($0 * beta, channel: Int($1)) }
            if rows == 1 { c2 = Tensor(shape: [n], scalars: c2.scalars) }
        } else {
            c2 = Tensor(shape: [n], scalars: (0..<n).map { k.foldedBias(0, channel: $0) })
        }
        var a2 = a
        a2.beta = 1
        try rewire(gemm, at: p, op: .gemm(a2), weight: b2, bias: c2, bn: bn, bnIndex: bnIndex, in: &graph)
        return true
    }

    /// Points the producer at the new weight and bias, routes the batch norm's readers to the
    /// producer, and removes the batch norm and whatever constants became unused.
    private func rewire(_ producer: Node, at p: Int, op: Op, weight: Tensor, bias: Tensor, bn: Node, bnIndex: Int,
                        in graph: inout Graph) throws {
        let w = try graph.addFreshConstant(producer.inputs[1] + "_bn", weight)
        let b = try graph.addFreshConstant((producer.inputs.count == 3 ? producer.inputs[2] : producer.name + ".bias") + "_bn", bias)
        if lowering {
            try graph.mergeProducer(at: p, intoReaderAt: bnIndex, op: op, inputs: [producer.inputs[0], w, b],
                                    name: producer.name + "+" + bn.name)
            return
        }
        try graph.setOp(op, ofNodeAt: p, inputs: [producer.inputs[0], w, b])
        // Rerouting and the op change move no node: the batch norm is still at `bnIndex`.
        try graph.replaceNode(at: bnIndex, withValue: producer.outputs[0])
        try graph.removeConstantsIfUnused(Array(producer.inputs.dropFirst()))
    }
}

/// Per-channel rewriting of weight tensors along their first or second axis.
enum ChannelScaling {
    /// `f(w, i)` for every element w of slice i along axis 0 (conv weights [Cout, …], gemm B with transB).
    static func mapRows(_ t: Tensor, _ f: (Float, Int) -> Float) -> Tensor {
        let inner = t.count / max(t.shape[0], 1)
        var s = t.scalars
        for i in s.indices { s[i] = f(s[i], i / inner) }
        return Tensor(shape: t.shape, scalars: s)
    }

    /// `f(w, j)` for every element w of column j of a 2-D tensor.
    static func mapColumns(_ t: Tensor, _ f: (Float, Int) -> Float) -> Tensor {
        let n = t.shape[1]
        var s = t.scalars
        for i in s.indices { s[i] = f(s[i], i % n) }
        return Tensor(shape: t.shape, scalars: s)
    }

    /// Multiplies slice i along axis 0 by `k[i]`.
    static func scaleRows(_ t: Tensor, by k: [Float]) -> Tensor { mapRows(t) { $0 * k[$1] } }

    /// Slice i along axis 0 times the batch norm's k[i], rounded once.
    static func scaleRows(_ t: Tensor, by k: BatchNormCoefficients) -> Tensor { mapRows(t, k.foldedWeight) }

    /// Column j of a 2-D tensor times the batch norm's k[j], rounded once.
    static func scaleColumns(_ t: Tensor, by k: BatchNormCoefficients) -> Tensor { mapColumns(t, k.foldedWeight) }
}
