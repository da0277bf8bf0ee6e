// ChannelClassAnalysis: union-find of the values whose channels must line up, the classifier and its tail.

import IR

/// A run of features along axis 1 of a value: `scale` features per channel of class
/// `classIndex` (H·W after a Flatten of a spatial map, else 1), starting at feature `offset` (a
/// member's position inside a Concat).
public struct ChannelSegment: Hashable, Sendable {
    public var classIndex: Int
    public var scale: Int
    public var offset: Int
}

/// How a static value's axis 1 relates to the channel classes.
public enum ChannelLayout: Hashable, Sendable {
    /// Not split: the graph input, constants, and what is computed from them alone. Every stage
    /// reads it whole.
    case whole
    /// Axis 1 is these segments back to back (one for a class member, several for a Concat).
    case segments([ChannelSegment])
}

/// The channel classes of a static graph (DESIGN: "Static to dynamic"), found by union-find:
/// both operands of Add/Sub/Mul/Div, the input and output of BatchNormalization, activations,
/// pools, depthwise convs, global pooling and Flatten share a class; each weighted layer (Conv,
/// Gemm, MatMul with a constant operand) starts one; a Concat's output is its inputs' segments.
/// The classifier (the weighted layer whose result reaches the graph output through weightless
/// ops only) and those ops (its tail) are not split.
///
/// What cannot be split exactly is refused with the node's name and the reason (LRN, channel
/// shuffle, grouped convolution, softmax across channels, …).
public struct ChannelClassAnalysis: Sendable {
    /// The classes, in order of their first member; boundaries are empty (no partition yet).
    public var classes: [ChannelClass]
    /// The layout of every value of the static graph.
    public var layouts: [String: ChannelLayout]
    /// The node index of the classifier.
    public var classifier: Int
    /// Node indices of the classifier's weightless tail, in graph order.
    public var tail: [Int]

    /// Analyzes `graph`, which must have exactly one output.
    public init(_ graph: Graph) throws {
        guard graph.outputs.count == 1, let output = graph.outputs.first else {
            throw PassError("splitting into stages needs a graph with one output (a classifier); this one has \(graph.outputs.count)")
        }
        (classifier, tail) = try Self.findClassifier(graph, output: output)
        var uf = UnionFind()
        var temp: [String: [ChannelSegment]] = [:]  // segments with union-find ids
        let tailSet = Set(tail)
        for (index, node) in graph.nodes.enumerated() where !tailSet.contains(index) {
            let runtimeInputs = node.inputs.filter { graph.constants[$0] == nil }
            let weighted = Self.weightOperand(node, graph) != nil
            // Weightless ops of unsplit values stay whole; a weighted layer always starts a class.
            if index != classifier, !weighted, runtimeInputs.allSatisfy({ temp[$0] == nil }) { continue }
            if index == classifier {
                guard let x = node.inputs.first, temp[x] != nil else {
                    throw PassError("node '\(node.name)': the classifier reads no split value, so there is nothing to split into stages")
                }
                continue
            }
            let outs = try Self.layout(of: node, graph, temp, &uf)
            for (name, segs) in zip(node.outputs, outs) { temp[name] = segs }
        }
        // Number the classes by first member, in graph order.
        var index: [Int: Int] = [:]
        var classes: [ChannelClass] = []
        var layouts: [String: ChannelLayout] = [:]
        let order = graph.inputs.map(\.name) + graph.constantNames + graph.nodes.flatMap(\.outputs)
        for name in order {
            guard let segs = temp[name] else {
                layouts[name] = .whole
                continue
            }
            var final: [ChannelSegment] = []
            for seg in segs {
                let root = uf.find(seg.classIndex)
                if index[root] == nil {
                    index[root] = classes.count
                    classes.append(ChannelClass(name: name, channels: uf.channels[root], boundaries: [], members: []))
                }
                final.append(ChannelSegment(classIndex: index[root] ?? 0, scale: seg.scale, offset: seg.offset))
            }
            if final.count == 1, final[0].offset == 0 { classes[final[0].classIndex].members.append(name) }
            layouts[name] = .segments(final)
        }
        self.classes = classes
        self.layouts = layouts
    }

    /// The segments of a value (empty when whole).
    public func segments(of value: String) -> [ChannelSegment] {
        if case .segments(let s)? = layouts[value] { return s }
        return []
    }

    // MARK: Classifier

    /// The one weighted node reached backwards from the output through weightless ops, and the
    /// weightless nodes on the way (in graph order).
    static func findClassifier(_ graph: Graph, output: String) throws -> (Int, [Int]) {
        var stack = [output]
        var seen = Set<String>()
        var found = Set<Int>()
        var tail = Set<Int>()
        while let v = stack.popLast() {
            guard seen.insert(v).inserted, let p = graph.producer(of: v) else { continue }
            if weightOperand(graph.nodes[p], graph) != nil {
                found.insert(p)
                continue
            }
            tail.insert(p)
            stack.append(contentsOf: graph.nodes[p].inputs.filter { graph.constants[$0] == nil })
        }
        guard found.count == 1, let classifier = found.first else {
            let names = found.sorted().map { "'\(graph.nodes[$0].name)'" }.joined(separator: ", ")
            throw PassError(found.isEmpty
                ? "no weighted layer (Conv, Gemm, MatMul with a constant) reaches the graph output '\(output)'; there is no classifier to split"
                : "several weighted layers reach the graph output through weightless ops (\(names)); one classifier is needed")
        }
        return (classifier, tail.sorted())
    }

    /// The constant weight of a weighted layer (Conv, Gemm with constant B, MatMul with a constant
    /// right operand), or nil for weightless nodes.
    public static func weightOperand(_ node: Node, _ graph: Graph) -> String? {
        switch node.op {
        case .conv, .gemm, .matMul:
            guard node.inputs.count >= 2, graph.constants[node.inputs[1]] != nil else { return nil }
            return node.inputs[1]
        default:
            return nil
        }
    }

    // MARK: Layout rules

    /// The segments of each output of `node`, given its inputs' (at least one input is split).
    static func layout(of node: Node, _ graph: Graph, _ temp: [String: [ChannelSegment]], _ uf: inout UnionFind) throws
        -> [[ChannelSegment]] {
        func refuse(_ why: String) -> PassError { PassError("node '\(node.name)' (\(node.op.name)): \(why)") }
        let x = node.inputs[0]
        let xs = temp[x] ?? []
        let rank = (try? graph.type(of: x).rank) ?? 0
        func axis(_ a: Int) -> Int { a < 0 ? a + rank : a }
        func channels(_ value: String) -> Int { (try? graph.type(of: value).dims[1].value ?? 0) ?? 0 }
        switch node.op {
        case .conv(let a):
            guard graph.constants[node.inputs[1]] != nil else { throw refuse("a convolution with a runtime weight cannot be split") }
            let cin = channels(x)
            let cout = channels(node.outputs[0])
            if a.group > 1 {
                guard !xs.isEmpty else { throw refuse("a grouped convolution of the unsplit input is not split") }
                guard a.group == cin, cout == cin else {
                    throw refuse("grouped convolution (group = \(a.group), \(cin) -> \(cout) channels) is not split: its groups cross stage boundaries; only depthwise (group = channels) and group = 1 convolutions are")
                }
                return [xs]
            }
            return [[ChannelSegment(classIndex: uf.make(cout), scale: 1, offset: 0)]]
        case .gemm(let a):
            guard graph.constants[node.inputs[1]] != nil, !a.transA else {
                throw refuse("only Gemm of a split input by a constant B (trans_a = false) can be split")
            }
            return [[ChannelSegment(classIndex: uf.make(channels(node.outputs[0])), scale: 1, offset: 0)]]
        case .matMul:
            guard graph.constants[node.inputs[1]] != nil, rank == 2,
                  (try? graph.type(of: node.inputs[1]).rank) == 2 else {
                throw refuse("only a 2-D MatMul of a split input by a constant matrix can be split")
            }
            return [[ChannelSegment(classIndex: uf.make(channels(node.outputs[0])), scale: 1, offset: 0)]]
        case .relu, .leakyRelu, .clip, .sigmoid, .hardSigmoid, .hardSwish, .dropout, .identity,
             .maxPool, .averagePool, .globalAveragePool, .batchNormalization:
            guard !xs.isEmpty else { throw refuse("its data input is not split but a parameter is") }
            return [xs]
        case .reduceMean(let axes, _):
            guard !axes.map(axis).contains(where: { $0 <= 1 }) else {
                throw refuse("ReduceMean over the batch or channel axis mixes channels; only spatial axes can be split")
            }
            return [xs]
        case .pad(let pads, _, _):
            guard pads.count == 2 * rank, pads[0] == 0, pads[1] == 0, pads[rank] == 0, pads[rank + 1] == 0 else {
                throw refuse("padding the batch or channel axis is not split")
            }
            return [xs]
        case .slice(_, _, let axes, _):
            guard !axes.map(axis).contains(where: { $0 <= 1 }) else { throw refuse("slicing channels cannot be split into stages") }
            return [xs]
        case .split(let a, _):
            guard axis(a) > 1 else {
                throw refuse("Split along channels (e.g. ShuffleNet's channel split) cannot be split into stages: its outputs take channels of every group")
            }
            return Array(repeating: xs, count: node.outputs.count)
        case .softmax(let a):
            guard axis(a) != 1 else { throw refuse("softmax across channels mixes every group; cannot split") }
            return [xs]
        case .lrn:
            throw refuse("LRN normalizes across neighbouring channels, which crosses stage boundaries; cannot split exactly")
        case .transpose(let perm) where perm.count >= 2 && perm[0] == 0 && perm[1] == 1:
            return [xs]
        case .transpose:
            throw refuse("Transpose moves channels (e.g. ShuffleNet's channel shuffle); cannot split into stages")
        case .flatten(let a):
            guard axis(a) == 1 else { throw refuse("Flatten at axis \(a) (not 1) cannot be split") }
            return [flattened(xs, graph.types[x])]
        case .reshape:
            guard isFlatten(node, graph) else {
                throw refuse("Reshape other than a flatten to [N, features] (e.g. channel shuffle) cannot be split into stages")
            }
            return [flattened(xs, graph.types[x])]
        case .concat(let a):
            guard axis(a) == 1 else { throw refuse("Concat along axis \(a) (not channels) cannot be split") }
            var out: [ChannelSegment] = []
            var offset = 0
            for input in node.inputs {
                guard let segs = temp[input] else {
                    throw refuse("Concat of a split value with the unsplit '\(input)' cannot be split")
                }
                out += segs.map { ChannelSegment(classIndex: $0.classIndex, scale: $0.scale, offset: $0.offset + offset) }
                offset += channels(input)
            }
            return [out]
        case .add, .sub, .mul, .div:
            let a = temp[node.inputs[0]], b = temp[node.inputs[1]]
            switch (a, b) {
            case (let a?, let b?):
                guard a.count == b.count, channels(node.inputs[0]) == channels(node.inputs[1]) else {
                    throw refuse("its operands are split differently (\(channels(node.inputs[0])) and \(channels(node.inputs[1])) channels)")
                }
                for (p, q) in zip(a, b) {
                    guard p.scale == q.scale, p.offset == q.offset, uf.union(p.classIndex, q.classIndex) else {
                        throw refuse("its operands' channels cannot be lined up into one class")
                    }
                }
                return [a]
            case (let a?, nil): return [a]
            case (nil, let b?):
                let out = (try? graph.type(of: node.outputs[0]).dims) ?? []
                let bt = (try? graph.type(of: node.inputs[1]).dims) ?? []
                guard out == bt else { throw refuse("a split right operand broadcast to a larger shape cannot be split") }
                return [b]
            case (nil, nil): return [[]]
            }
        }
    }

    /// The segments after flattening a value of type `t`: each channel becomes H·W features.
    static func flattened(_ xs: [ChannelSegment], _ t: TensorType?) -> [ChannelSegment] {
        let spatial = (t?.dims ?? []).dropFirst(2).reduce(1) { $0 * ($1.value ?? 1) }
        return xs.map { ChannelSegment(classIndex: $0.classIndex, scale: $0.scale * spatial, offset: $0.offset * spatial) }
    }

    /// A Reshape that keeps the batch and flattens the rest (what Flatten does).
    static func isFlatten(_ node: Node, _ graph: Graph) -> Bool {
        guard case .reshape = node.op, let x = try? graph.type(of: node.inputs[0]), let y = try? graph.type(of: node.outputs[0]),
              y.rank == 2, x.rank >= 2, x.dims[0] == y.dims[0] else { return false }
        return true
    }
}

/// Union-find over class ids, with each class's channel count.
struct UnionFind {
    var parent: [Int] = []
    var channels: [Int] = []

    mutating func make(_ c: Int) -> Int {
        parent.append(parent.count)
        channels.append(c)
        return parent.count - 1
    }

    mutating func find(_ a: Int) -> Int {
        var r = a
        while parent[r] != r { r = parent[r] }
        var x = a
        while parent[x] != r { (parent[x], x) = (r, parent[x]) }
        return r
    }

    /// Joins two classes; false when their channel counts differ.
    mutating func union(_ a: Int, _ b: Int) -> Bool {
        let (ra, rb) = (find(a), find(b))
        guard ra != rb else { return true }
        guard channels[ra] == channels[rb] else { return false }
        parent[rb] = ra
        return true
    }
}
