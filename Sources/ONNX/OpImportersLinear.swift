// OpImportersLinear: Gemm, MatMul, ReduceMean and Softmax (with the pre-13 coercion to 2-D).

import IR

extension OpImporters {
    static let linear: [String: OpImporter] = [
        "Gemm": { ctx, n in
            let attrs = GemmAttributes(alpha: try n.float("alpha", default: 1), beta: try n.float("beta", default: 1),
                                       transA: try n.flag("transA"), transB: try n.flag("transB"))
            var inputs = [try ctx.irValue(try n.requiredInput(0, "A")), try ctx.irValue(try n.requiredInput(1, "B"))]
            if let c = n.input(2) { inputs.append(try ctx.irValue(c)) }
            return [try ctx.emit1(.gemm(attrs), inputs, output: n.output(0), node: n.name)]
        },
        "MatMul": { ctx, n in
            let a = try ctx.irValue(try n.requiredInput(0, "A")), b = try ctx.irValue(try n.requiredInput(1, "B"))
            return [try ctx.emit1(.matMul, [a, b], output: n.output(0), node: n.name)]
        },
        "ReduceMean": importReduceMean,
        "Softmax": importSoftmax,
    ]

    /// ReduceMean: axes are an attribute before opset 18 and an optional input from 18 on, where
    /// empty axes with noop_with_empty_axes=1 make it the identity; otherwise empty means all.
    static func importReduceMean(_ ctx: inout ImportContext, _ n: ImportNode) throws -> [ImportValue] {
        let x = try ctx.irValue(try n.requiredInput(0, "data"))
        let rank = try ctx.graph.type(of: x).rank
        let keepDims = try n.flag("keepdims", default: true)
        var axes: [Int]?
        if n.opset < 18 {
            axes = try n.ints("axes")
        } else if let a = n.input(1) {
            axes = try ctx.requireConstant(a, "ReduceMean axes").ints("ReduceMean axes")
        }
        if axes?.isEmpty ?? true {
            if n.opset >= 18, try n.flag("noop_with_empty_axes") {
                return [try ctx.emit1(.identity, [x], output: n.output(0), node: n.name)]
            }
            axes = Array(0..<rank)
        }
        let normalized = try Self.axes(axes ?? [], rank: rank).sorted()
        return [try ctx.emit1(.reduceMean(axes: normalized, keepDims: keepDims), [x], output: n.output(0), node: n.name)]
    }

    /// Softmax from opset 13 normalizes along one axis (default -1). Before 13 it coerces the
    /// input to 2-D at `axis` (default 1) and normalizes each row over all trailing dimensions;
    /// that equals a softmax along one axis when the other trailing dimensions are 1, and is
    /// otherwise imported as reshape → softmax over the last axis → reshape back.
    static func importSoftmax(_ ctx: inout ImportContext, _ n: ImportNode) throws -> [ImportValue] {
        let x = try ctx.irValue(try n.requiredInput(0, "input"))
        let dims = try ctx.graph.type(of: x).dims
        let rank = dims.count
        let out = n.output(0)
        if n.opset >= 13 {
            let a = try axis(try n.int("axis", default: -1), rank: rank)
            return [try ctx.emit1(.softmax(axis: a), [x], output: out, node: n.name)]
        }
        let a = try axis(try n.int("axis", default: 1), rank: rank)
        let tail = dims[a...]
        if tail.dropFirst().allSatisfy({ $0 == .fixed(1) }) {
            return [try ctx.emit1(.softmax(axis: a), [x], output: out, node: n.name)]
        }
        if tail.dropLast().allSatisfy({ $0 == .fixed(1) }) {
            return [try ctx.emit1(.softmax(axis: rank - 1), [x], output: out, node: n.name)]
        }
        let sizes = try fixed(Array(tail), "the dimensions a Softmax (opset < 13) normalizes over")
        let flat = Array(dims[..<a]) + [.fixed(sizes.reduce(1, *))]
        let rows = ctx.freshName("\(out)_rows")
        _ = try emitReshape(&ctx, x, to: flat, output: rows, node: "\(n.name)/to2d")
        let normalized = ctx.freshName("\(out)_softmax")
        try ctx.emit(.softmax(axis: a), [rows], outputs: [normalized], node: n.name)
        return [try emitReshape(&ctx, normalized, to: dims, output: out, node: "\(n.name)/back")]
    }
}
