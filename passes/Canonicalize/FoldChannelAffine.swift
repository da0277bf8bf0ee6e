// FoldChannelAffine: folds a multiply or add by a per-channel constant into the conv before it.
//
// Before:
//   const %s: f32[8,1,1] = dense<...>
//   %c = conv(%x, %w, %b) {kernel = [1, 1]}
//   %m = mul(%c, %s)
//   %y = add(%m, %t)                     (const %t: f32[1,8,1,1])
// After:
//   %c = conv(%x, %w_scaled, %b_shifted) {kernel = [1, 1]}      w·s per output channel, b·s + t
//
// Covers conv·c, c·conv, conv+c, c+conv, conv−c and conv/c (c with no zero), where c broadcasts
// along the channel axis only (shape [C], [C,1,1], [1,C,1,1], or a scalar) and the result has the
// conv's shape. It fires only when the conv result feeds nothing else and has no fused activation,
// and the folded node's result is not a graph output (output names never change).

import IR

/// Folds per-channel scale and shift into convolutions (see the file comment).
public struct FoldChannelAffine: PatternPass {
    public static let name = "fold-channel-affine"
    public static let summary = "Folds Mul/Add/Sub/Div by a per-channel constant into the producing Conv"

    public init(options: PassOptions) throws {}

    public var patterns: [any RewritePattern] { [FoldChannelAffineIntoConv()] }
}

/// Rooted at the mul/add/sub/div node.
struct FoldChannelAffineIntoConv: RewritePattern {
    let name = "fold-channel-affine-into-conv"

    func matchAndRewrite(nodeAt index: Int, in graph: inout Graph) throws -> Bool {
        let node = graph.nodes[index]
        guard node.op.isBinaryElementwise else { return false }
        // Which operand is the conv result; sub and div only fold with the conv on the left.
        for side in [0, 1] {
            if side == 1 && (node.op == .sub || node.op == .div) { break }
            if try fold(node, at: index, convOperand: side, in: &graph) { return true }
        }
        return false
    }

    private func fold(_ node: Node, at index: Int, convOperand side: Int, in graph: inout Graph) throws -> Bool {
        let x = node.inputs[side], constName = node.inputs[1 - side]
        guard x != constName, !graph.isRoot(node.outputs[0]), let p = graph.producer(of: x), graph.soleUser(of: x) == index,
              case .conv(let a) = graph.nodes[p].op, a.activation == nil,
              let c = graph.constantData(constName), let type = graph.types[x],
              graph.types[node.outputs[0]] == type,
              let v = Self.perChannel(c, convType: type) else { return false }
        let conv = graph.nodes[p]
        guard let w = graph.constantData(conv.inputs[1]) else { return false }
        let cout = w.shape[0]
        var bias = [Float](repeating: 0, count: cout)
        if conv.inputs.count == 3 {
            guard let b = graph.constantData(conv.inputs[2]) else { return false }
            bias = b.scalars
        }
        var scale = [Float](repeating: 1, count: cout)
        switch node.op {
        case .mul:
            scale = v
            bias = zip(bias, v).map(*)
        case .div:
            guard !v.contains(0) else { return false }
            scale = v.map { 1 / $0 }
            bias = zip(bias, v).map(/)
        case .add:
            bias = zip(bias, v).map(+)
        case .sub:
            bias = zip(bias, v).map(-)
        default:
            return false
        }
        var inputs = [conv.inputs[0], conv.inputs[1]]
        if node.op == .mul || node.op == .div {
            inputs[1] = try graph.addFreshConstant(conv.inputs[1] + "_scaled", ChannelScaling.scaleRows(w, by: scale))
        }
        let biasBase = conv.inputs.count == 3 ? conv.inputs[2] : conv.name + ".bias"
        inputs.append(try graph.addFreshConstant(biasBase + "_shifted", Tensor(shape: [cout], scalars: bias)))
        try graph.setOp(conv.op, ofNodeAt: p, inputs: inputs)
        try graph.replaceNode(at: index, withValue: x)
        try graph.removeConstantsIfUnused(Array(conv.inputs.dropFirst()))
        return true
    }

    /// The constant as one value per channel of a conv output of `convType` ([N, C, spatial…]), or
    /// nil when it varies along another axis or has more dimensions than the conv output.
    static func perChannel(_ c: Tensor, convType: TensorType) -> [Float]? {
        let rank = convType.rank
        guard c.shape.count <= rank, let channels = convType.dims[1].value else { return nil }
        let offset = rank - c.shape.count
        for (i, size) in c.shape.enumerated() where offset + i != 1 && size != 1 { return nil }
        let channelIndex = 1 - offset
        if channelIndex >= 0, c.shape[channelIndex] == channels {
            return c.scalars
        }
        if channelIndex >= 0, c.shape[channelIndex] != 1 { return nil }
        return [Float](repeating: c.scalars[0], count: channels)
    }
}
