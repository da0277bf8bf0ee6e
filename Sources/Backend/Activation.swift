// Activation: an elementwise function applied where a value is produced (fused into its producer).

import IR

/// The activations the backend fuses into the kernel that produces their input.
enum Activation: Hashable {
    case relu
    case leakyRelu(Float)
    case clip(Float, Float)
    case hardSwish
    case sigmoid
    case hardSigmoid(Float, Float)

    /// The fused form of a standalone activation op, or nil.
    init?(_ op: Op) {
        switch op {
        case .relu: self = .relu
        case .leakyRelu(let a): self = .leakyRelu(a)
        case .clip(let lo, let hi): self = .clip(lo, hi)
        case .hardSwish: self = .hardSwish
        case .sigmoid: self = .sigmoid
        case .hardSigmoid(let a, let b): self = .hardSigmoid(a, b)
        default: return nil
        }
    }

    /// Bounds when the activation is a clamp, which the GEMM kernels apply while the tile is in
    /// registers; nil for the others, which run as a sweep over the finished output.
    var clamp: (lo: Float, hi: Float)? {
        switch self {
        case .relu: return (0, .infinity)
        case .clip(let lo, let hi): return (lo, hi)
        default: return nil
        }
    }

    /// An expression applying the activation to the expression `v` (which must be a plain name,
    /// since it may appear more than once). Comparisons are written so that NaN passes through.
    func apply(_ v: String, _ L: Language) -> String {
        switch self {
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
        }
    }
}
