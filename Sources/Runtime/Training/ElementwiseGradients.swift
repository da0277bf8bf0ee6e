// ElementwiseGradients: derivatives of the activations and of broadcasting Add/Sub/Mul/Div.
import IR

/// The derivative of an activation that is 1 on an interval and 0 elsewhere (Relu: x > 0; Clip:
/// lo < x < hi), as `lo < x <= hi` with `hi` inclusive, so that both read as one vector compare.
/// Comparisons with NaN are false, so a NaN input passes no gradient, as the scalar forms.
struct ActivationMask {
    var lo: Float, hi: Float

    /// The mask of `op`, or nil when its derivative is not a 0/1 mask.
    init?(_ op: Op) {
        switch op {
        case .relu: (lo, hi) = (0, .infinity)
        // x < hi is x <= hi.nextDown; hi = -inf admits nothing (lo = NaN fails every compare).
        case .clip(let l, let h): (lo, hi) = h == -.infinity ? (.nan, h) : (l, h.nextDown)
        default: return nil
        }
    }

    /// dy where x is inside, else 0.
    @inline(__always)
    func apply(_ x: Float, _ dy: Float) -> Float { x > lo && x <= hi ? dy : 0 }

    @inline(__always)
    func apply(_ x: SIMD8<Float>, _ dy: SIMD8<Float>) -> SIMD8<Float> {
        dy.replacing(with: 0, where: .!((x .> lo) .& (x .<= hi)))
    }
}

enum ElementwiseGradients {
    /// dy · f'(x) for an activation op f with output y = f(x) (a fused one passes `activation.op`).
    /// Kinks take the one-sided derivative that the forward's branch implies (Relu'(0) = 0, as PyTorch).
    static func activation(_ f: Op, x: Tensor, y: Tensor, dy: Tensor) -> Tensor {
        // Elementwise: chunks of the tensor go to the threads, each element computed alone.
        return Tensor.filled(shape: dy.shape) { o in
            dy.scalars.withUnsafeBufferPointer { dp in
            x.scalars.withUnsafeBufferPointer { xp in
            y.scalars.withUnsafeBufferPointer { yp in
                Parallel.forEachChunk(o.count) { r in
                    if let mask = ActivationMask(f), let ob = o.baseAddress, let xb = xp.baseAddress, let db = dp.baseAddress {
                        // Eight lanes at a time: a branch per element mispredicts on a network's activations.
                        var i = r.lowerBound
                        while i + 8 <= r.upperBound { store8(mask.apply(load8(xb + i), load8(db + i)), ob + i); i += 8 }
                        while i < r.upperBound { ob[i] = mask.apply(xb[i], db[i]); i += 1 }
                        return
                    }
                    switch f {
                    case .relu: for i in r { o[i] = xp[i] > 0 ? dp[i] : 0 }
                    case .leakyRelu(let alpha): for i in r { o[i] = dp[i] * (xp[i] < 0 ? alpha : 1) }
                    case .clip(let lo, let hi): for i in r { o[i] = (xp[i] > lo && xp[i] < hi) ? dp[i] : 0 }
                    case .sigmoid: for i in r { o[i] = dp[i] * (yp[i] * (1 - yp[i])) }
                    case .hardSigmoid(let alpha, let beta):
                        for i in r {
                            let t = alpha * xp[i] + beta
                            o[i] = dp[i] * ((t > 0 && t < 1) ? alpha : 0)
                        }
                    case .hardSwish:
                        for i in r {
                            let v = xp[i]
                            o[i] = dp[i] * (v <= -3 ? 0 : (v >= 3 ? 1 : v / 3 + 0.5))
                        }
                    default: for i in r { o[i] = dp[i] }  // Identity-like: the gradient passes through.
                    }
                }
            } } }
        }
    }

    /// Gradients of a broadcasting binary op with respect to both operands, each summed back to
    /// its own shape.
    static func binary(_ op: Op, _ a: Tensor, _ b: Tensor, dy: Tensor, needs: [Bool]) -> (Tensor?, Tensor?) {
        let shape = dy.shape
        let rank = shape.count
        let pa = Array(repeating: 1, count: rank - a.shape.count) + a.shape
        let pb = Array(repeating: 1, count: rank - b.shape.count) + b.shape
        let sa = rowMajorStrides(pa).enumerated().map { pa[$0.offset] == 1 ? 0 : $0.element }
        let sb = rowMajorStrides(pb).enumerated().map { pb[$0.offset] == 1 ? 0 : $0.element }
        var da = [Float](repeating: 0, count: needs[0] ? a.count : 0)
        var db = [Float](repeating: 0, count: needs[1] ? b.count : 0)
        // Same shapes: an Add passes dy on to both (residual adds), the others skip the index arithmetic.
        if op == .add && a.shape == shape && b.shape == shape {
            return (needs[0] ? dy : nil, needs[1] ? dy : nil)
        }
        if a.shape == shape && b.shape == shape {
            for i in 0..<dy.count {
                let (ga, gb) = partials(op, a.scalars[i], b.scalars[i], dy.scalars[i])
                if needs[0] { da[i] = ga }
                if needs[1] { db[i] = gb }
            }
        } else if dy.count > 0 {
            var index = [Int](repeating: 0, count: rank)
            for i in 0..<dy.count {
                var ia = 0, ib = 0
                for d in 0..<rank { ia += index[d] * sa[d]; ib += index[d] * sb[d] }
                let (ga, gb) = partials(op, a.scalars[ia], b.scalars[ib], dy.scalars[i])
                if needs[0] { da[ia] += ga }
                if needs[1] { db[ib] += gb }
                increment(&index, within: shape)
            }
        }
        return (needs[0] ? Tensor(shape: a.shape, scalars: da) : nil, needs[1] ? Tensor(shape: b.shape, scalars: db) : nil)
    }

    @inline(__always)
    private static func partials(_ op: Op, _ x: Float, _ y: Float, _ g: Float) -> (Float, Float) {
        switch op {
        case .add: return (g, g)
        case .sub: return (g, -g)
        case .mul: return (g * y, g * x)
        default: return (g / y, -g * x / (y * y))
        }
    }
}
