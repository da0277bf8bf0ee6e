// StageResolution: the same staged graph under another partition (slice bounds re-resolved, types re-inferred).

extension Graph {
    /// This staged graph with every class's boundaries replaced by `boundaries` (class name →
    /// b₁…b_S; classes not named keep theirs): each partition slice's bounds are its `ranges`
    /// resolved under the new table (`StageInfo.resolve`), a depthwise stage's `group` follows its
    /// input's channel count, and every type is inferred again. Constants are shared, not copied,
    /// so a supernet configuration costs one walk over the nodes.
    ///
    /// Throws when the graph is not staged, a class is unknown, or boundaries are not S strictly
    /// increasing numbers ending at the class's channel count.
    public func repartitioned(boundaries: [String: [Int]]) throws -> Graph {
        guard var info = stageInfo else { throw IRError("the graph is not split into stages") }
        for (name, b) in boundaries.sorted(by: { $0.key < $1.key }) {
            guard let k = info.classIndex(named: name) else {
                throw IRError("no channel class '\(name)'; classes: \(info.classes.map(\.name).joined(separator: ", "))")
            }
            let c = info.classes[k].channels
            guard b.count == info.widthStageCount, b.last == c, b.first.map({ $0 >= 1 }) == true,
                  zip(b, b.dropFirst()).allSatisfy({ $0 < $1 }) else {
                throw IRError("class '\(name)': boundaries \(b) must be \(info.widthStageCount) strictly increasing numbers from 1 ending at \(c)")
            }
            info.classes[k].boundaries = b
        }
        var g = Graph(name: name)
        for input in inputs { try g.addInput(input.name, type: input.type) }
        for c in constantNames { if let t = constants[c] { try g.addConstant(c, t) } }
        for var node in nodes {
            if let staging = node.staging, !staging.ranges.isEmpty, case .slice(var starts, var ends, let axes, let steps) = node.op {
                for r in staging.ranges {
                    guard let span = info.resolve(r), let i = axes.firstIndex(of: r.axis) else {
                        throw IRError("partition range on axis \(r.axis) cannot be resolved", node: node.name)
                    }
                    starts[i] = span.lowerBound
                    ends[i] = span.upperBound
                }
                node.op = .slice(starts: starts, ends: ends, axes: axes, steps: steps)
            }
            if case .conv(var a) = node.op, a.group > 1, node.staging != nil,
               let old = try? type(of: node.inputs[0]), old.rank >= 2, old.dims[1].value == a.group {
                // A depthwise stage: one group per channel of its piece.
                if let new = try g.type(of: node.inputs[0]).dims[1].value { a.group = new }
                node.op = .conv(a)
            }
            try g.appendNode(node)
        }
        try g.setOutputs(outputs)
        g.setStageInfo(info)
        return g
    }
}
