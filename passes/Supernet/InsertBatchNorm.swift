// InsertBatchNorm: puts an identity BatchNormalization after every convolution that has none (BN-folded models), for supernet training.

import IR

/// Models exported in eval mode have BatchNormalization folded into their convolutions, yet a
/// slimmed configuration shifts activation statistics; supernet training wants a normalization to
/// train (batch statistics) and to recalibrate per configuration. This pass inserts, after each
/// convolution whose result is not already normalized, a BatchNormalization that is the identity
/// (scale 1, bias 0, mean 0, variance 1 − ε), between the convolution and its fused activation.
/// Its constants are named `<conv>.inserted_bn.{scale,bias,mean,var}`;
/// `BatchNormInsertion.initialize` (Runtime) then sets them from statistics measured on training
/// data so that the function stays the same (mean μ, variance σ², scale √(σ²+ε), bias μ), and
/// `fold-batchnorm` folds them back into the convolutions.
///
/// ```
/// // before
/// %y: f32[N,8,4,4] = conv(%x, %w, %b) {…, activation = relu} name = "c"
/// // after
/// %y.conv: f32[N,8,4,4] = conv(%x, %w, %b) {…} name = "c"
/// %y.bn: f32[N,8,4,4] = batch_normalization(%y.conv, %c.inserted_bn.scale, …) {epsilon = 1e-05} name = "c.inserted_bn"
/// %y: f32[N,8,4,4] = relu(%y.bn) name = "c.activation"
/// ```
public struct InsertBatchNorm: Pass {
    public static let name = "insert-batchnorm"
    public static let summary = "Inserts an identity BatchNormalization after every convolution without one (before split-stages, for supernet training)"
    public static let options: [PassOptionSpec] = [
        .double("epsilon", default: 1e-5, help: "epsilon of the inserted BatchNormalizations"),
    ]

    /// The suffix of the inserted nodes' names (constants add `.scale`, `.bias`, `.mean`, `.var`).
    public static let suffix = ".inserted_bn"

    let epsilon: Float

    public init(options: PassOptions) throws {
        epsilon = Float(try options.double("epsilon"))
        guard epsilon > 0 else { throw PassError("epsilon must be positive") }
    }

    public func run(on graph: inout Graph) throws {
        guard graph.stageInfo == nil else { throw PassError("insert-batchnorm runs on the static graph, before split-stages") }
        var index = 0
        while index < graph.nodes.count {
            let node = graph.nodes[index]
            guard case .conv(var a) = node.op, let y = node.outputs.first, let type = try? graph.type(of: y),
                  type.rank >= 3, let channels = type.dims[1].value, !Self.isNormalized(y, a, graph)
            else {
                index += 1
                continue
            }
            // Rebuild: conv → y.conv, BN → y.bn (or y), activation → y.
            let activation = a.activation
            a.activation = nil
            let base = node.name + Self.suffix
            try graph.addConstant(base + ".scale", Tensor(shape: [channels], repeating: 1))
            try graph.addConstant(base + ".bias", Tensor(shape: [channels], repeating: 0))
            try graph.addConstant(base + ".mean", Tensor(shape: [channels], repeating: 0))
            try graph.addConstant(base + ".var", Tensor(shape: [channels], repeating: 1 - epsilon))
            let convOut = graph.freshName(y + ".conv")
            try graph.insertNode(Node(name: node.name, op: .conv(a), inputs: node.inputs, outputs: [convOut]), at: index + 1)
            let bnOut = graph.freshName(y + ".bn")
            try graph.insertNode(Node(name: base, op: .batchNormalization(epsilon: epsilon),
                                      inputs: [convOut, base + ".scale", base + ".bias", base + ".mean", base + ".var"], outputs: [bnOut]),
                                 at: index + 2)
            var final = bnOut
            if let activation {
                final = graph.freshName(y + ".act")
                try graph.insertNode(Node(name: node.name + ".activation", op: activation.op, inputs: [bnOut], outputs: [final]), at: index + 3)
            }
            try graph.replaceAllUses(of: y, with: final)
            try graph.removeNode(at: index)
            index += activation == nil ? 2 : 3
        }
    }

    /// True when the convolution's result already goes into a BatchNormalization.
    static func isNormalized(_ y: String, _ a: ConvAttributes, _ graph: Graph) -> Bool {
        guard a.activation == nil else { return false }
        return graph.users(of: y).contains { i in
            if case .batchNormalization = graph.nodes[i].op { return true }
            return false
        }
    }
}
