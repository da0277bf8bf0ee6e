// DepthExits: insert-exits{at=blocks}: SDN/BranchyNet exits after blocks (global pool + a new fully connected head) as depth stages.

import IR

/// Depth exits (Shallow-Deep Networks, BranchyNet): after each block an exit head, global average
/// pool → flatten → a new fully connected layer to the class count (`gemm`, weight [K, C] and bias
/// [K] drawn uniformly from ±1/√C, PyTorch's `nn.Linear` default, from a seeded generator), then a
/// copy of the model's shape-keeping tail after its classifier (e.g. its Softmax), so the exit's
/// value has the graph output's type.
///
/// **Blocks.** A block's output is the result of a residual join, an `add` of two feature maps of
/// the same shape (ResNet's basic and bottleneck blocks, MobileNetV2's inverted residuals), taken
/// after the activations that are its sole readers (ResNet's Relu after the Add). A graph with no
/// residual join is cut after each downsampling stage instead: a block's output is a feature map
/// that a node (strided conv, pool) reads into a smaller spatial size and that is a cut of the
/// graph (the only computed value crossing its place in the node order, so not a value inside a
/// branch): VGG's map before each pooling, DenseNet's transition conv, ShuffleNet's stage ends. A block whose output reaches the classifier through weightless single-reader ops only
/// gets no head (the final exit is that exit), nor does one at or after the classifier, nor one
/// that adds no weighted layer to the blocks before it (ShuffleNet's max pool right after its
/// first conv).
///
/// **Stages.** The graph becomes K+1 depth stages (`StageAxis.depth`): stage k holds the backbone
/// nodes that block k's output depends on and no earlier block's does, plus exit k's head; stage
/// K+1 holds the rest and the original classifier. So a sample leaving at exit k costs the backbone
/// prefix up to block k plus heads 1…k, and stage k reads only stages ≤ k.
///
/// Depth exits go on an unsplit graph (static, or `split-stages{stages=1}`); on a graph split into
/// S ≥ 2 width stages they combine with the width exits (`CombinedExits`).
///
/// ```
/// // before (a residual block, then the classifier)
/// %a = add(%c1, %c2)
/// %r = relu(%a)
/// %c3 = conv(%r, %w3) {…}
/// …
/// %y = gemm(%f, %fw, %fb) {trans_b = true}
/// // after insert-exits{at=blocks thresholds=[0.9]}
/// %r: … = relu(%a) name = "r" stage = 1
/// %exit1.pool = global_average_pool(%r) name = "exit1.pool" stage = 1
/// %exit1.flatten = flatten(%exit1.pool) {axis = 1} name = "exit1.flatten" stage = 1
/// %exit1.fc = gemm(%exit1.flatten, %exit1.fc.weight, %exit1.fc.bias) {trans_b = true} name = "exit1.fc" stage = 1
/// %c3 = conv(%r, %w3) {…} stage = 2
/// …
/// stages 2 static_macs = … axis = depth
/// exit 1 %exit1.fc threshold = 0.9 score = softmax block = %r
/// exit 2 %y threshold = inf score = softmax
/// ```
struct DepthExits {
    /// Thresholds of the early exits (or of every exit, the last one ignored); empty: +inf.
    let thresholds: [Double]
    let seed: UInt64

    func run(on graph: inout Graph) throws {
        if let info = graph.stageInfo, info.axis == .width, info.exits.count == 1, info.stageCount >= 2 {
            return try CombinedExits(thresholds: thresholds, seed: seed).run(on: &graph)
        }
        var g = try Self.unsplit(graph)
        guard g.outputs.count == 1, let output = g.outputs.first else {
            throw PassError("at=blocks: depth exits need a graph with one output (a classifier); this one has \(g.outputs.count)")
        }
        let outType = try g.type(of: output)
        guard outType.rank == 2, let classes = outType.dims[1].value else {
            throw PassError("at=blocks: a depth head gives [N, classes] logits; the graph output '\(output)' is \(outType)")
        }
        let (classifier, _) = try ChannelClassAnalysis.findClassifier(g, output: output)
        let blocks = Self.blockOutputs(g, classifier: classifier)
        guard !blocks.isEmpty else {
            throw PassError("at=blocks: no block to exit after: no residual join (an Add of two feature maps) or downsampling point before the classifier '\(g.nodes[classifier].name)' that has weighted layers before it and after it")
        }
        let k = blocks.count
        guard thresholds.isEmpty || thresholds.count == k || thresholds.count == k + 1 else {
            throw PassError("\(thresholds.count) thresholds for \(k) depth exits (after blocks \(blocks.map { "'\($0)'" }.joined(separator: ", ")))")
        }
        let cost = try CostModel.report(g).totals
        let stage = Self.stages(g, blocks: blocks)
        let tail = Self.shapeKeepingTail(g, output: output, type: outType)
        var rng = SplitMix64(seed: seed)
        var out = Graph(name: g.name)
        for input in g.inputs { try out.addInput(input.name, type: input.type) }
        for name in g.constantNames { if let t = g.constants[name] { try out.addConstant(name, t) } }
        var exits: [StageExit] = []
        let blockIndex = Dictionary(uniqueKeysWithValues: blocks.enumerated().map { ($1, $0 + 1) })
        for (i, var node) in g.nodes.enumerated() {
            node.staging = NodeStaging(stage: stage[i])
            try out.appendNode(node)
            for v in node.outputs {
                guard let e = blockIndex[v] else { continue }
                let value = try Self.appendHead(e, reading: v, classes: classes, tail: tail, into: &out, rng: &rng)
                let tau = thresholds.isEmpty ? Float.infinity : Float(thresholds[e - 1])
                exits.append(StageExit(stage: e, value: value, threshold: tau, score: ExitScore.of(value, in: out), block: v))
            }
        }
        try out.setOutputs(g.outputs)
        exits.sort { $0.stage < $1.stage }
        let last = thresholds.count == k + 1 ? Float(thresholds[k]) : .infinity
        exits.append(StageExit(stage: k + 1, value: output, threshold: last, score: ExitScore.of(output, in: out)))
        out.setStageInfo(StageInfo(stageCount: k + 1, classes: [], exits: exits, classifier: g.nodes[classifier].name,
                                   staticMACs: cost.macs, staticParameters: cost.parameters, axis: .depth))
        g = out
        graph.replaceContents(with: g)
    }

    /// The graph without stages: a static graph as it is; a single-stage graph (`split-stages{stages=1}`)
    /// with its stages dropped and its whole-weight partition slices replaced by the weights.
    static func unsplit(_ graph: Graph) throws -> Graph {
        guard let info = graph.stageInfo else { return graph }
        if info.axis == .depth || info.exits.count > 1 {
            throw PassError("the graph already has early exits (at stages \(info.exits.map(\.stage)))")
        }
        guard info.stageCount == 1 else { throw PassError("internal error: width stages go to CombinedExits") }
        var g = Graph(name: graph.name)
        for input in graph.inputs { try g.addInput(input.name, type: input.type) }
        for name in graph.constantNames { if let t = graph.constants[name] { try g.addConstant(name, t) } }
        // With one stage every partition slice of a weight is the whole weight: read it directly,
        // so the layers are weighted layers again (the classifier too).
        var whole: [String: String] = [:]
        for var node in graph.nodes {
            node.inputs = node.inputs.map { whole[$0] ?? $0 }
            if node.staging?.ranges.isEmpty == false, case .slice = node.op, let w = node.inputs.first,
               graph.constants[w] != nil, graph.types[w] == graph.types[node.outputs[0]] {
                whole[node.outputs[0]] = w
                continue
            }
            node.staging = nil
            try g.appendNode(node)
        }
        try g.setOutputs(graph.outputs.map { whole[$0] ?? $0 })
        return g
    }

    /// The block outputs, in graph order (see the type's comment for the rule).
    static func blockOutputs(_ g: Graph, classifier: Int) -> [String] {
        func isMap(_ v: String) -> Bool {
            g.constants[v] == nil && g.producer(of: v) != nil && g.types[v]?.rank == 4
        }
        var points: [String] = []
        for node in g.nodes {
            guard case .add = node.op, node.inputs.count == 2, node.inputs.allSatisfy(isMap),
                  g.types[node.inputs[0]] == g.types[node.inputs[1]] else { continue }
            var v = node.outputs[0]
            while let u = g.soleUser(of: v), FusedActivation(g.nodes[u].op) != nil, g.types[g.nodes[u].outputs[0]] == g.types[v] {
                v = g.nodes[u].outputs[0]
            }
            points.append(v)
        }
        if points.isEmpty {
            func area(_ v: String) -> Int? {
                guard let t = g.types[v], t.rank == 4, let h = t.dims[2].value, let w = t.dims[3].value else { return nil }
                return h * w
            }
            let cuts = cutValues(g)
            for node in g.nodes {
                guard let x = node.inputs.first, isMap(x), cuts.contains(x), let a = area(x), let b = node.outputs.first.flatMap(area),
                      b < a, !points.contains(x) else { continue }
                points.append(x)
            }
        }
        // Not at or after the classifier, not right before it, and each with weighted work of its own.
        var after = Set(g.nodes[classifier].outputs)
        for node in g.nodes[(classifier + 1)...] where node.inputs.contains(where: after.contains) { after.formUnion(node.outputs) }
        let order = { (v: String) in g.producer(of: v) ?? -1 }
        var covered = Set<Int>()
        var blocks: [String] = []
        for v in points.sorted(by: { order($0) < order($1) }) where !after.contains(v) && !feedsDirectly(g, v, classifier: classifier) {
            var fresh = Set<Int>()
            var stack = [v]
            while let u = stack.popLast() {
                guard let p = g.producer(of: u), !covered.contains(p), fresh.insert(p).inserted else { continue }
                stack.append(contentsOf: g.nodes[p].inputs)
            }
            guard fresh.contains(where: { ChannelClassAnalysis.weightOperand(g.nodes[$0], g) != nil }) else { continue }
            covered.formUnion(fresh)
            blocks.append(v)
        }
        return blocks
    }

    /// The computed values that are the only computed value crossing their position in the node
    /// order: everything after reads earlier work through them alone (a block boundary, not a
    /// value inside a branch).
    static func cutValues(_ g: Graph) -> Set<String> {
        var lastUse: [String: Int] = [:]
        for (i, node) in g.nodes.enumerated() {
            for v in node.inputs where g.producer(of: v) != nil { lastUse[v] = i }
        }
        var open = Set<String>()
        var cuts = Set<String>()
        for (i, node) in g.nodes.enumerated() {
            for v in node.inputs where lastUse[v] == i { open.remove(v) }
            for v in node.outputs where (lastUse[v] ?? -1) > i { open.insert(v) }
            if open.count == 1, let v = open.first, node.outputs.contains(v) { cuts.insert(v) }
        }
        return cuts
    }

    /// True when `v` reaches the classifier through weightless nodes that each are their input's
    /// only reader: an exit there would be the final classifier again.
    static func feedsDirectly(_ g: Graph, _ v: String, classifier: Int) -> Bool {
        var v = v
        while let u = g.soleUser(of: v) {
            if u == classifier { return true }
            let node = g.nodes[u]
            guard ChannelClassAnalysis.weightOperand(node, g) == nil, node.outputs.count == 1 else { return false }
            v = node.outputs[0]
        }
        return false
    }

    /// Each node's depth stage: the first block whose output depends on it, else the last stage.
    static func stages(_ g: Graph, blocks: [String]) -> [Int] {
        var stage = Array(repeating: blocks.count + 1, count: g.nodes.count)
        for (i, block) in blocks.enumerated() {
            var stack = [block]
            while let v = stack.popLast() {
                guard let p = g.producer(of: v), stage[p] > i + 1 else { continue }
                stage[p] = i + 1
                stack.append(contentsOf: g.nodes[p].inputs)
            }
        }
        return stage
    }

    /// The nodes before the output that keep its [N, classes] type and read one computed value
    /// (e.g. a Softmax), in order: a head's logits go through copies of them.
    static func shapeKeepingTail(_ g: Graph, output: String, type: TensorType) -> [Node] {
        var nodes: [Node] = []
        var v = output
        while let p = g.producer(of: v) {
            let node = g.nodes[p]
            let computed = node.inputs.filter { g.constants[$0] == nil }
            guard ChannelClassAnalysis.weightOperand(node, g) == nil, node.outputs.count == 1, computed.count == 1,
                  g.types[computed[0]] == type else { break }
            nodes.append(node)
            v = computed[0]
        }
        return nodes.reversed()
    }

    /// Appends exit `e`'s head on block value `v` (of stage `e`) and returns the exit's value.
    static func appendHead(_ e: Int, reading v: String, classes: Int, tail: [Node], into g: inout Graph,
                           rng: inout SplitMix64) throws -> String {
        let t = try g.type(of: v)
        guard let c = t.dims[1].value else { throw PassError("at=blocks: block output '\(v)' has no fixed channel count (\(t))") }
        let bound = 1 / Float(c).squareRoot()
        let weight = try g.addFreshConstant("exit\(e).fc.weight", Tensor(shape: [classes, c],
                                                                          scalars: (0..<(classes * c)).map { _ in rng.uniform(bound) }))
        let bias = try g.addFreshConstant("exit\(e).fc.bias", Tensor(shape: [classes], scalars: (0..<classes).map { _ in rng.uniform(bound) }))
        func add(_ op: Op, _ inputs: [String], _ name: String) throws -> String {
            let out = g.freshName(name)
            try g.appendNode(Node(name: name, op: op, inputs: inputs, outputs: [out], staging: NodeStaging(stage: e)))
            return out
        }
        let pool = try add(.globalAveragePool, [v], "exit\(e).pool")
        let flat = try add(.flatten(axis: 1), [pool], "exit\(e).flatten")
        var value = try add(.gemm(GemmAttributes(transB: true)), [flat, weight, bias], "exit\(e).fc")
        for node in tail {
            let inputs = node.inputs.map { g.constants[$0] == nil ? value : $0 }
            value = try add(node.op, inputs, "exit\(e).\(node.name)")
        }
        return value
    }
}

extension Graph {
    /// The constants of the depth exits' heads (read on the way from each early exit's block to
    /// its value), in order of definition: what SDN trains on a frozen backbone. Empty when the
    /// graph has no depth exits. With width stages cut at blocks, each block's one shared head.
    public func depthHeadConstants() -> [String] {
        guard let info = stageInfo, info.axis != .width else { return [] }
        var heads = Set<String>()
        // A combined head at width s reads the sum of width s−1 too: the walk stops at any block.
        let blocks = Set(info.exits.compactMap(\.block))
        for e in info.exits where e.block != nil {
            var stack = [e.value]
            var seen = Set<String>()
            while let v = stack.popLast() {
                guard !blocks.contains(v), seen.insert(v).inserted, let p = producer(of: v) else { continue }
                for input in nodes[p].inputs {
                    if constants[input] != nil { heads.insert(input) } else { stack.append(input) }
                }
            }
        }
        return constantNames.filter(heads.contains)
    }

    /// The stage table of a graph split into width stages, for the passes that move channel
    /// boundaries (`make-sliceable`, `flops-bins`, `materialize`); a clear error otherwise.
    func widthStageInfo(for pass: String) throws -> StageInfo {
        guard let info = stageInfo else { throw PassError("the graph has no stages; run split-stages first") }
        guard info.axis == .width else {
            throw PassError(info.axis == .depth
                ? "\(pass) works on width stages (split-stages); this graph has depth exits (insert-exits{at=blocks}) and no channel classes"
                : "\(pass) works on width stages alone; this graph's width stages are cut at depth exits (insert-exits{at=blocks} after split-stages), so its stages are not its channel groups")
        }
        return info
    }
}

/// SplitMix64 (Steele, Lea, Flood): a small seeded generator for head initialization. (A pass
/// cannot use Runtime's `TrainingRNG`; Passes depend on IR only.)
struct SplitMix64 {
    var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in [−bound, bound).
    mutating func uniform(_ bound: Float) -> Float {
        (Float(next() >> 40) / Float(1 << 24) * 2 - 1) * bound
    }
}
