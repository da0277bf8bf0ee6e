// PruneFilters: static filter pruning (DCFF's setting): removes whole conv filters by importance.
//
// Before (ratio=0.5, criterion=l1: filter 1 of %w1 has the smaller L1 norm):
//   const %w1: f32[2,1,1,1] = dense<[3.0, -1.0]>
//   const %b1: f32[2] = dense<[0.5, 0.25]>
//   const %w2: f32[1,2,1,1] = dense<[1.0, 2.0]>
//   %a = conv(%x, %w1, %b1) {kernel = [1, 1]}
//   %r = relu(%a)
//   %y = conv(%r, %w2) {kernel = [1, 1]}
// After:
//   const %w1: f32[1,1,1,1] = dense<[3.0]>
//   const %b1: f32[1] = dense<[0.5]>
//   const %w2: f32[1,1,1,1] = dense<[1.0]>
//   %a = conv(%x, %w1, %b1) {kernel = [1, 1]}
//   %r = relu(%a)
//   %y = conv(%r, %w2) {kernel = [1, 1]}
//
// Removing output filter c of a conv removes channel c of every value that must line up with it:
// the conv's output, whatever BatchNormalization, activation, pool, depthwise conv or elementwise
// op carries the channel on, and the other side of a residual Add (so the convs feeding one Add
// are pruned together). Those values form one channel-coupled set, found by a union-find over the
// graph; its importance per channel is the sum over the set's convs of each filter's norm, and it
// keeps the same channels everywhere. Every reader then drops the matching input channels: the
// input channels of following convs, BN statistics, per-channel constants of elementwise ops, the
// classifier's input columns (after a Flatten of a spatial map, the H·W columns of each channel).
//
// Left at full width (never pruned): sets that hold a graph input or output, fully connected
// layers' outputs, and sets without a conv producing them. With strict=true (the default), a set
// that reaches an op whose channels cannot be removed one by one (a grouped convolution that is
// not depthwise, a Concat/Split/Slice/Pad along channels, LRN, a softmax or a reduction over
// channels, a Transpose/Reshape that moves the channel axis, a MatMul on a feature map) is an
// error naming the node; strict=false leaves such sets unpruned instead.
//
// Run it after `canonicalize`: with BatchNormalization folded, a filter's norm includes its BN scale.

import IR

/// How a filter's importance is measured; a channel-coupled set sums it over its convs.
public enum PruningCriterion: String, CaseIterable, Sendable {
    /// Sum of |w| over the filter (Li et al., "Pruning Filters for Efficient ConvNets").
    case l1
    /// Euclidean norm of the filter.
    case l2

    /// The criterion a pass option names, or an error listing the valid ones.
    public init(option name: String) throws {
        guard let c = PruningCriterion(rawValue: name) else {
            throw PassError("unknown criterion '\(name)'; valid: "
                            + PruningCriterion.allCases.map(\.rawValue).joined(separator: ", "))
        }
        self = c
    }
}

/// Removes whole output filters of convolutions, and the matching input channels of their readers
/// (see the file comment). Registered as `prune-filters`.
public struct PruneFilters: Pass {
    public static let name = "prune-filters"
    public static let summary = "Removes whole conv filters (and the channels they feed) by an importance criterion"
    public static let options: [PassOptionSpec] = [
        .double("ratio", default: 0.5, help: "share of each channel-coupled set's filters to remove, in [0, 1)"),
        .double("macs", default: 0,
                help: "when > 0: the MAC budget as a fraction of the model's MACs, in (0, 1]; the ratio is found by bisection"),
        .string("criterion", default: "l1", help: "filter importance: l1 or l2 (the norm of the filter's weights)"),
        .bool("strict", default: true, help: "fail on an op whose channels cannot be pruned (else leave those channels)"),
    ]

    let ratio: Double
    let macFraction: Double
    let criterion: PruningCriterion
    let strict: Bool

    public init(options: PassOptions) throws {
        ratio = try options.double("ratio")
        macFraction = try options.double("macs")
        strict = try options.bool("strict")
        criterion = try PruningCriterion(option: options.string("criterion"))
        guard ratio >= 0, ratio < 1 else { throw PassError("ratio must be in [0, 1), got \(ratio)") }
        guard macFraction == 0 || (macFraction > 0 && macFraction <= 1) else {
            throw PassError("macs must be in (0, 1] (or 0 for none), got \(macFraction)")
        }
    }

    public func run(on graph: inout Graph) throws {
        let pruning = try FilterPruning(graph: graph, criterion: criterion, strict: strict)
        let r = macFraction > 0 ? try pruning.ratio(forMACFraction: macFraction) : ratio
        try pruning.prune(&graph, ratio: r)
    }
}

/// The analysis behind `prune-filters`: the channel-coupled sets of a graph, the importance of
/// each set's channels, and the pruned graph for a ratio. Public so that a driver can ask what a
/// ratio costs (`macs(ratio:)`), which ratio meets a MAC budget, and which channels stay.
public struct FilterPruning {
    /// The analysed graph.
    public let graph: Graph
    /// MACs of the unpruned graph at batch 1 (the cost model's convention).
    public let macsBefore: Int

    /// Union-find over channel-coupled values (elements are created per value or set).
    private var parent: [Int] = []
    private var channels: [Int] = []
    private var frozen: [Bool] = []
    /// Element and multiplicity (columns per channel along axis 1, > 1 after a Flatten) per value.
    private var element: [String: Int] = [:]
    private var multiplicity: [String: Int] = [:]
    /// Convs whose output filters belong to an element (group 1: importance comes from these).
    private var producers: [(node: Int, element: Int)] = []
    /// Slices to apply: (node, input position, axis, element, multiplicity).
    private var slices: [(node: Int, input: Int, axis: Int, element: Int, mult: Int)] = []
    /// Depthwise convs whose group follows their set's width.
    private var depthwise: [(node: Int, element: Int)] = []
    /// Ops that stop a set from being pruned, with the reason.
    private var obstacles: [(node: Int, element: Int, reason: String)] = []
    /// Per node: base MACs and the (element, channels) factors its MACs scale with.
    private var macFactors: [(base: Int, factors: [(element: Int, channels: Int)])] = []
    /// Per prunable set root: channel indices by decreasing importance (ties: lower index first).
    private var order: [Int: [Int]] = [:]

    /// Analyses `graph`; with `strict`, an op that blocks pruning a prunable set is an error.
    public init(graph: Graph, criterion: PruningCriterion = .l1, strict: Bool = true) throws {
        self.graph = graph
        macsBefore = try CostModel.report(graph).totals.macs
        for input in graph.inputs { bind(input.name, to: try newElement(for: input.name, frozen: true), mult: 1) }
        for (index, node) in graph.nodes.enumerated() { try visit(node, at: index) }
        for out in graph.outputs { frozen[find(try elementOf(out))] = true }
        for node in graph.nodes {
            let base = try CostModel.cost(of: node, in: graph).macs
            macFactors.append((base, base == 0 ? [] : try factors(of: node)))
        }
        let blocked = Set(obstacles.map { find($0.element) })
        let produced = Set(producers.map { find($0.element) })
        if strict, let o = obstacles.first(where: { !frozen[find($0.element)] && produced.contains(find($0.element)) }) {
            let node = graph.nodes[o.node]
            let conv = producers.first { find($0.element) == find(o.element) }.map { graph.nodes[$0.node].name } ?? "?"
            throw PassError("node '\(node.name)' (\(node.op.name)): \(o.reason), so the filters of conv '\(conv)' "
                            + "and the channels coupled with them cannot be pruned; pass strict=false to leave them unpruned")
        }
        var importance: [Int: [Double]] = [:]
        for p in producers {
            let root = find(p.element)
            guard !frozen[root], !blocked.contains(root) else { continue }
            let conv = graph.nodes[p.node]
            guard let w = graph.constantData(conv.inputs[1]) else {
                throw PassError("conv '\(conv.name)': weight '\(conv.inputs[1])' has no data")
            }
            var sums = importance[root] ?? [Double](repeating: 0, count: channels[root])
            let per = w.count / max(w.shape[0], 1)
            for c in 0..<w.shape[0] {
                var s = 0.0
                for v in w.scalars[(c * per)..<((c + 1) * per)] {
                    s += criterion == .l1 ? Double(abs(v)) : Double(v) * Double(v)
                }
                sums[c] += criterion == .l1 ? s : s.squareRoot()
            }
            importance[root] = sums
        }
        for (root, sums) in importance {
            order[root] = sums.indices.sorted { sums[$0] != sums[$1] ? sums[$0] > sums[$1] : $0 < $1 }
        }
    }

    // MARK: Queries

    /// Channels a set of `count` keeps at `ratio`: round(ratio · count) removed, at least one kept.
    public static func keptCount(_ count: Int, ratio: Double) -> Int {
        max(1, count - Int((ratio * Double(count)).rounded()))
    }

    /// MACs of the graph pruned at `ratio` (batch 1), counted exactly without building it.
    public func macs(ratio: Double) -> Int {
        var total = 0
        for entry in macFactors {
            var m = entry.base
            for f in entry.factors {
                let root = find(f.element)
                guard order[root] != nil else { continue }
                m = m / f.channels * Self.keptCount(f.channels, ratio: ratio)
            }
            total += m
        }
        return total
    }

    /// The smallest ratio whose pruned MACs are at most `fraction` of `macsBefore` (bisection).
    public func ratio(forMACFraction fraction: Double) throws -> Double {
        let target = fraction * Double(macsBefore)
        if Double(macs(ratio: 0)) <= target { return 0 }
        var hi = 1 - 1e-9  // every prunable set down to one channel
        let floor = macs(ratio: hi)
        guard Double(floor) <= target else {
            throw PassError("MAC target \(fraction) of \(macsBefore) is out of reach: with one filter "
                            + "left per prunable set the model still has \(floor) MACs "
                            + "(\(Double(floor) / Double(max(macsBefore, 1))) of the original)")
        }
        var lo = 0.0
        for _ in 0..<60 where hi - lo > 1e-12 {
            let mid = (lo + hi) / 2
            if Double(macs(ratio: mid)) <= target { hi = mid } else { lo = mid }
        }
        return hi
    }

    /// For every value whose channels are pruned at `ratio`: the channel indices it keeps, in order.
    public func keptChannels(ratio: Double) -> [String: [Int]] {
        let kept = keptSets(ratio: ratio)
        var out: [String: [Int]] = [:]
        for (value, e) in element { if let k = kept[find(e)] { out[value] = k } }
        return out
    }

    // MARK: Rewrite

    /// Rewrites `graph` (the analysed graph) into the pruned one at `ratio`.
    public func prune(_ graph: inout Graph, ratio: Double) throws {
        try rewrite(&graph, keeping: keptSets(ratio: ratio), suffix: "_pruned")
    }

    /// Rewrites `graph` (the analysed graph) with every prunable set's channels permuted into
    /// decreasing importance; the function is unchanged, and a width prefix of each set then holds
    /// its most important filters (`sort-channels`). Returns how many sets were permuted.
    @discardableResult
    public func sortByImportance(_ graph: inout Graph) throws -> Int {
        let permuted = order.filter { root, ranked in ranked != Array(0..<ranked.count) }
        try rewrite(&graph, keeping: permuted, suffix: "_sorted")
        return permuted.count
    }

    /// Rewrites `graph` so that each listed set root keeps exactly `kept[root]`, in that order: a
    /// subset (pruning) or a permutation (sorting); every reader follows. A constant that two
    /// readers need sliced differently gets a second version named with `suffix`.
    private func rewrite(_ graph: inout Graph, keeping kept: [Int: [Int]], suffix: String) throws {
        guard graph == self.graph else { throw PassError("the graph changed after the analysis") }
        guard !kept.isEmpty else { return }  // nothing to change: leave the graph untouched
        // Per (node, input): axis → indices to keep.
        var specs: [Int: [Int: [Int: [Int]]]] = [:]
        func add(_ node: Int, _ input: Int, _ axis: Int, _ indices: [Int]) {
            specs[node, default: [:]][input, default: [:]][axis] = indices
        }
        for p in producers + depthwise {
            guard let k = kept[find(p.element)] else { continue }
            add(p.node, 1, 0, k)
            if graph.nodes[p.node].inputs.count > 2 { add(p.node, 2, 0, k) }
        }
        for s in slices {
            guard let k = kept[find(s.element)] else { continue }
            add(s.node, s.input, s.axis, k.flatMap { c in (c * s.mult)..<((c + 1) * s.mult) })
        }
        // One new constant per distinct (constant, slicing); the first keeps the name.
        var versions: [String: [(spec: [Int: [Int]], name: String)]] = [:]
        var taken = Set(graph.constantNames)
        var renamed: [Int: [Int: String]] = [:]
        for (n, node) in graph.nodes.enumerated() {
            for (i, input) in node.inputs.enumerated() where graph.constants[input] != nil {
                let spec = specs[n]?[i] ?? [:]
                if let v = versions[input]?.first(where: { $0.spec == spec }) {
                    renamed[n, default: [:]][i] = v.name
                    continue
                }
                var name = input
                if versions[input] != nil {
                    name = graph.freshName(input + suffix)
                    var k = 1
                    while taken.contains(name) { name = graph.freshName("\(input)\(suffix)_\(k)"); k += 1 }
                    taken.insert(name)
                }
                versions[input, default: []].append((spec, name))
                renamed[n, default: [:]][i] = name
            }
        }
        var out = Graph(name: graph.name)
        for input in graph.inputs { try out.addInput(input.name, type: input.type) }
        for name in graph.constantNames {
            guard let t = graph.constants[name] else { continue }
            guard let uses = versions[name] else {
                try out.addConstant(name, t)
                continue
            }
            for v in uses {
                if !v.spec.isEmpty && t.isElided { throw PassError("constant '\(name)' has no data to prune") }
                try out.addConstant(v.name, v.spec.keys.sorted().reduce(t) { Self.gather($0, axis: $1, v.spec[$1] ?? []) })
            }
        }
        let groups = Dictionary(depthwise.compactMap { d in kept[find(d.element)].map { (d.node, $0.count) } },
                                uniquingKeysWith: { a, _ in a })
        for (n, var node) in graph.nodes.enumerated() {
            for (i, name) in renamed[n] ?? [:] { node.inputs[i] = name }
            if case .conv(var a) = node.op, let g = groups[n] {
                a.group = g
                node.op = .conv(a)
            }
            try out.appendNode(node)
        }
        try out.setOutputs(graph.outputs)
        graph.replaceContents(with: out)
    }

    // MARK: Analysis

    private func keptSets(ratio: Double) -> [Int: [Int]] {
        var kept: [Int: [Int]] = [:]
        for (root, ranked) in order {
            let k = Self.keptCount(ranked.count, ratio: ratio)
            if k < ranked.count { kept[root] = ranked.prefix(k).sorted() }
        }
        return kept
    }

    private func find(_ e: Int) -> Int {
        var e = e
        while parent[e] != e { e = parent[e] }
        return e
    }

    private mutating func union(_ a: Int, _ b: Int, at node: Node) throws {
        let (ra, rb) = (find(a), find(b))
        guard ra != rb else { return }
        guard channels[ra] == channels[rb] else {
            throw PassError("node '\(node.name)' (\(node.op.name)) couples \(channels[ra]) with \(channels[rb]) channels")
        }
        parent[rb] = ra
        frozen[ra] = frozen[ra] || frozen[rb]
    }

    private func channelCount(_ value: String) throws -> Int {
        let t = try graph.type(of: value)
        return t.rank >= 2 ? (t.dims[1].value ?? 1) : 1
    }

    private mutating func newElement(channels count: Int, frozen isFrozen: Bool) -> Int {
        parent.append(parent.count)
        channels.append(count)
        frozen.append(isFrozen)
        return parent.count - 1
    }

    private mutating func newElement(for value: String, frozen isFrozen: Bool) throws -> Int {
        newElement(channels: try channelCount(value), frozen: isFrozen)
    }

    private mutating func bind(_ value: String, to e: Int, mult: Int) {
        element[value] = e
        multiplicity[value] = mult
    }

    /// The element of a value; a constant read as data gets a frozen one of its own.
    private mutating func elementOf(_ value: String) throws -> Int {
        if let e = element[value] { return e }
        let e = try newElement(for: value, frozen: true)
        bind(value, to: e, mult: 1)
        return e
    }

    private mutating func block(_ node: Int, _ value: String, _ reason: String) throws {
        obstacles.append((node, try elementOf(value), reason))
    }

    /// The output carries its input's channels (same set, same multiplicity).
    private mutating func join(_ output: String, _ input: String, mult: Int? = nil) throws {
        let e = try elementOf(input)
        bind(output, to: e, mult: mult ?? multiplicity[input] ?? 1)
    }

    private mutating func fresh(_ outputs: [String]) throws {
        for o in outputs { bind(o, to: try newElement(for: o, frozen: true), mult: 1) }
    }

    private mutating func visit(_ node: Node, at n: Int) throws {
        let x = node.inputs[0]
        let rank = try graph.type(of: x).rank
        switch node.op {
        case .conv(let a):
            let cin = try channelCount(x)
            _ = try elementOf(x)
            guard let w = graph.constants[node.inputs[1]] else {
                try block(n, x, "its weight is not a constant")
                try fresh(node.outputs)
                try block(n, node.outputs[0], "its weight is not a constant")
                return
            }
            let cout = w.shape[0]
            if a.group == 1 {
                slices.append((n, 1, 1, try elementOf(x), 1))
                let e = try newElement(for: node.outputs[0], frozen: false)
                bind(node.outputs[0], to: e, mult: 1)
                producers.append((n, e))
            } else if a.group == cin, cout == cin {
                try join(node.outputs[0], x)
                depthwise.append((n, try elementOf(x)))
            } else {
                let why = "a grouped convolution (group \(a.group), \(cin) -> \(cout) channels) that is not depthwise"
                try block(n, x, why)
                try fresh(node.outputs)
                try block(n, node.outputs[0], why)
            }
        case .batchNormalization:
            try join(node.outputs[0], x)
            for i in 1...4 {
                if graph.constants[node.inputs[i]] != nil {
                    slices.append((n, i, 0, try elementOf(x), 1))
                } else {
                    try block(n, x, "its statistics are not constants")
                }
            }
        case .relu, .leakyRelu, .clip, .sigmoid, .hardSigmoid, .hardSwish, .dropout, .identity,
             .maxPool, .averagePool, .globalAveragePool:
            try join(node.outputs[0], x)
        case .add, .sub, .mul, .div:
            try visitElementwise(node, at: n)
        case .reduceMean(let axes, _):
            let normalized = try axes.map { try ShapeInference.normalizeAxis($0, rank: rank) }
            if normalized.contains(0) || normalized.contains(1) {
                try block(n, x, "it reduces over the batch or channel axis")
                try fresh(node.outputs)
            } else {
                try join(node.outputs[0], x)
            }
        case .lrn:
            try block(n, x, "LRN mixes neighbouring channels")
            try join(node.outputs[0], x)
        case .softmax(let axis):
            if try ShapeInference.normalizeAxis(axis, rank: rank) == 1 { try block(n, x, "it normalizes over channels") }
            try join(node.outputs[0], x)
        case .gemm(let a):
            if a.transA || graph.constants[node.inputs[1]] == nil {
                try block(n, x, a.transA ? "its input is transposed (transA)" : "its weight is not a constant")
                if graph.constants[node.inputs[1]] == nil { try block(n, node.inputs[1], "it multiplies two computed values") }
            } else {
                slices.append((n, 1, a.transB ? 1 : 0, try elementOf(x), multiplicity[x] ?? 1))
            }
            try fresh(node.outputs)
        case .matMul:
            let b = node.inputs[1]
            if rank == 2, let bt = graph.constants[b], bt.shape.count == 2 {
                slices.append((n, 1, 0, try elementOf(x), multiplicity[x] ?? 1))
            } else {
                try block(n, x, "a MatMul on a feature map or on two computed values")
                if graph.constants[b] == nil { try block(n, b, "a MatMul on two computed values") }
            }
            try fresh(node.outputs)
        case .flatten(let axis):
            let t = try graph.type(of: x)
            if rank >= 2, try ShapeInference.normalizeAxis(axis, rank: rank, inclusive: true) == 1 {
                let spatial = t.dims.dropFirst(2).reduce(1) { $0 * ($1.value ?? 1) }
                try join(node.outputs[0], x, mult: (multiplicity[x] ?? 1) * spatial)
            } else {
                try block(n, x, "it flattens across the channel axis (axis \(axis))")
                try fresh(node.outputs)
            }
        case .reshape:
            let t = try graph.type(of: x)
            let o = try graph.type(of: node.outputs[0])
            if o == t {
                try join(node.outputs[0], x)
            } else if rank >= 2, o.rank == 2, o.dims[0] == t.dims[0] {
                let spatial = t.dims.dropFirst(2).reduce(1) { $0 * ($1.value ?? 1) }
                try join(node.outputs[0], x, mult: (multiplicity[x] ?? 1) * spatial)
            } else {
                try block(n, x, "it reshapes \(t) to \(o), moving the channel axis")
                try fresh(node.outputs)
            }
        case .transpose(let perm):
            if perm.count >= 2, perm[0] == 0, perm[1] == 1 {
                try join(node.outputs[0], x)
            } else {
                try block(n, x, "it transposes the channel axis (perm \(perm))")
                try fresh(node.outputs)
            }
        case .concat(let axis):
            if try ShapeInference.normalizeAxis(axis, rank: rank) == 1 {
                for input in node.inputs { try block(n, input, "it concatenates along channels") }
                try fresh(node.outputs)
            } else {
                try join(node.outputs[0], x)
                for input in node.inputs.dropFirst() { try union(try elementOf(input), try elementOf(x), at: node) }
            }
        case .split(let axis, _):
            if try ShapeInference.normalizeAxis(axis, rank: rank) == 1 {
                try block(n, x, "it splits along channels")
                try fresh(node.outputs)
            } else {
                for o in node.outputs { try join(o, x) }
            }
        case .slice(_, _, let axes, _):
            if try axes.contains(where: { try ShapeInference.normalizeAxis($0, rank: rank) == 1 }) {
                try block(n, x, "it slices along channels")
                try fresh(node.outputs)
            } else {
                try join(node.outputs[0], x)
            }
        case .pad(let pads, _, _):
            if rank >= 2, pads.count == 2 * rank, pads[1] != 0 || pads[rank + 1] != 0 {
                try block(n, x, "it pads the channel axis")
                try fresh(node.outputs)
            } else {
                try join(node.outputs[0], x)
            }
        }
    }

    /// Broadcasting arithmetic: computed operands with the output's channels share its set; a
    /// constant operand with those channels is sliced along its aligned axis.
    private mutating func visitElementwise(_ node: Node, at n: Int) throws {
        let out = try graph.type(of: node.outputs[0])
        guard out.rank >= 2, let c = out.dims[1].value, c > 1 else {
            try fresh(node.outputs)
            return
        }
        var joined: String?
        var constants: [(input: Int, axis: Int)] = []
        for (i, input) in node.inputs.enumerated() {
            let t = try graph.type(of: input)
            let axis = 1 - (out.rank - t.rank)
            guard axis >= 0, t.dims[axis].value == c else { continue }
            if graph.constants[input] != nil {
                constants.append((i, axis))
            } else if axis != 1 {
                try block(n, input, "its operand's channels are not on axis 1")
            } else if let first = joined {
                if multiplicity[input] != multiplicity[first] { try block(n, input, "it adds values flattened differently") }
                try union(try elementOf(first), try elementOf(input), at: node)
            } else {
                joined = input
            }
        }
        guard let first = joined else {
            try fresh(node.outputs)
            return
        }
        try join(node.outputs[0], first)
        let e = try elementOf(first)
        for k in constants { slices.append((n, k.input, k.axis, e, multiplicity[first] ?? 1)) }
    }

    /// The (element, channels) pairs a weighted node's MACs are proportional to.
    private mutating func factors(of node: Node) throws -> [(element: Int, channels: Int)] {
        var out: [(Int, Int)] = []
        switch node.op {
        case .conv(let a):
            let x = node.inputs[0]
            if let e = element[x] { out.append((e, try channelCount(x))) }
            if a.group == 1, let e = element[node.outputs[0]] { out.append((e, try channelCount(node.outputs[0]))) }
        case .gemm, .matMul:
            let x = node.inputs[0]
            if let e = element[x] { out.append((e, try channelCount(x) / max(multiplicity[x] ?? 1, 1))) }
        default:
            break
        }
        return out
    }

    /// Keeps `indices` (in that order) along `axis` of `t`.
    static func gather(_ t: Tensor, axis: Int, _ indices: [Int]) -> Tensor {
        let outer = t.shape.prefix(axis).reduce(1, *)
        let inner = t.shape.dropFirst(axis + 1).reduce(1, *)
        let n = t.shape[axis]
        var s = [Float](repeating: 0, count: outer * indices.count * inner)
        t.scalars.withUnsafeBufferPointer { src in
            s.withUnsafeMutableBufferPointer { dst in
                var d = 0
                for o in 0..<outer {
                    for i in indices {
                        let start = (o * n + i) * inner
                        for k in 0..<inner { dst[d + k] = src[start + k] }
                        d += inner
                    }
                }
            }
        }
        var shape = t.shape
        shape[axis] = indices.count
        return Tensor(shape: shape, scalars: s)
    }
}
