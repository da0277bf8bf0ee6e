// StripSoftmax: the README's example of a custom pass; removes the softmax that ends a classifier.
//
// Before:
//   %logits = gemm(%f, %w, %b) {trans_b = true}
//   %probs = softmax(%logits) {axis = 1}
//   return %probs
// After:
//   %logits = gemm(%f, %w, %b) {trans_b = true}
//   return %logits
//
// A classifier's argmax and its early-exit ranking do not need the softmax itself. With
// `only-outputs=false` it also removes softmaxes inside the graph, which does change what the
// readers compute: that is what the option is for, to show typed options.

import IR

/// Removes softmax nodes (see the file comment). Registered under "strip-softmax".
public struct StripSoftmax: Pass {
    public static let name = "strip-softmax"
    public static let summary = "Removes softmax nodes that produce graph outputs (example pass)"
    public static let options: [PassOptionSpec] = [
        .bool("only-outputs", default: true, help: "only remove softmaxes whose result is a graph output"),
    ]

    let onlyOutputs: Bool

    public init(options: PassOptions) throws {
        onlyOutputs = try options.bool("only-outputs")
    }

    public func run(on graph: inout Graph) throws {
        var index = 0
        while index < graph.nodes.count {
            let node = graph.nodes[index]
            guard case .softmax = node.op, !onlyOutputs || graph.isOutput(node.outputs[0]),
                  !graph.isOutput(node.inputs[0]), !graph.inputs.contains(where: { $0.name == node.inputs[0] })
            else {
                index += 1
                continue
            }
            // Readers and the output list now name the logits; the softmax is left unread.
            try graph.replaceAllUses(of: node.outputs[0], with: node.inputs[0])
            try graph.removeNode(at: index)
        }
    }
}
