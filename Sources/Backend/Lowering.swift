// Lowering: IR graph → backend program: the `lower` passes fold and fuse, then views become aliases.

import IR
import Passes

/// One kernel invocation of the emitted code.
struct Step {
    /// The IR node it came from (for comments and errors).
    var name: String
    /// The op without its epilogue (what the kernel computes before `activation`).
    var op: Op
    var inputs: [String]
    var outputs: [String]
    /// Applied to every output element as it is produced (the op's fused activation; with a
    /// residual, after the residual is added).
    var activation: FusedActivation?
    /// The input (index) added to a convolution's output before `activation` (ResidualFusion).
    var residual: Int? = nil
}

/// The graph as the emitters see it: concrete shapes (batch 1), kernels in order, and views.
struct Program {
    var name: String
    var inputs: [String]
    var outputs: [String]
    /// Concrete shape of every value (a symbolic batch is 1).
    var shapes: [String: [Int]]
    var constants: [String: Tensor]
    var steps: [Step]
    /// Values that are views (reshape, flatten, identity, dropout) of another value's storage,
    /// mapped to the value that owns the storage.
    var aliasOf: [String: String]

    /// The value owning `v`'s storage.
    func root(_ v: String) -> String { aliasOf[v] ?? v }

    func count(_ v: String) -> Int { shapes[v]!.elementCount }
}

/// Builds a `Program` from a verified graph.
///
/// The backend re-derives no rewrite: BatchNormalization folding and activation fusion are the
/// `lower` pass pipeline's (fold-batchnorm, fuse-activation into every producer), which runs here
/// first, so any valid graph (the node tests feed unpassed imports) is emitted as `s2dc opt` would
/// prepare it. What remains is the backend's own business: views share storage.
enum Lowering {
    static func lower(_ graph: Graph) throws -> Program {
        let graph = try Lower.lowered(graph)
        var shapes: [String: [Int]] = [:]
        for (name, type) in graph.types { shapes[name] = type.shape(batch: 1) }
        var program = Program(name: graph.name, inputs: graph.inputs.map(\.name), outputs: graph.outputs,
                              shapes: shapes, constants: graph.constants, steps: [], aliasOf: [:])
        for node in graph.nodes {
            switch node.op {
            case .flatten, .reshape, .identity, .dropout:
                program.aliasOf[node.outputs[0]] = program.root(node.inputs[0])
            default:
                program.steps.append(Step(name: node.name, op: node.op.withoutActivation, inputs: node.inputs,
                                          outputs: node.outputs, activation: node.op.activation))
            }
        }
        return program
    }
}
