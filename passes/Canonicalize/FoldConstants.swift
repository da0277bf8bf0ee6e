// FoldConstants: evaluates nodes whose inputs are all constants and replaces them with constants.
//
// Before:
//   const %a: f32[2] = dense<[1.0, 2.0]>
//   const %k: f32[2] = dense<[3.0, 4.0]>
//   %s = mul(%a, %k)
//   %y = add(%x, %s)
// After:
//   const %s_folded: f32[2] = dense<[3.0, 8.0]>
//   %y = add(%x, %s_folded)
//
// Constants left unused are removed. Nodes whose result is a graph output, nodes reading elided
// constants, ops `ConstantEvaluator` does not cover, and results above `max-elements` are left alone.

import IR

/// Folds constant subexpressions (see the file comment).
public struct FoldConstants: PatternPass {
    public static let name = "fold-constants"
    public static let summary = "Evaluates nodes whose inputs are all constants and replaces them with constants"
    public static let options: [PassOptionSpec] = [
        .int("max-elements", default: 1 << 24, help: "do not create constants with more elements than this"),
    ]

    let maxElements: Int

    public init(options: PassOptions) throws {
        maxElements = try options.int("max-elements")
    }

    public var patterns: [any RewritePattern] { [FoldConstantNode(maxElements: maxElements)] }
}

/// Folds one node whose inputs are all constants.
struct FoldConstantNode: RewritePattern {
    let name = "fold-constant-node"
    let maxElements: Int

    func matchAndRewrite(nodeAt index: Int, in graph: inout Graph) throws -> Bool {
        let node = graph.nodes[index]
        guard !node.inputs.isEmpty, !node.outputs.contains(where: graph.isRoot) else { return false }
        var inputs: [Tensor] = []
        for name in node.inputs {
            guard let t = graph.constantData(name) else { return false }
            inputs.append(t)
        }
        var shapes: [[Int]] = []
        for out in node.outputs {
            guard let shape = graph.types[out]?.fixedShape, shape.elementCount <= maxElements else { return false }
            shapes.append(shape)
        }
        guard let results = ConstantEvaluator.evaluate(node.op, inputs, outputShapes: shapes),
              results.count == node.outputs.count else { return false }
        for (out, tensor) in zip(node.outputs, results) {
            let folded = try graph.addFreshConstant(out + "_folded", tensor)
            try graph.replaceAllUses(of: out, with: folded)
        }
        try graph.removeNode(at: index)
        try graph.removeConstantsIfUnused(node.inputs)
        return true
    }
}
