// KernelsElementwise: unary activations, broadcasting binary arithmetic, batch normalization.

import IR

extension KernelBuilder {
    /// A standalone activation (one that found no producer to fuse into).
    func unary(_ op: Op) {
        let f = ActivationCode.expression(op, "v", lang) ?? "v"
        emit(.loop("i", ys().elementCount, [.let_("v", "\(x(0))[i]"), .set("\(y())[i]", f)]))
    }

    /// Merges adjacent dimensions along which every operand moves the same way (all broadcast or
    /// all not), so equal shapes become one flat loop and a per-channel operand becomes two loops.
    static func collapse(out: [Int], operands: [[Int]]) -> (out: [Int], operands: [[Int]]) {
        let padded = operands.map { Array(repeating: 1, count: out.count - $0.count) + $0 }
        var o: [Int] = [], ops: [[Int]] = Array(repeating: [], count: operands.count)
        for d in out.indices {
            let pattern = padded.map { $0[d] == 1 && out[d] != 1 }
            if out[d] == 1 { continue }
            if let last = o.indices.last, d > 0 {
                let prevD = (0..<d).last { out[$0] != 1 }!
                let prev = padded.map { $0[prevD] == 1 && out[prevD] != 1 }
                if prev == pattern {
                    o[last] *= out[d]
                    for k in ops.indices { ops[k][last] = pattern[k] ? 1 : o[last] }
                    continue
                }
            }
            o.append(out[d])
            for k in ops.indices { ops[k].append(pattern[k] ? 1 : out[d]) }
        }
        return (o, ops)
    }

    func binary(_ op: Op) {
        let sym: String
        switch op {
        case .add: sym = "+"
        case .sub: sym = "-"
        case .mul: sym = "*"
        default: sym = "/"
        }
        let (out, ops) = Self.collapse(out: ys(), operands: [xs(0), xs(1)])
        let vars = Index.vars(out.count, prefix: "i")
        func idx(_ s: [Int]) -> String { Index.linear(vars, zip(rowMajorStrides(s), s).map { $1 == 1 ? 0 : $0 }) }
        let body: [Stmt] = [
            .let_("v", "\(x(0))[\(idx(ops[0]))] \(sym) \(x(1))[\(idx(ops[1]))]"),
            .set("\(y())[\(Index.linear(vars, rowMajorStrides(out)))]", act("v")),
        ]
        emit(Index.nest(out, prefix: "i", body))
    }

    /// Inference batch normalization (one that no conv or gemm could absorb): y = x·k + offset per
    /// channel. With constant parameters, k and offset come from `BatchNormCoefficients` (the same
    /// numbers the fold and the interpreter use) and are stored with the weights; with runtime
    /// parameters the kernel computes scale = gamma / sqrt(var + eps), shift = beta − mean·scale.
    func batchNorm(epsilon: Float) {
        let s = xs(0)
        let n = s[0], c = s[1], inner = s.dropFirst(2).reduce(1, *)
        let perChannel: [Stmt]
        if let gamma = constant(1), let beta = constant(2), let mean = constant(3), let variance = constant(4) {
            let k = BatchNormCoefficients(scale: gamma, bias: beta, mean: mean, variance: variance, epsilon: epsilon)
            let key = step.inputs[1...4].joined(separator: "#") + "#bn\(epsilon.bitPattern)"
            let coefficients = packed(key) { k.multiplier + k.offset }
            perChannel = [.let_("sc", "\(coefficients)[ch]"), .let_("sh", "\(coefficients)[\(c) + ch]")]
        } else {
            perChannel = [.let_("sc", "\(x(1))[ch] / \(lang.sqrt("\(x(4))[ch] + \(lang.f(epsilon))"))"),
                          .let_("sh", "\(x(2))[ch] - \(x(3))[ch] * sc")]
        }
        emit(.loop("ch", c, perChannel + [
            .loop("b", n, [.loop("i", inner, [
                .let_("v", "\(x(0))[(b * \(c) + ch) * \(inner) + i] * sc + sh"),
                .set("\(y())[(b * \(c) + ch) * \(inner) + i]", act("v")),
            ])]),
        ]))
    }
}
