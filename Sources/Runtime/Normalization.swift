// Normalization: inference-mode BatchNormalization and LocalResponseNormalization.
import Foundation
import IR

extension Kernels {
    /// Inference BatchNormalization over dimension 1: (x − mean) / sqrt(var + ε) · scale + bias,
    /// computed as x · a + b with a and b from `BatchNormCoefficients`.
    public static func batchNormalization(_ x: Tensor, scale: Tensor, bias: Tensor, mean: Tensor, variance: Tensor,
                                          epsilon: Float, activation: FusedActivation? = nil) -> Tensor {
        batchNormalization(x, scale: scale, bias: bias, mean: mean, variance: variance, epsilon: epsilon,
                           activation: activation, layout: .nchw)
    }

    /// BatchNormalization on data stored in `layout` (a channel is one run in CNHW).
    static func batchNormalization(_ x: Tensor, scale: Tensor, bias: Tensor, mean: Tensor, variance: Tensor,
                                   epsilon: Float, activation: FusedActivation?, layout: DataLayout) -> Tensor {
        let k = BatchNormCoefficients(scale: scale, bias: bias, mean: mean, variance: variance, epsilon: epsilon)
        let a = k.multiplier, b = k.offset
        let n = x.shape[0], c = x.shape.count > 1 ? x.shape[1] : 1
        let plane = x.shape.dropFirst(2).reduce(1, *)
        let (runs, run, runStride, channelStride) = layout == .cnhw ? (1, n * plane, 0, n * plane) : (n, plane, c * plane, plane)
        var y = x
        y.scalars.withUnsafeMutableBufferPointer { out in
            guard let p = out.baseAddress else { return }
            for ch in 0..<c {
                let s = a[ch], t = b[ch]
                for r in 0..<runs {
                    let row = UnsafeMutableBufferPointer(start: p + ch * channelStride + r * runStride, count: run)
                    for j in 0..<run { row[j] = row[j] * s + t }
                    activation.apply(row)
                }
            }
        }
        return y
    }

    /// ONNX LRN: x / (bias + alpha/size · Σ x²)^beta, the sum over channels
    /// c − ⌊(size−1)/2⌋ … c + ⌈(size−1)/2⌉ clipped to the valid ones.
    public static func lrn(_ x: Tensor, size: Int, alpha: Float, beta: Float, bias: Float) -> Tensor {
        let n = x.shape[0], c = x.shape[1], plane = x.shape.dropFirst(2).reduce(1, *)
        let before = (size - 1) / 2, after = size - 1 - before
        return Tensor.filled(shape: x.shape) { out in
            x.scalars.withUnsafeBufferPointer { xb in
                var sums = [Float](repeating: 0, count: plane)
                for i in 0..<n {
                    let base = i * c * plane
                    for ch in 0..<c {
                        for j in 0..<plane { sums[j] = 0 }
                        for k in max(0, ch - before)...min(c - 1, ch + after) {
                            let row = base + k * plane
                            for j in 0..<plane { let v = xb[row + j]; sums[j] += v * v }
                        }
                        let row = base + ch * plane
                        for j in 0..<plane {
                            out[row + j] = xb[row + j] / powf(bias + alpha / Float(size) * sums[j], beta)
                        }
                    }
                }
            }
        }
    }
}
