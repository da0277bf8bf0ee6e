// StageSplitter: builds the staged graph of a static graph under a partition (split-stages' engine).

import IR

/// Rebuilds a static graph as S stages (DESIGN: "Split into stages"). Every split value v becomes
/// one value per stage and segment (`v.s2`, or `v.s2.p1` when v is a Concat of several classes'
/// segments); stage s of a weighted layer reads the input groups ≤ s (reuse) or = s (reuse off) as
/// a Concat of those pieces, and its weight is a `slice` of the shared full-width constant whose
/// bounds carry partition ranges (`NodeStaging.ranges`), so the graph's constants are the static
/// ones, unchanged. Per-channel parameters (BatchNormalization, per-channel Mul/Add operands) are
/// sliced the same way. A Concat emits nothing: its pieces are its inputs' pieces. The classifier is
/// computed per stage on that stage's pieces and accumulated (`classifierSums`), the bias once at
/// stage 1; its weightless tail runs once, at stage S, on the last sum, giving the graph output,
/// which is the one exit `split-stages` creates (threshold +inf). With S = 1 the result computes
/// the static function with the same MACs.
struct StageSplitter {
    let source: Graph
    let analysis: ChannelClassAnalysis
    let choice: PartitionChoice
    var out: Graph
    var info: StageInfo
    /// For each split value of `source`: per stage (index s−1), its pieces as (staged value, segment).
    var pieces: [String: [[(name: String, segment: Int)]]] = [:]

    init(_ source: Graph, analysis: ChannelClassAnalysis, choice: PartitionChoice) throws {
        self.source = source
        self.analysis = analysis
        self.choice = choice
        var classes = analysis.classes
        for i in classes.indices { classes[i].boundaries = choice.boundaries[i] }
        let totals = try CostModel.report(source).totals
        info = StageInfo(stageCount: choice.stageCount, classes: classes, reuseOff: choice.reuseOff.sorted(),
                         classifier: source.nodes[analysis.classifier].name, staticMACs: totals.macs,
                         staticParameters: totals.parameters)
        out = Graph(name: source.name)
        for input in source.inputs { try out.addInput(input.name, type: input.type) }
        for name in source.constantNames { if let t = source.constants[name] { try out.addConstant(name, t) } }
    }

    var stageCount: Int { choice.stageCount }

    /// The staged graph.
    mutating func build() throws -> Graph {
        let tail = Set(analysis.tail)
        for (index, node) in source.nodes.enumerated() {
            if index == analysis.classifier {
                try emitClassifier(node)
            } else if tail.contains(index) {
                try copy(node, stage: stageCount)
            } else if node.outputs.allSatisfy({ analysis.layouts[$0] == .whole }) {
                try copy(node, stage: 1)
            } else {
                try emitSplit(node)
            }
        }
        try out.setOutputs(source.outputs)
        try out.removeConstantsIfUnused(out.constantNames)
        let output = source.outputs[0]
        info.exits = [StageExit(stage: stageCount, value: output, threshold: .infinity, score: ExitScore.of(output, in: out))]
        out.setStageInfo(info)
        return out
    }

    // MARK: Emission helpers

    func segments(_ value: String) -> [ChannelSegment] { analysis.segments(of: value) }

    mutating func copy(_ node: Node, stage: Int) throws {
        var n = node
        n.staging = NodeStaging(stage: stage)
        try out.appendNode(n)
    }

    @discardableResult
    mutating func emit(_ op: Op, _ inputs: [String], node: String, output: String, stage: Int, ranges: [ChannelRange] = [],
                       outputCount: Int = 1) throws -> [String] {
        var outputs: [String] = []
        for i in 0..<outputCount {
            let base = outputCount == 1 ? output : "\(output).o\(i)"
            var name = out.freshName(base)
            while outputs.contains(name) { name = out.freshName(name + "_") }
            outputs.append(name)
        }
        try out.appendNode(Node(name: node, op: op, inputs: inputs, outputs: outputs,
                                staging: NodeStaging(stage: stage, ranges: ranges)))
        return outputs
    }

    /// A slice of `value` along the ranges' axes, its bounds resolved under the partition.
    mutating func slice(_ value: String, _ ranges: [ChannelRange], stage: Int, node: String) throws -> String {
        var starts: [Int] = [], ends: [Int] = []
        for r in ranges {
            guard let span = info.resolve(r) else { throw PassError("node '\(node)': internal error: unresolvable range \(r)") }
            starts.append(span.lowerBound)
            ends.append(span.upperBound)
        }
        let op = Op.slice(starts: starts, ends: ends, axes: ranges.map(\.axis), steps: ranges.map { _ in 1 })
        let name = out.freshName("\(value).s\(stage)")
        return try emit(op, [value], node: name, output: name, stage: stage, ranges: ranges)[0]
    }

    func range(_ seg: ChannelSegment, axis: Int, _ first: Int, _ last: Int) -> ChannelRange {
        ChannelRange(axis: axis, classIndex: seg.classIndex, scale: seg.scale, offset: seg.offset, firstStage: first, lastStage: last)
    }

    /// The piece of split `value` at `stage` for segment `j`.
    func piece(_ value: String, stage: Int, segment j: Int) throws -> String {
        guard let p = pieces[value]?[stage - 1].first(where: { $0.segment == j }) else {
            throw PassError("internal error: no piece of '\(value)' at stage \(stage), segment \(j)")
        }
        return p.name
    }

    /// Joins values along `axis` (a single value passes through).
    mutating func join(_ values: [String], axis: Int, stage: Int, node: String, output: String) throws -> String {
        if values.count == 1 { return values[0] }
        return try emit(.concat(axis: axis), values, node: "\(node).concat.s\(stage)", output: output, stage: stage)[0]
    }

    /// The axes of a weighted layer's weight: (output axis, input axis).
    func weightAxes(_ op: Op) -> (out: Int, in: Int) {
        if case .gemm(let a) = op, a.transB { return (0, 1) }
        if case .conv = op { return (0, 1) }
        return (1, 0)
    }

    /// Stage `stage` of a weighted layer's input and weight: the pieces of input stages
    /// `first...stage` ordered by segment then stage, and the weight slices to match (rows: output
    /// group `rows` when given).
    mutating func weightedInputs(_ node: Node, stage: Int, first: Int, rows: ChannelRange?) throws -> (x: String, w: String) {
        let x = node.inputs[0], w = node.inputs[1]
        let axes = weightAxes(node.op)
        let segs = segments(x)
        if segs.isEmpty {
            return (x, try rows.map { try slice(w, [$0], stage: stage, node: node.name) } ?? w)
        }
        var xs: [String] = [], ws: [String] = []
        for (j, seg) in segs.enumerated() {
            for u in first...stage { xs.append(try piece(x, stage: u, segment: j)) }
            ws.append(try slice(w, (rows.map { [$0] } ?? []) + [range(seg, axis: axes.in, first, stage)], stage: stage, node: node.name))
        }
        let xin = try join(xs, axis: 1, stage: stage, node: node.name, output: "\(x).in.\(node.name).s\(stage)")
        let win = try join(ws, axis: axes.in, stage: stage, node: node.name, output: "\(w).s\(stage)")
        return (xin, win)
    }

    /// The bias operand of a weighted layer, sliced to output group `rows` when given.
    mutating func biasInput(_ node: Node, stage: Int, rows: ChannelRange?) throws -> String? {
        guard node.inputs.count > 2 else { return nil }
        let b = node.inputs[2]
        guard let rows else { return b }
        let t = try source.type(of: b)
        let features = try source.type(of: node.outputs[0]).dims[1].value ?? 0
        if case .conv = node.op { return try slice(b, [ChannelRange(axis: 0, classIndex: rows.classIndex, firstStage: stage, lastStage: stage)], stage: stage, node: node.name) }
        if t.dims.allSatisfy({ $0.value == 1 }) { return b }
        let dims = t.dims.compactMap(\.value)
        if dims.last == features, dims.dropLast().allSatisfy({ $0 == 1 }) {
            return try slice(b, [ChannelRange(axis: dims.count - 1, classIndex: rows.classIndex, firstStage: stage, lastStage: stage)],
                             stage: stage, node: node.name)
        }
        throw PassError("node '\(node.name)' (gemm): a C operand of shape \(dims) cannot be split per output group")
    }

    // MARK: Nodes

    mutating func emitSplit(_ node: Node) throws {
        let y = node.outputs[0]
        switch node.op {
        case .concat:
            var perStage: [[(name: String, segment: Int)]] = Array(repeating: [], count: stageCount)
            var shift = 0
            for input in node.inputs {
                for s in 0..<stageCount {
                    perStage[s] += (pieces[input]?[s] ?? []).map { ($0.name, $0.segment + shift) }
                }
                shift += segments(input).count
            }
            pieces[y] = perStage
        case .conv(let a) where a.group > 1:
            try emitDepthwise(node, a)
        case .conv, .gemm, .matMul:
            let k = segments(y)[0]
            var perStage: [[(name: String, segment: Int)]] = []
            for s in 1...stageCount {
                let rows = range(k, axis: weightAxes(node.op).out, s, s)
                let first = info.reuseOff.contains(node.name) ? s : 1
                let (x, w) = try weightedInputs(node, stage: s, first: first, rows: rows)
                var inputs = [x, w]
                if let b = try biasInput(node, stage: s, rows: rows) { inputs.append(b) }
                let name = try emit(node.op, inputs, node: "\(node.name).s\(s)", output: "\(y).s\(s)", stage: s)[0]
                perStage.append([(name, 0)])
            }
            pieces[y] = perStage
        default:
            try emitChannelwise(node)
        }
    }

    mutating func emitDepthwise(_ node: Node, _ a: ConvAttributes) throws {
        let x = node.inputs[0], y = node.outputs[0]
        let segs = segments(x)
        var perStage: [[(name: String, segment: Int)]] = []
        for s in 1...stageCount {
            var stagePieces: [(name: String, segment: Int)] = []
            for p in pieces[x]?[s - 1] ?? [] {
                let r = range(segs[p.segment], axis: 0, s, s)
                guard let span = info.resolve(r) else { throw PassError("node '\(node.name)': internal error: bad range") }
                var attributes = a
                attributes.group = span.count
                var inputs = [p.name, try slice(node.inputs[1], [r], stage: s, node: node.name)]
                if node.inputs.count > 2 { inputs.append(try slice(node.inputs[2], [r], stage: s, node: node.name)) }
                let suffix = segs.count == 1 ? "s\(s)" : "s\(s).p\(p.segment)"
                let name = try emit(.conv(attributes), inputs, node: "\(node.name).\(suffix)", output: "\(y).\(suffix)", stage: s)[0]
                stagePieces.append((name, p.segment))
            }
            perStage.append(stagePieces)
        }
        pieces[y] = perStage
    }

    /// An op that acts on each channel (or each feature) on its own: applied to each piece, with
    /// per-channel operands sliced to the piece.
    mutating func emitChannelwise(_ node: Node) throws {
        guard let driver = node.inputs.first(where: { !segments($0).isEmpty }) else {
            throw PassError("internal error: node '\(node.name)' has no split input")
        }
        let segs = segments(driver)
        let outRank = try source.type(of: node.outputs[0]).rank
        var op = node.op
        if case .reshape = op { op = .flatten(axis: 1) }  // a flatten written as Reshape: its shape is per piece
        var perStage: [[[(name: String, segment: Int)]]] = Array(repeating: [], count: node.outputs.count)
        for s in 1...stageCount {
            var stagePieces: [[(name: String, segment: Int)]] = Array(repeating: [], count: node.outputs.count)
            for p in pieces[driver]?[s - 1] ?? [] {
                let seg = segs[p.segment]
                var inputs: [String] = []
                for (i, input) in node.inputs.enumerated() {
                    if !segments(input).isEmpty {
                        inputs.append(try piece(input, stage: s, segment: p.segment))
                    } else if case .batchNormalization = node.op, i > 0 {
                        inputs.append(try slice(input, [range(seg, axis: 0, s, s)], stage: s, node: node.name))
                    } else if let axis = try channelAxis(of: input, outputRank: outRank) {
                        inputs.append(try slice(input, [range(seg, axis: axis, s, s)], stage: s, node: node.name))
                    } else {
                        inputs.append(input)
                    }
                }
                let suffix = segs.count == 1 ? "s\(s)" : "s\(s).p\(p.segment)"
                let names = try emit(op, inputs, node: "\(node.name).\(suffix)", output: "\(node.outputs[0]).\(suffix)", stage: s,
                                     outputCount: node.outputs.count)
                for (o, name) in names.enumerated() { stagePieces[o].append((name, p.segment)) }
            }
            for o in node.outputs.indices { perStage[o].append(stagePieces[o]) }
        }
        for (o, name) in node.outputs.enumerated() { pieces[name] = perStage[o] }
    }

    /// The axis of an unsplit operand that broadcasts against the output's axis 1 with more than
    /// one element (so it must be sliced per piece), or nil when it broadcasts over channels.
    func channelAxis(of operand: String, outputRank: Int) throws -> Int? {
        let t = try source.type(of: operand)
        let axis = 1 - (outputRank - t.rank)
        guard axis >= 0, axis < t.rank, let d = t.dims[axis].value, d > 1 else { return nil }
        return axis
    }

    /// The classifier, per stage on that stage's pieces, accumulated; bias at stage 1.
    mutating func emitClassifier(_ node: Node) throws {
        if case .conv(let a) = node.op, a.group > 1 {
            throw PassError("node '\(node.name)': a grouped convolution as the classifier is not supported")
        }
        let y = node.outputs[0]
        // A fused activation is not linear: the parts are summed first, and the activation
        // becomes the first op of the tail (so every exit applies it to its own sums).
        var op = node.op
        var activation: FusedActivation?
        if case .conv(var a) = op, let act = a.activation {
            activation = act
            a.activation = nil
            op = .conv(a)
        }
        let last = activation == nil ? y : "\(y).sum"
        var sums: [String] = []
        for s in 1...stageCount {
            let (x, w) = try weightedInputs(node, stage: s, first: s, rows: nil)
            var inputs = [x, w]
            if s == 1, let b = try biasInput(node, stage: s, rows: nil) { inputs.append(b) }
            let partName = s == 1 ? (stageCount == 1 ? last : "\(y).s1") : "\(y).part\(s)"
            let part = try emit(op, inputs, node: "\(node.name).s\(s)", output: partName, stage: s)[0]
            if s == 1 {
                sums.append(part)
            } else {
                let sumName = s == stageCount ? last : "\(y).s\(s)"
                sums.append(try emit(.add, [sums[s - 2], part], node: "\(node.name).sum.s\(s)", output: sumName, stage: s)[0])
            }
        }
        if let activation {
            try emit(activation.op, [sums[stageCount - 1]], node: "\(node.name).activation", output: y, stage: stageCount)
        }
        info.classifierSums = sums
    }
}

extension ExitScore {
    /// How an exit of `value` is scored: `max` when it is a Softmax's result, else `softmax`.
    static func of(_ value: String, in graph: Graph) -> ExitScore {
        if let p = graph.producer(of: value), case .softmax = graph.nodes[p].op { return .max }
        return .softmax
    }
}
