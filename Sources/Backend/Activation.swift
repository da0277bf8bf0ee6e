// Activation: the expressions of the elementwise activation ops, standalone or as a fused epilogue.

import IR

extension FusedActivation {
    /// Bounds when the activation is a clamp, which the GEMM kernels apply while the tile is in
    /// registers; nil for the others, which run as a sweep over the finished output.
    var clamp: (lo: Float, hi: Float)? {
        switch self {
        case .relu: return (0, .infinity)
        case .clip(let lo, let hi): return (lo, hi)
        case .leakyRelu, .hardSwish: return nil
        }
    }

    /// An expression applying the activation to the expression `v` (a plain name).
    func apply(_ v: String, _ L: Language) -> String {
        ActivationCode.expression(op, v, L) ?? v
    }
}

/// The activation ops in the emitted languages.
enum ActivationCode {
    /// An expression applying the activation op `op` to the expression `v` (which must be a plain
    /// name, since it may appear more than once), or nil when `op` is not an activation.
    /// Comparisons are written so that NaN passes through.
    static func expression(_ op: Op, _ v: String, _ L: Language) -> String? {
        switch op {
        case .relu: return "(\(v) < \(L.f(0)) ? \(L.f(0)) : \(v))"
        case .leakyRelu(let a): return "(\(v) < \(L.f(0)) ? \(L.f(a)) * \(v) : \(v))"
        case .clip(let lo, let hi):
            return "(\(v) < \(L.f(lo)) ? \(L.f(lo)) : (\(v) > \(L.f(hi)) ? \(L.f(hi)) : \(v)))"
        case .hardSwish:
            let t = "(\(v) * \(L.f(1.0 / 6)) + \(L.f(0.5)))"
            return "(\(v) * (\(t) < \(L.f(0)) ? \(L.f(0)) : (\(t) > \(L.f(1)) ? \(L.f(1)) : \(t))))"
        case .sigmoid:
            return "(\(L.f(1)) / (\(L.f(1)) + \(L.exp("-\(v)"))))"
        case .hardSigmoid(let a, let b):
            let t = "(\(L.f(a)) * \(v) + \(L.f(b)))"
            return "(\(t) < \(L.f(0)) ? \(L.f(0)) : (\(t) > \(L.f(1)) ? \(L.f(1)) : \(t)))"
        default:
            return nil
        }
    }
}
