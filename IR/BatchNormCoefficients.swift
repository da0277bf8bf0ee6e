// BatchNormCoefficients: the per-channel multiplier and offset of an inference BatchNormalization, computed in one place.

/// Inference BatchNormalization is y = (x − mean) / sqrt(var + ε) · scale + bias = x · k + offset
/// per channel, with k = scale / sqrt(var + ε) and offset = bias − mean · k. Every consumer of
/// those numbers (the fold-batchnorm pass, constant folding, the interpreter's kernel, the
/// training engine's inference-mode gradient) calls this function, so that they agree bit for bit.
public struct BatchNormCoefficients: Sendable, Equatable {
    /// k[c] = scale[c] / sqrt(var[c] + ε).
    public var multiplier: [Float]
    /// offset[c] = bias[c] − mean[c] · k[c].
    public var offset: [Float]
    /// 1 / sqrt(var[c] + ε) (what the gradient with respect to the scale needs).
    public var inverseStd: [Float]
    /// k and offset before rounding, so that a fold rounds each folded number once.
    private var exactMultiplier: [Double]
    private var exactOffset: [Double]

    /// The coefficients from the four parameter vectors (all of one length C). The arithmetic is
    /// done in double precision and rounded once, so that folding adds no error of its own.
    public init(scale: [Float], bias: [Float], mean: [Float], variance: [Float], epsilon: Float) {
        let c = scale.count
        var k = [Double](repeating: 0, count: c), t = k, inv = k
        for i in 0..<c {
            inv[i] = Self.inverseStd(Double(variance[i]), epsilon: epsilon)
            k[i] = Double(scale[i]) * inv[i]
            t[i] = Double(bias[i]) - Double(mean[i]) * k[i]
        }
        exactMultiplier = k
        exactOffset = t
        multiplier = k.map(Float.init)
        offset = t.map(Float.init)
        inverseStd = inv.map(Float.init)
    }

    /// 1 / sqrt(variance + ε): the one formula, also for a batch's own variance in training.
    @inline(__always)
    public static func inverseStd(_ variance: Double, epsilon: Float) -> Double {
        1 / (variance + Double(epsilon)).squareRoot()
    }

    /// The same, from tensors.
    public init(scale: Tensor, bias: Tensor, mean: Tensor, variance: Tensor, epsilon: Float) {
        self.init(scale: scale.scalars, bias: bias.scalars, mean: mean.scalars, variance: variance.scalars, epsilon: epsilon)
    }

    /// A weight of output channel `c` of the producer (conv or gemm) after the batch norm is
    /// folded into it: w · k, rounded once.
    public func foldedWeight(_ w: Float, channel c: Int) -> Float {
        Float(Double(w) * exactMultiplier[c])
    }

    /// The bias of output channel `c` of the producer (which had bias `b`) after the fold:
    /// b · k + offset, rounded once.
    public func foldedBias(_ b: Float, channel c: Int) -> Float {
        Float(Double(b) * exactMultiplier[c] + exactOffset[c])
    }
}
