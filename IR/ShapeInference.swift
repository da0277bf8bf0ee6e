// ShapeInference: the output types of every op from its input types, with checks that name the node.

/// Computes output types of nodes. Every rule follows the ONNX operator specification; a symbolic
/// leading batch dimension passes through ops that keep it and is an error where it would be mixed
/// with other dimensions.
public enum ShapeInference {
    /// The output types of `node` given the types of its inputs, or an error naming the node.
    public static func outputTypes(of node: Node, inputTypes: [TensorType]) throws -> [TensorType] {
        do {
            return try outputTypes(op: node.op, inputs: inputTypes, outputCount: node.outputs.count)
        } catch var error as IRError {
            if error.node == nil { error.node = node.name }
            throw error
        }
    }

    /// The output types of `op` given the types of its inputs.
    public static func outputTypes(op: Op, inputs: [TensorType], outputCount: Int? = nil) throws -> [TensorType] {
        guard op.inputArity.contains(inputs.count) else {
            throw IRError("\(op.name) takes \(arityText(op.inputArity)) inputs, got \(inputs.count)")
        }
        if let outputCount, outputCount != op.outputCount {
            throw IRError("\(op.name) produces \(op.outputCount) outputs, node lists \(outputCount)")
        }
        let outputs = try inferredTypes(op: op, inputs: inputs)
        // The IR's values are static except a leading batch dimension; a rule that would move the
        // symbol elsewhere (transpose, reshape with -1 in another place) is rejected here, where the
        // error can still name the node, rather than in every backend.
        for t in outputs {
            if let i = t.dims.indices.dropFirst().first(where: { t.dims[$0].value == nil }) {
                throw IRError("\(op.name) would give \(t), with symbolic dimension '\(t.dims[i])' at position \(i); only the leading (batch) dimension may be symbolic")
            }
        }
        return outputs
    }

    private static func inferredTypes(op: Op, inputs: [TensorType]) throws -> [TensorType] {
        switch op {
        case .relu, .leakyRelu, .clip, .sigmoid, .hardSigmoid, .hardSwish, .dropout, .identity:
            return [inputs[0]]
        case .add, .sub, .mul, .div:
            return [try broadcast(inputs[0], inputs[1])]
        case .conv(let a):
            return [try conv(a, inputs)]
        case .batchNormalization:
            return [try batchNorm(inputs)]
        case .maxPool(let a), .averagePool(let a):
            return [try pool(a, inputs[0], name: op.name)]
        case .globalAveragePool:
            let x = inputs[0]
            guard x.rank >= 3 else { throw IRError("global_average_pool needs rank >= 3, got \(x)") }
            return [TensorType(dims: Array(x.dims.prefix(2)) + Array(repeating: .fixed(1), count: x.rank - 2))]
        case .reduceMean(let axes, let keepDims):
            return [try reduce(inputs[0], axes: axes, keepDims: keepDims)]
        case .lrn(let size, _, _, _):
            guard size >= 1 else { throw IRError("lrn size must be >= 1, got \(size)") }
            guard inputs[0].rank >= 3 else { throw IRError("lrn needs rank >= 3, got \(inputs[0])") }
            return [inputs[0]]
        case .gemm(let a):
            return [try gemm(a, inputs)]
        case .matMul:
            return [try matMul(inputs[0], inputs[1])]
        case .flatten(let axis):
            return [try flatten(inputs[0], axis: axis)]
        case .reshape(let shape, let allowZero):
            return [try reshape(inputs[0], shape: shape, allowZero: allowZero)]
        case .transpose(let perm):
            let x = inputs[0]
            guard perm.count == x.rank, Set(perm) == Set(0..<x.rank) else {
                throw IRError("transpose perm \(perm) is not a permutation of 0..<\(x.rank)")
            }
            return [TensorType(dims: perm.map { x.dims[$0] })]
        case .concat(let axis):
            return [try concat(inputs, axis: axis)]
        case .split(let axis, let sizes):
            return try split(inputs[0], axis: axis, sizes: sizes)
        case .slice(let starts, let ends, let axes, let steps):
            return [try slice(inputs[0], starts: starts, ends: ends, axes: axes, steps: steps)]
        case .pad(let pads, _, _):
            return [try pad(inputs[0], pads: pads)]
        case .softmax(let axis):
            _ = try normalizeAxis(axis, rank: inputs[0].rank)
            return [inputs[0]]
        }
    }

    /// Maps a possibly negative axis into 0..<rank (or 0...rank when `inclusive`).
    public static func normalizeAxis(_ axis: Int, rank: Int, inclusive: Bool = false) throws -> Int {
        let upper = inclusive ? rank : rank - 1
        let a = resolvedAxis(axis, rank: rank)
        guard a >= 0, a <= upper else { throw IRError("axis \(axis) is out of range for rank \(rank)") }
        return a
    }

    /// Multidirectional (NumPy) broadcasting of two types.
    public static func broadcast(_ a: TensorType, _ b: TensorType) throws -> TensorType {
        let rank = max(a.rank, b.rank)
        let pa = Array(repeating: Dim.fixed(1), count: rank - a.rank) + a.dims
        let pb = Array(repeating: Dim.fixed(1), count: rank - b.rank) + b.dims
        var out: [Dim] = []
        for (x, y) in zip(pa, pb) {
            if x == y { out.append(x) }
            else if x == .fixed(1) { out.append(y) }
            else if y == .fixed(1) { out.append(x) }
            else { throw IRError("shapes \(a) and \(b) do not broadcast") }
        }
        return TensorType(dims: out)
    }

    // MARK: Rules

    private static func arityText(_ r: ClosedRange<Int>) -> String {
        if r.lowerBound == r.upperBound { return "\(r.lowerBound)" }
        if r.upperBound == Int.max { return "at least \(r.lowerBound)" }
        return "\(r.lowerBound) to \(r.upperBound)"
    }

    private static func fixed(_ d: Dim, _ what: String) throws -> Int {
        guard let v = d.value else { throw IRError("\(what) must have a static size, got '\(d)'") }
        return v
    }

    /// Output size of a sliding window along one dimension (conv and pool share it).
    private static func windowOutput(input: Int, kernel: Int, stride: Int, padBegin: Int, padEnd: Int,
                                     dilation: Int, ceilMode: Bool) throws -> Int {
        guard kernel >= 1, stride >= 1, dilation >= 1 else {
            throw IRError("kernel, stride and dilation must be >= 1 (got \(kernel), \(stride), \(dilation))")
        }
        guard padBegin >= 0, padEnd >= 0 else { throw IRError("pads must be >= 0, got \(padBegin), \(padEnd)") }
        let span = dilation * (kernel - 1) + 1
        let room = input + padBegin + padEnd - span
        guard room >= 0 else {
            throw IRError("window of \(span) (kernel \(kernel), dilation \(dilation)) is larger than the padded input \(input + padBegin + padEnd)")
        }
        var out = (ceilMode ? (room + stride - 1) / stride : room / stride) + 1
        // As PyTorch and ONNX: with ceil mode the last window must start inside the input or left pad.
        if ceilMode, (out - 1) * stride >= input + padBegin { out -= 1 }
        return out
    }

    private static func checkWindowAttributes(kernel: [Int], strides: [Int], pads: [Int], dilations: [Int], spatial: Int) throws {
        guard kernel.count == spatial, strides.count == spatial, dilations.count == spatial, pads.count == 2 * spatial else {
            throw IRError("kernel \(kernel), strides \(strides), dilations \(dilations) and pads \(pads) do not fit \(spatial) spatial dimensions")
        }
    }

    private static func conv(_ a: ConvAttributes, _ inputs: [TensorType]) throws -> TensorType {
        let x = inputs[0], w = inputs[1]
        guard x.rank >= 3 else { throw IRError("conv input must be N×C×spatial, got \(x)") }
        guard w.rank == x.rank else { throw IRError("conv weight \(w) must have the input's rank \(x.rank)") }
        let spatial = x.rank - 2
        try checkWindowAttributes(kernel: a.kernel, strides: a.strides, pads: a.pads, dilations: a.dilations, spatial: spatial)
        guard let wShape = w.fixedShape else { throw IRError("conv weight must have a static shape, got \(w)") }
        let cin = try fixed(x.dims[1], "conv input channels")
        guard a.group >= 1, cin % a.group == 0, wShape[0] % a.group == 0 else {
            throw IRError("group \(a.group) must divide input channels \(cin) and output channels \(wShape[0])")
        }
        guard wShape[1] * a.group == cin else {
            throw IRError("conv weight \(w) expects \(wShape[1] * a.group) input channels, input has \(cin)")
        }
        guard Array(wShape.dropFirst(2)) == a.kernel else {
            throw IRError("kernel \(a.kernel) does not match weight \(w)")
        }
        if inputs.count == 3 {
            guard inputs[2] == TensorType(shape: [wShape[0]]) else {
                throw IRError("conv bias \(inputs[2]) must be f32[\(wShape[0])]")
            }
        }
        var dims: [Dim] = [x.dims[0], .fixed(wShape[0])]
        for i in 0..<spatial {
            dims.append(.fixed(try windowOutput(input: try fixed(x.dims[2 + i], "conv spatial dimension"),
                                                kernel: a.kernel[i], stride: a.strides[i], padBegin: a.pads[i],
                                                padEnd: a.pads[spatial + i], dilation: a.dilations[i], ceilMode: false)))
        }
        return TensorType(dims: dims)
    }

    private static func batchNorm(_ inputs: [TensorType]) throws -> TensorType {
        let x = inputs[0]
        guard x.rank >= 2 else { throw IRError("batch_norm input must be N×C×…, got \(x)") }
        let c = try fixed(x.dims[1], "batch_norm channels")
        for p in inputs.dropFirst() where p != TensorType(shape: [c]) {
            throw IRError("batch_norm parameter \(p) must be f32[\(c)]")
        }
        return x
    }

    private static func pool(_ a: PoolAttributes, _ x: TensorType, name: String) throws -> TensorType {
        guard x.rank >= 3 else { throw IRError("\(name) input must be N×C×spatial, got \(x)") }
        let spatial = x.rank - 2
        try checkWindowAttributes(kernel: a.kernel, strides: a.strides, pads: a.pads, dilations: a.dilations, spatial: spatial)
        for i in 0..<spatial where a.pads[i] >= a.kernel[i] || a.pads[spatial + i] >= a.kernel[i] {
            throw IRError("\(name) pads \(a.pads) must be smaller than the kernel \(a.kernel)")
        }
        var dims = Array(x.dims.prefix(2))
        for i in 0..<spatial {
            dims.append(.fixed(try windowOutput(input: try fixed(x.dims[2 + i], "\(name) spatial dimension"),
                                                kernel: a.kernel[i], stride: a.strides[i], padBegin: a.pads[i],
                                                padEnd: a.pads[spatial + i], dilation: a.dilations[i], ceilMode: a.ceilMode)))
        }
        return TensorType(dims: dims)
    }

    private static func reduce(_ x: TensorType, axes: [Int], keepDims: Bool) throws -> TensorType {
        let normalized = Set(try (axes.isEmpty ? Array(0..<x.rank) : axes).map { try normalizeAxis($0, rank: x.rank) })
        guard normalized.count == (axes.isEmpty ? x.rank : axes.count) else { throw IRError("reduce_mean axes \(axes) repeat an axis") }
        var dims: [Dim] = []
        for (i, d) in x.dims.enumerated() {
            if normalized.contains(i) { if keepDims { dims.append(.fixed(1)) } } else { dims.append(d) }
        }
        return TensorType(dims: dims)
    }

    private static func gemm(_ a: GemmAttributes, _ inputs: [TensorType]) throws -> TensorType {
        let x = inputs[0], w = inputs[1]
        guard x.rank == 2, w.rank == 2 else { throw IRError("gemm inputs must be 2-D, got \(x) and \(w)") }
        let (m, k1) = a.transA ? (x.dims[1], x.dims[0]) : (x.dims[0], x.dims[1])
        let (k2, n) = a.transB ? (w.dims[1], w.dims[0]) : (w.dims[0], w.dims[1])
        guard k1 == k2 else { throw IRError("gemm inner dimensions differ: \(x) and \(w) (transA \(a.transA), transB \(a.transB))") }
        let out = TensorType(dims: [m, n])
        if inputs.count == 3 {
            let c = inputs[2]
            guard c.rank <= 2, (try? broadcast(out, c)) == out else {
                throw IRError("gemm bias \(c) does not broadcast to \(out)")
            }
        }
        return out
    }

    private static func matMul(_ a: TensorType, _ b: TensorType) throws -> TensorType {
        guard a.rank >= 1, b.rank >= 1 else { throw IRError("matmul inputs must have rank >= 1") }
        let a2 = a.rank == 1 ? TensorType(dims: [.fixed(1)] + a.dims) : a
        let b2 = b.rank == 1 ? TensorType(dims: b.dims + [.fixed(1)]) : b
        guard a2.dims[a2.rank - 1] == b2.dims[b2.rank - 2] else {
            throw IRError("matmul inner dimensions differ: \(a) and \(b)")
        }
        let batch = try broadcast(TensorType(dims: Array(a2.dims.dropLast(2))), TensorType(dims: Array(b2.dims.dropLast(2))))
        var dims = batch.dims
        if a.rank > 1 { dims.append(a2.dims[a2.rank - 2]) }
        if b.rank > 1 { dims.append(b2.dims[b2.rank - 1]) }
        return TensorType(dims: dims)
    }

    /// a·b, or an error instead of a trap when a shape from a file is absurdly large.
    static func checkedMultiply(_ a: Int, _ b: Int, what: String) throws -> Int {
        let (p, overflow) = a.multipliedReportingOverflow(by: b)
        guard !overflow else { throw IRError("\(what) size overflows 64 bits (\(a) × \(b))") }
        return p
    }

    /// The product of sizes, checked for overflow.
    static func checkedProduct(_ sizes: [Int], what: String) throws -> Int {
        try sizes.reduce(1) { try checkedMultiply($0, $1, what: what) }
    }

    /// The product of dims, which may hold at most one symbol, kept as that symbol when the rest is 1.
    private static func product(_ dims: ArraySlice<Dim>, what: String) throws -> Dim {
        var total = 1
        var symbol: String?
        for d in dims {
            switch d {
            case .fixed(let v): total = try checkedMultiply(total, v, what: what)
            case .symbol(let s):
                guard symbol == nil else { throw IRError("\(what) would multiply two symbolic dimensions") }
                symbol = s
            }
        }
        if let symbol {
            guard total == 1 else { throw IRError("\(what) would merge symbolic dimension '\(symbol)' with others") }
            return .symbol(symbol)
        }
        return .fixed(total)
    }

    private static func flatten(_ x: TensorType, axis: Int) throws -> TensorType {
        let a = try normalizeAxis(axis, rank: x.rank, inclusive: true)
        return TensorType(dims: [try product(x.dims[0..<a], what: "flatten"), try product(x.dims[a...], what: "flatten")])
    }

    private static func reshape(_ x: TensorType, shape: [Int], allowZero: Bool) throws -> TensorType {
        // ONNX: with allowzero a 0 is a real size, and a -1 next to it would be ambiguous.
        if allowZero, shape.contains(0), shape.contains(-1) {
            throw IRError("reshape shape \(shape) has both 0 and -1 with allowzero set")
        }
        var dims: [Dim] = []
        var inferAt: Int?
        for (i, s) in shape.enumerated() {
            if s == -1 {
                guard inferAt == nil else { throw IRError("reshape shape \(shape) has more than one -1") }
                inferAt = i
                dims.append(.fixed(1))
            } else if s == 0 && !allowZero {
                guard i < x.rank else { throw IRError("reshape shape \(shape) copies dimension \(i) of a rank-\(x.rank) input") }
                dims.append(x.dims[i])
            } else if s < 0 {
                throw IRError("reshape shape \(shape) has a negative size")
            } else {
                dims.append(.fixed(s))
            }
        }
        let inSymbol = x.dims.first { $0.value == nil }
        let outSymbol = dims.first { $0.value == nil }
        guard inSymbol == outSymbol || (outSymbol == nil && inferAt != nil) else {
            throw IRError("reshape to \(shape) does not keep the symbolic dimension of \(x)")
        }
        let inFixed = try checkedProduct(x.dims.compactMap(\.value), what: "reshape input")
        let outFixed = try checkedProduct(dims.compactMap(\.value), what: "reshape target")
        if let at = inferAt {
            if inSymbol != nil && outSymbol == nil {
                // -1 absorbs the symbolic batch: allowed only when it takes the batch's place exactly.
                guard outFixed == inFixed, let s = inSymbol else {
                    throw IRError("reshape to \(shape) cannot place the symbolic dimension of \(x)")
                }
                dims[at] = s
            } else {
                guard outFixed > 0, inFixed % outFixed == 0 else {
                    throw IRError("cannot reshape \(x) to \(shape)")
                }
                dims[at] = .fixed(inFixed / outFixed)
            }
        } else if inFixed != outFixed {
            throw IRError("cannot reshape \(x) (\(inFixed) elements) to \(shape) (\(outFixed) elements)")
        }
        return TensorType(dims: dims)
    }

    private static func concat(_ inputs: [TensorType], axis: Int) throws -> TensorType {
        let first = inputs[0]
        let a = try normalizeAxis(axis, rank: first.rank)
        var total = 0
        for t in inputs {
            guard t.rank == first.rank else { throw IRError("concat inputs differ in rank: \(first) and \(t)") }
            for i in 0..<t.rank where i != a && t.dims[i] != first.dims[i] {
                throw IRError("concat inputs \(first) and \(t) differ outside axis \(axis)")
            }
            let (sum, overflow) = total.addingReportingOverflow(try fixed(t.dims[a], "concat axis"))
            guard !overflow else { throw IRError("concat size overflows") }
            total = sum
        }
        var dims = first.dims
        dims[a] = .fixed(total)
        return TensorType(dims: dims)
    }

    private static func split(_ x: TensorType, axis: Int, sizes: [Int]) throws -> [TensorType] {
        let a = try normalizeAxis(axis, rank: x.rank)
        let n = try fixed(x.dims[a], "split axis")
        guard !sizes.isEmpty, sizes.allSatisfy({ $0 >= 0 }), sizes.reduce(0, +) == n else {
            throw IRError("split sizes \(sizes) do not add up to \(n)")
        }
        return sizes.map { s in
            var dims = x.dims
            dims[a] = .fixed(s)
            return TensorType(dims: dims)
        }
    }

    /// The number of elements ONNX Slice selects along one dimension of size `n`.
    /// A step of 0 (which `slice` rejects) and an empty dimension select nothing.
    public static func sliceCount(n: Int, start: Int, end: Int, step: Int) -> Int {
        guard n > 0, step != 0 else { return 0 }
        var s = resolvedAxis(start, rank: n)
        var e = resolvedAxis(end, rank: n)
        if step > 0 {
            s = min(max(s, 0), n)
            e = min(max(e, 0), n)
            // Written so that a giant step (Int.max, Int.min) cannot overflow.
            return e > s ? (e - s - 1) / step + 1 : 0
        } else {
            // ONNX: for negative steps the start clamps to [0, n-1] (not [-1, n-1] as in NumPy), the
            // end to [-1, n-1]; so a start before the beginning still selects element 0.
            s = min(max(s, 0), n - 1)
            e = min(max(e, -1), n - 1)
            return s > e ? Int(UInt(s - e - 1) / step.magnitude) + 1 : 0
        }
    }

    private static func slice(_ x: TensorType, starts: [Int], ends: [Int], axes: [Int], steps: [Int]) throws -> TensorType {
        guard starts.count == ends.count, axes.count == starts.count, steps.count == starts.count else {
            throw IRError("slice starts \(starts), ends \(ends), axes \(axes), steps \(steps) differ in length")
        }
        var dims = x.dims
        var seen = Set<Int>()
        for i in starts.indices {
            let a = try normalizeAxis(axes[i], rank: x.rank)
            guard seen.insert(a).inserted else { throw IRError("slice axes \(axes) repeat an axis") }
            guard steps[i] != 0 else { throw IRError("slice step must not be 0") }
            let n = try fixed(x.dims[a], "sliced dimension")
            dims[a] = .fixed(sliceCount(n: n, start: starts[i], end: ends[i], step: steps[i]))
        }
        return TensorType(dims: dims)
    }

    private static func pad(_ x: TensorType, pads: [Int]) throws -> TensorType {
        guard pads.count == 2 * x.rank else { throw IRError("pad needs \(2 * x.rank) pads for \(x), got \(pads.count)") }
        var dims = x.dims
        for i in 0..<x.rank where pads[i] != 0 || pads[x.rank + i] != 0 {
            let (n0, o1) = try fixed(x.dims[i], "padded dimension").addingReportingOverflow(pads[i])
            let (n, o2) = n0.addingReportingOverflow(pads[x.rank + i])
            guard !o1, !o2 else { throw IRError("pads \(pads) overflow dimension \(i) of \(x)") }
            guard n >= 0 else { throw IRError("pads \(pads) make dimension \(i) of \(x) negative") }
            dims[i] = .fixed(n)
        }
        return TensorType(dims: dims)
    }
}
