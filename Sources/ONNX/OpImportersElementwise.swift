// OpImportersElementwise: activations, Clip, Add/Sub/Mul/Div, Sum, Dropout and Identity.

import IR

extension OpImporters {
    static let elementwise: [String: OpImporter] = [
        "Relu": { ctx, n in try unary(&ctx, n, .relu, fold: { max($0, 0) }) },
        "Sigmoid": { ctx, n in try unary(&ctx, n, .sigmoid, fold: nil) },
        "HardSwish": { ctx, n in try unary(&ctx, n, .hardSwish, fold: { $0 * min(max($0 / 6 + 0.5, 0), 1) }) },
        "LeakyRelu": { ctx, n in
            let alpha = try n.float("alpha", default: 0.01)
            return try unary(&ctx, n, .leakyRelu(alpha: alpha), fold: { $0 < 0 ? alpha * $0 : $0 })
        },
        "HardSigmoid": { ctx, n in
            let alpha = try n.float("alpha", default: 0.2), beta = try n.float("beta", default: 0.5)
            return try unary(&ctx, n, .hardSigmoid(alpha: alpha, beta: beta), fold: { min(max(alpha * $0 + beta, 0), 1) })
        },
        "Clip": importClip,
        "Add": { ctx, n in try binary(&ctx, n, .add, .add) },
        "Sub": { ctx, n in try binary(&ctx, n, .sub, .sub) },
        "Mul": { ctx, n in try binary(&ctx, n, .mul, .mul) },
        "Div": { ctx, n in try binary(&ctx, n, .div, .div) },
        "Sum": importSum,
        "Dropout": importDropout,
        "Identity": { ctx, n in
            let x = try n.requiredInput(0, "input")
            if let c = try ctx.constant(x) { return [.constant(c)] }
            return [try ctx.emit1(.identity, [try ctx.irValue(x)], output: n.output(0), node: n.name)]
        },
    ]

    /// A one-input op: folds a float constant with `fold` when given, else emits `op`.
    static func unary(_ ctx: inout ImportContext, _ n: ImportNode, _ op: Op, fold: ((Float) -> Float)?) throws -> [ImportValue] {
        let x = try n.requiredInput(0, "X")
        if let fold, let c = try ctx.constant(x), case .floats(let f) = c.storage, c.symbols.isEmpty {
            var out = c
            out.storage = .floats(f.map(fold))
            return [.constant(out)]
        }
        return [try ctx.emit1(op, [try ctx.irValue(x)], output: n.output(0), node: n.name)]
    }

    /// Add, Sub, Mul, Div: folded when both operands are constants (integer shape arithmetic
    /// included), else an IR node with NumPy broadcasting.
    static func binary(_ ctx: inout ImportContext, _ n: ImportNode, _ op: Op, _ foldOp: ConstantFolding.Binary) throws -> [ImportValue] {
        let a = try n.requiredInput(0, "A"), b = try n.requiredInput(1, "B")
        if let c = try constants(ctx, [a, b]) {
            return [.constant(try ConstantFolding.binary(foldOp, c[0], c[1]))]
        }
        return [try ctx.emit1(op, [try ctx.irValue(a), try ctx.irValue(b)], output: n.output(0), node: n.name)]
    }

    /// Sum of any number of inputs: a chain of adds (folded when all are constants).
    static func importSum(_ ctx: inout ImportContext, _ n: ImportNode) throws -> [ImportValue] {
        let inputs = n.presentInputs
        guard let first = inputs.first else { throw ImportFailure("Sum needs at least one input") }
        if let cs = try constants(ctx, inputs) {
            var acc = cs[0]
            for c in cs.dropFirst() { acc = try ConstantFolding.binary(.add, acc, c) }
            return [.constant(acc)]
        }
        if inputs.count == 1 { return [try ctx.emit1(.identity, [try ctx.irValue(first)], output: n.output(0), node: n.name)] }
        var acc = try ctx.irValue(first)
        for (k, next) in inputs.dropFirst().enumerated() {
            let isLast = k == inputs.count - 2
            let out = isLast ? n.output(0) : ctx.freshName("\(n.output(0))_partial\(k + 1)")
            acc = try ctx.emit(.add, [acc, try ctx.irValue(next)], outputs: [out], node: isLast ? n.name : "\(n.name)/add\(k + 1)")[0]
        }
        return [.ir(acc)]
    }

    /// Clip: bounds are attributes before opset 11 (spec defaults: the float range) and optional
    /// scalar inputs from 11 on (absent: unbounded); either way they must be constants.
    static func importClip(_ ctx: inout ImportContext, _ n: ImportNode) throws -> [ImportValue] {
        var lo: Float, hi: Float
        if n.opset < 11 {
            lo = try n.float("min", default: -Float.greatestFiniteMagnitude)
            hi = try n.float("max", default: Float.greatestFiniteMagnitude)
        } else {
            lo = try n.input(1).map { try ctx.requireConstant($0, "Clip min").scalarFloat("Clip min") } ?? -.infinity
            hi = try n.input(2).map { try ctx.requireConstant($0, "Clip max").scalarFloat("Clip max") } ?? .infinity
        }
        guard !lo.isNaN, !hi.isNaN else { throw ImportFailure("Clip bounds must not be NaN") }
        // ONNX: when min > max every value becomes max; clip(max, max) says so within the IR's min <= max.
        if lo > hi { lo = hi }
        let x = try n.requiredInput(0, "input")
        // Integer constants (a bound int input of a test) clip exactly, as integers.
        if let c = try ctx.constant(x), case .ints(let v) = c.storage, c.symbols.isEmpty {
            var out = c
            out.storage = .ints(try v.map { e in
                let d = min(max(Double(e), Double(lo)), Double(hi))
                guard let r = Int64(exactly: d.rounded(.towardZero)) else { throw ImportFailure("Clip of \(e) to [\(lo), \(hi)] leaves the integers") }
                try ConstantFolding.checkRange(r, type: c.dataType, what: "Clip of \(e)")
                return r
            })
            return [.constant(out)]
        }
        return try unary(&ctx, n, .clip(min: lo, max: hi), fold: { min(max($0, lo), hi) })
    }

    /// Dropout is the identity at inference. Before opset 12 the ratio is an attribute; from 12
    /// on ratio and training_mode are optional inputs, which must be constants.
    static func importDropout(_ ctx: inout ImportContext, _ n: ImportNode) throws -> [ImportValue] {
        var ratio: Float = 0.5
        if n.opset < 12 {
            ratio = try n.float("ratio", default: 0.5)
        } else {
            if let r = n.input(1) { ratio = try ctx.requireConstant(r, "Dropout ratio").scalarFloat("Dropout ratio") }
            if let t = n.input(2), try ctx.requireConstant(t, "Dropout training_mode").scalarFloat("Dropout training_mode") != 0 {
                throw ImportFailure("training-mode Dropout (training_mode=true) is not supported; s2dc imports models for inference")
            }
        }
        guard ratio >= 0, ratio < 1 else { throw ImportFailure("Dropout ratio \(ratio) must lie in [0, 1)") }
        try requireUnused(ctx, n, 1, "Dropout's mask output is used; s2dc imports Dropout for inference only")
        let x = try n.requiredInput(0, "data")
        if let c = try ctx.constant(x) { return [.constant(c)] }
        return [try ctx.emit1(.dropout(ratio: ratio), [try ctx.irValue(x)], output: n.output(0), node: n.name)]
    }
}
