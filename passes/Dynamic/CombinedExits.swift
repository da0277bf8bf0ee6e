// CombinedExits: insert-exits{at=blocks} on width stages: each width stage cut at the blocks, a depth exit per (width stage, block).

import IR

/// Depth exits on a graph split into S ≥ 2 width stages (the "second axis"): exits indexed
/// by (width stage s, block b), ordered lexicographically, so the graph stays one linear sequence
/// of stages, each ending with its exit (`StageAxis.widthDepth`, B blocks, S·(B+1) stages):
///
/// - Stage (s−1)·(B+1)+b (b ≤ B) holds width stage s's nodes that block b's group-s piece depends
///   on and no earlier block's does, then exit (s, b); stage s·(B+1) holds the rest of width stage
///   s and width exit s (the classifier on groups ≤ s, as `insert-exits` puts it). Width stage s
///   reads only width stages ≤ s, and inside it sub-stage b only blocks ≤ b, so every stage reads
///   only earlier ones and the stage-by-stage machinery (verifier, cost, interpreter, backends)
///   runs it unchanged.
/// - **Heads.** One head per block, shared by the widths and sliced by prefix as the classifier is:
///   `exitb.fc.weight [K, C]` (C the block's channels) and `exitb.fc.bias`, drawn as the depth-only
///   heads are (same seed, same values). Exit (s, b) is `gemm(flatten(global_average_pool(piece s
///   of block b)), slice(weight, the columns of group s), bias at s = 1 only)` added onto exit
///   (s−1, b)'s sum, then the copy of the model's shape-keeping tail: the logits of the head on the
///   groups ≤ s of block b's output, each column computed once over all widths. Separate heads per
///   (s, b) would recompute the groups < s at every width and could not share weights across
///   configurations; the prefix-sliced head is DS-Net's dense slicing applied to heads, and its
///   column slices carry partition ranges, so a repartition re-resolves them like any weight.
/// - **Blocks** are found by the depth rule (`DepthExits.blockOutputs`) on width stage 1 (the
///   network at the first group's width); block b at width stage s is the same static node's
///   stage-s piece (node `X.s1` ↔ `X.s<s>`, split-stages' naming). A block that is a Concat of
///   several classes' pieces (no single value per stage) gets no exit.
///
/// ```
/// // before: split-stages{fractions=[0.5]} of a residual block %r then the classifier
/// %r.s1 = relu(%a.s1) name = "r.s1" stage = 1
/// %r.s2 = relu(%a.s2) name = "r.s2" stage = 1 … stage = 2
/// // after insert-exits{at=blocks}: stages 4 = (w1,b1) (w1,fc) (w2,b1) (w2,fc)
/// %r.s1 = relu(%a.s1) name = "r.s1" stage = 1
/// %exit1.fc.s1 = gemm(%exit1.flatten.s1, %exit1.fc.weight.s1, %exit1.fc.bias) {trans_b = true} name = "exit1.fc.s1" stage = 1
/// %r.s2 = relu(%a.s2) name = "r.s2" stage = 3
/// %exit1.fc.part2 = gemm(%exit1.flatten.s2, %exit1.fc.weight.s2) {trans_b = true} name = "exit1.fc.part2" stage = 3
/// %exit1.fc.s2 = add(%exit1.fc.s1, %exit1.fc.part2) name = "exit1.fc.sum.s2" stage = 3
/// stages 4 static_macs = … axis = width_depth blocks = 1
/// exit 1 %exit1.fc.s1 threshold = inf score = softmax block = %r.s1
/// exit 2 %y.exit1 threshold = inf score = softmax
/// exit 3 %exit1.fc.s2 threshold = inf score = softmax block = %r.s2
/// exit 4 %y threshold = inf score = softmax
/// ```
struct CombinedExits {
    /// Thresholds of the early exits in stage order (or of every exit, the last one ignored); empty: +inf.
    let thresholds: [Double]
    let seed: UInt64

    /// One block of the combined form: its piece at each width stage and its channel class.
    struct Block {
        var pieces: [String]
        var classIndex: Int
    }

    func run(on graph: inout Graph) throws {
        guard let width = graph.stageInfo, width.axis == .width, width.stageCount >= 2 else {
            throw PassError("internal error: combined exits need a graph of S >= 2 width stages")
        }
        let s = width.stageCount
        guard graph.outputs.count == 1, let output = graph.outputs.first else {
            throw PassError("at=blocks: depth exits need a graph with one output (a classifier); this one has \(graph.outputs.count)")
        }
        let outType = try graph.type(of: output)
        guard outType.rank == 2, let classCount = outType.dims[1].value else {
            throw PassError("at=blocks: a depth head gives [N, classes] logits; the graph output '\(output)' is \(outType)")
        }
        var g = graph
        // Width exits 1…S−1 first: the classifier's tail on each width stage's sums.
        let widthExits = try InsertExits.widthExits(at: Array(1..<s), thresholds: [], in: &g, info: width) + width.exits
        let blocks = try Self.blocks(g, info: width)
        let b = blocks.count
        let n = s * (b + 1)
        guard thresholds.isEmpty || thresholds.count == n - 1 || thresholds.count == n else {
            throw PassError("\(thresholds.count) thresholds for \(n - 1) early exits (\(s) width stages × \(b) blocks and the classifier, the last exit answering)")
        }
        let depth = Self.depths(g, blocks: blocks, widthStages: s)
        var info = width
        info.axis = .widthDepth
        info.blockCount = b
        info.stageCount = n
        // Heads, one per block, drawn in block order as the depth-only heads are.
        var out = Graph(name: g.name)
        for input in g.inputs { try out.addInput(input.name, type: input.type) }
        for name in g.constantNames { if let t = g.constants[name] { try out.addConstant(name, t) } }
        var rng = SplitMix64(seed: seed)
        var heads: [(weight: String, bias: String)] = []
        for (i, block) in blocks.enumerated() {
            let c = info.classes[block.classIndex].channels
            let bound = 1 / Float(c).squareRoot()
            let w = try out.addFreshConstant("exit\(i + 1).fc.weight",
                                             Tensor(shape: [classCount, c], scalars: (0..<(classCount * c)).map { _ in rng.uniform(bound) }))
            let bias = try out.addFreshConstant("exit\(i + 1).fc.bias",
                                                Tensor(shape: [classCount], scalars: (0..<classCount).map { _ in rng.uniform(bound) }))
            heads.append((w, bias))
        }
        let tail = DepthExits.shapeKeepingTail(g, output: output, type: outType)
        var pieceOf: [String: (block: Int, width: Int)] = [:]
        for (i, block) in blocks.enumerated() { for (w, v) in block.pieces.enumerated() { pieceOf[v] = (i + 1, w + 1) } }
        var sums: [Int: String] = [:]
        var exits: [Int: StageExit] = [:]
        for (i, var node) in g.nodes.enumerated() {
            guard let staging = node.staging else { throw PassError("node '\(node.name)' has no stage in a staged graph") }
            node.staging?.stage = info.stage(width: staging.stage, block: depth[i] > b ? nil : depth[i])
            try out.appendNode(node)
            for v in node.outputs {
                guard let (k, w) = pieceOf[v] else { continue }
                let at = info.stage(width: w, block: k)
                let (sum, value) = try appendHead(k, width: w, piece: v, stage: at, head: heads[k - 1], previous: sums[k],
                                                  classIndex: blocks[k - 1].classIndex, info: info, tail: tail, into: &out)
                sums[k] = sum
                exits[at] = StageExit(stage: at, value: value, threshold: .infinity, score: ExitScore.of(value, in: out), block: v)
            }
        }
        for e in widthExits {
            let at = info.stage(width: e.stage, block: nil)
            exits[at] = StageExit(stage: at, value: e.value, threshold: e.threshold, score: e.score)
        }
        try out.setOutputs(g.outputs)
        info.exits = try (1...n).map { t in
            guard var e = exits[t] else { throw PassError("internal error: stage \(t) of the combined form has no exit") }
            if t <= thresholds.count { e.threshold = Float(thresholds[t - 1]) }
            return e
        }
        out.setStageInfo(info)
        graph.replaceContents(with: out)
    }

    /// Exit (w, k)'s head on block k's piece `v` of width stage w: pooled, flattened, times the
    /// columns of group w of the shared head weight, added onto exit (w−1, k)'s sum, then the
    /// tail. Returns (the sum, the exit's value).
    func appendHead(_ k: Int, width w: Int, piece v: String, stage: Int, head: (weight: String, bias: String), previous: String?,
                    classIndex: Int, info: StageInfo, tail: [Node], into g: inout Graph) throws -> (String, String) {
        func add(_ op: Op, _ inputs: [String], _ name: String, output: String? = nil, ranges: [ChannelRange] = []) throws -> String {
            let out = g.freshName(output ?? name)
            try g.appendNode(Node(name: name, op: op, inputs: inputs, outputs: [out], staging: NodeStaging(stage: stage, ranges: ranges)))
            return out
        }
        let range = ChannelRange(axis: 1, classIndex: classIndex, firstStage: w, lastStage: w)
        guard let span = info.resolve(range) else { throw PassError("internal error: block \(k) has no group \(w)") }
        let pool = try add(.globalAveragePool, [v], "exit\(k).pool.s\(w)")
        let flat = try add(.flatten(axis: 1), [pool], "exit\(k).flatten.s\(w)")
        let columns = try add(.slice(starts: [span.lowerBound], ends: [span.upperBound], axes: [1], steps: [1]), [head.weight],
                              "\(head.weight).s\(w)", ranges: [range])
        let gemm = Op.gemm(GemmAttributes(transB: true))
        var value: String
        if let previous {
            let part = try add(gemm, [flat, columns], "exit\(k).fc.part\(w)")
            value = try add(.add, [previous, part], "exit\(k).fc.sum.s\(w)", output: "exit\(k).fc.s\(w)")
        } else {
            value = try add(gemm, [flat, columns, head.bias], "exit\(k).fc.s\(w)")
        }
        let sum = value
        for node in tail {
            let inputs = node.inputs.map { g.constants[$0] == nil ? value : $0 }
            value = try add(node.op, inputs, "exit\(k).\(node.name).s\(w)")
        }
        return (sum, value)
    }

    /// The blocks: the depth rule on width stage 1, each block's piece at every width stage, and
    /// its class.
    static func blocks(_ g: Graph, info: StageInfo) throws -> [Block] {
        let view = try stageOneView(g, info: info)
        guard let firstSum = info.classifierSums.first, let classifier = view.producer(of: firstSum) else {
            throw PassError("internal error: the classifier's stage-1 sum has no producer")
        }
        var nodeNamed: [String: Int] = [:]
        for (i, node) in g.nodes.enumerated() where nodeNamed[node.name] == nil { nodeNamed[node.name] = i }
        var memberOf: [String: Int] = [:]
        for (k, c) in info.classes.enumerated() { for m in c.members { memberOf[m] = k } }
        var found: [Block] = []
        for v in DepthExits.blockOutputs(view, classifier: classifier) {
            guard let p = g.producer(of: v), g.nodes[p].name.hasSuffix(".s1"), v.hasSuffix(".s1"),
                  let o = g.nodes[p].outputs.firstIndex(of: v), let k = memberOf[String(v.dropLast(3))] else { continue }
            let base = String(g.nodes[p].name.dropLast(3))
            var pieces = [v]
            for w in 2...info.stageCount {
                guard let q = nodeNamed["\(base).s\(w)"], g.nodes[q].outputs.count > o else {
                    throw PassError("at=blocks: block '\(v)' (node '\(g.nodes[p].name)') has no stage-\(w) node '\(base).s\(w)'")
                }
                pieces.append(g.nodes[q].outputs[o])
            }
            let c = info.classes[k]
            for (w, piece) in pieces.enumerated() {
                let want = c.end(ofStage: w + 1) - c.start(ofStage: w + 1)
                guard try g.type(of: piece).dims[1].value == want else {
                    throw PassError("at=blocks: block piece '\(piece)' does not hold group \(w + 1) (\(want) channels) of class '\(c.name)'")
                }
            }
            found.append(Block(pieces: pieces, classIndex: k))
        }
        guard !found.isEmpty else {
            throw PassError("at=blocks: no block to exit after: no residual join (an Add of two feature maps) or downsampling point before the classifier '\(info.classifier)' that has weighted layers before it and after it")
        }
        return found
    }

    /// Width stage 1 as a graph of its own (the network at the first groups' width): its nodes,
    /// with the values computed from constants alone (weight slices) as constants of their type,
    /// so weighted layers read a constant weight as in a static graph. Only its structure is used.
    static func stageOneView(_ g: Graph, info: StageInfo) throws -> Graph {
        var view = Graph(name: g.name)
        for input in g.inputs { try view.addInput(input.name, type: input.type) }
        for name in g.constantNames { if let t = g.constants[name] { try view.addConstant(name, t) } }
        for var node in g.nodes where node.staging?.stage == 1 {
            if !node.inputs.isEmpty, node.inputs.allSatisfy({ view.constants[$0] != nil }) {
                for o in node.outputs { try view.addConstant(o, Tensor(shape: try g.type(of: o).shape(batch: 1), repeating: 0)) }
                continue
            }
            node.staging = nil
            try view.appendNode(node)
        }
        guard let firstSum = info.classifierSums.first else { throw PassError("the stage table has no classifier sums") }
        try view.setOutputs([firstSum])
        return view
    }

    /// Each node's block within its width stage: the first block whose piece of that width stage
    /// depends on it through nodes of that width stage; B+1 (the classifier's sub-stage) otherwise.
    static func depths(_ g: Graph, blocks: [Block], widthStages: Int) -> [Int] {
        var depth = Array(repeating: blocks.count + 1, count: g.nodes.count)
        for w in 1...widthStages {
            for (k, block) in blocks.enumerated() {
                var stack = [block.pieces[w - 1]]
                while let v = stack.popLast() {
                    guard let p = g.producer(of: v), g.nodes[p].staging?.stage == w, depth[p] > k + 1 else { continue }
                    depth[p] = k + 1
                    stack.append(contentsOf: g.nodes[p].inputs)
                }
            }
        }
        return depth
    }
}
