// Softmax: ONNX Softmax (opset 13) over one axis.
import Foundation
import IR

extension Kernels {
    /// exp(x − max) / Σ exp(x − max) along `axis`, the maximum subtracted so that large inputs do
    /// not overflow. A slice holding +∞ or NaN gives NaN, as NumPy does.
    public static func softmax(_ x: Tensor, axis: Int) -> Tensor {
        let rank = x.shape.count
        let a = resolvedAxis(axis, rank: rank)
        let outer = x.shape.prefix(a).reduce(1, *)
        let n = rank == 0 ? 1 : x.shape[a]
        let inner = x.shape.dropFirst(a + 1).reduce(1, *)
        return Tensor.filled(shape: x.shape) { out in
            x.scalars.withUnsafeBufferPointer { xb in
                for o in 0..<outer {
                    for i in 0..<inner {
                        let base = o * n * inner + i
                        var m = -Float.infinity
                        for j in 0..<n { let v = xb[base + j * inner]; if v > m || v.isNaN { m = v } }
                        var sum: Float = 0
                        for j in 0..<n {
                            let e = expf(xb[base + j * inner] - m)
                            out[base + j * inner] = e
                            sum += e
                        }
                        for j in 0..<n { out[base + j * inner] /= sum }
                    }
                }
            }
        }
    }
}
