// Repartition: the staged graph of another partition with the same stages, sharing every constant.

import IR

/// Builds the staged graph of a new partition (boundaries per class, same S) from a staged graph,
/// without the static graph and without touching the constants: every partition slice's bounds
/// are re-resolved from its ranges, each depthwise stage's `group` follows its input's channels,
/// and all types are re-inferred. This is how a supernet switches configuration: the weights are
/// the shared full-width constants; only slice bounds change.
public enum Repartition {
    public static func apply(_ graph: Graph, boundaries: [[Int]]) throws -> Graph {
        guard var info = graph.stageInfo else { throw PassError("the graph has no stages") }
        guard boundaries.count == info.classes.count else {
            throw PassError("\(boundaries.count) boundary lists for \(info.classes.count) classes")
        }
        for (i, b) in boundaries.enumerated() {
            let c = info.classes[i]
            guard b.count == info.stageCount, b.last == c.channels, (b.first ?? 0) >= 1, zip(b, b.dropFirst()).allSatisfy({ $0 < $1 }) else {
                throw PassError("class '\(c.name)' (\(c.channels) channels) needs \(info.stageCount) increasing boundaries ending at \(c.channels), got \(b)")
            }
            info.classes[i].boundaries = b
        }
        var out = Graph(name: graph.name)
        for input in graph.inputs { try out.addInput(input.name, type: input.type) }
        for name in graph.constantNames { if let t = graph.constants[name] { try out.addConstant(name, t) } }
        for var node in graph.nodes {
            if let ranges = node.staging?.ranges, !ranges.isEmpty, case .slice(var starts, var ends, let axes, let steps) = node.op {
                for r in ranges {
                    guard let span = info.resolve(r), let i = axes.firstIndex(of: r.axis) else {
                        throw PassError("node '\(node.name)': cannot resolve its partition range")
                    }
                    starts[i] = span.lowerBound
                    ends[i] = span.upperBound
                }
                node.op = .slice(starts: starts, ends: ends, axes: axes, steps: steps)
            }
            if case .conv(var a) = node.op, a.group > 1 || isDepthwiseWeight(node, graph),
               let cin = try out.type(of: node.inputs[0]).dims[1].value {
                a.group = cin
                node.op = .conv(a)
            }
            try out.appendNode(node)
        }
        try out.setOutputs(graph.outputs)
        out.setStageInfo(info)
        return out
    }

    /// A conv whose weight slices a constant with one input channel per group and whose input is
    /// split (a depthwise stage, possibly of a single channel).
    static func isDepthwiseWeight(_ node: Node, _ graph: Graph) -> Bool {
        guard node.inputs.count > 1, let p = graph.producer(of: node.inputs[1]), case .slice = graph.nodes[p].op,
              let w = graph.constants[graph.nodes[p].inputs[0]], w.shape.count > 1, w.shape[1] == 1,
              graph.nodes[p].staging?.ranges.count == 1, graph.nodes[p].staging?.ranges.first?.axis == 0,
              graph.producer(of: node.inputs[0]) != nil else { return false }
        return true
    }
}
