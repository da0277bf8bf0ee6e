// SGD: stochastic gradient descent with momentum, Nesterov momentum and decoupled-from-nothing weight decay.
import IR

/// SGD as PyTorch's `torch.optim.SGD` computes it, per parameter p with gradient g:
///
///     g ← g + weightDecay · p        (only for parameters that decay)
///     v ← momentum · v + g           (v starts at g on the first step, as PyTorch: v₀ = 0, dampening 0)
///     step = nesterov ? g + momentum · v : v
///     p ← p − lr · step
///
/// Weight decay applies to weights of rank ≥ 2 (convolution and linear weights) and not to
/// biases or BatchNormalization parameters, the usual choice for CNNs.
public struct SGD: Sendable {
    public var momentum: Float
    public var nesterov: Bool
    public var weightDecay: Float
    /// Velocity per parameter name (saved in checkpoints).
    public var velocity: [String: [Float]] = [:]

    public init(momentum: Float = 0.9, nesterov: Bool = true, weightDecay: Float = 5e-4) {
        self.momentum = momentum
        self.nesterov = nesterov
        self.weightDecay = weightDecay
    }

    /// True when weight decay applies to a parameter of this shape.
    public static func decays(_ shape: [Int]) -> Bool { shape.count >= 2 }

    /// Updates `parameters` in place from `gradients` with learning rate `lr`.
    public mutating func step(_ parameters: inout [String: Tensor], gradients: [String: Tensor], lr: Float) {
        for name in parameters.keys.sorted() {
            guard var p = parameters[name], let g = gradients[name], g.count == p.count else { continue }
            parameters[name] = nil  // unique storage: update in place
            let wd = Self.decays(p.shape) ? weightDecay : 0
            var v = velocity[name] ?? [Float](repeating: 0, count: p.count)
            velocity[name] = nil
            p.scalars.withUnsafeMutableBufferPointer { pp in
                v.withUnsafeMutableBufferPointer { vp in
                    g.scalars.withUnsafeBufferPointer { gp in
                        for i in 0..<pp.count {
                            let d = gp[i] + wd * pp[i]
                            let vi = momentum * vp[i] + d
                            vp[i] = vi
                            pp[i] -= lr * (nesterov ? d + momentum * vi : vi)
                        }
                    }
                }
            }
            velocity[name] = v
            parameters[name] = p
        }
    }
}
