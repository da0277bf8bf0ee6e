// BatchNormTraining: BatchNormalization with batch statistics, and its gradients in both modes.
import Foundation
import IR

/// Training-mode BatchNormalization over dimension 1 of N×C×… input (statistics over N and the
/// spatial dimensions), and the backward passes of the training and inference forms.
enum BatchNormTraining {
    struct Forward {
        var y: Tensor, xhat: Tensor
        var invStd: [Float], mean: [Float], variance: [Float]
    }

    static func forward(_ x: Tensor, scale: Tensor, bias: Tensor, epsilon: Float) -> Forward {
        let n = x.shape[0], c = x.shape.count > 1 ? x.shape[1] : 1
        let plane = x.shape.dropFirst(2).reduce(1, *)
        let m = Double(max(1, n * plane))
        var mean = [Float](repeating: 0, count: c), variance = mean, invStd = mean
        var xhat = x, y = x
        x.scalars.withUnsafeBufferPointer { xp in
            guard let base = xp.baseAddress else { return }
            for ch in 0..<c {
                // Float sums per plane, Double across planes: a 128×28×28 channel has 100k elements.
                var s = 0.0
                for i in 0..<n {
                    let row = base + (i * c + ch) * plane
                    var r: Float = 0
                    for p in 0..<plane { r += row[p] }
                    s += Double(r)
                }
                let mu = s / m, muf = Float(mu)
                var v = 0.0
                for i in 0..<n {
                    let row = base + (i * c + ch) * plane
                    var r: Float = 0
                    for p in 0..<plane { let d = row[p] - muf; r += d * d }
                    v += Double(r)
                }
                v /= m
                mean[ch] = Float(mu)
                variance[ch] = Float(v)
                invStd[ch] = Float(BatchNormCoefficients.inverseStd(v, epsilon: epsilon))
            }
        }
        xhat.scalars.withUnsafeMutableBufferPointer { h in
            y.scalars.withUnsafeMutableBufferPointer { yp in
                for i in 0..<n { for ch in 0..<c {
                    let row = (i * c + ch) * plane
                    let mu = mean[ch], inv = invStd[ch], g = scale.scalars[ch], b = bias.scalars[ch]
                    for p in 0..<plane {
                        let v = (h[row + p] - mu) * inv
                        h[row + p] = v
                        yp[row + p] = g * v + b
                    }
                } }
            }
        }
        return Forward(y: y, xhat: xhat, invStd: invStd, mean: mean, variance: variance)
    }

    /// dx = scale·invStd/M · (M·dy − Σdy − xhat·Σ(dy·xhat)); dscale = Σ dy·xhat; dbias = Σ dy.
    static func backward(dy: Tensor, xhat: Tensor, invStd: [Float], scale: Tensor) -> (dx: Tensor, dscale: Tensor, dbias: Tensor) {
        let n = dy.shape[0], c = dy.shape.count > 1 ? dy.shape[1] : 1
        let plane = dy.shape.dropFirst(2).reduce(1, *)
        let m = Float(max(1, n * plane))
        var dscale = [Float](repeating: 0, count: c), dbias = dscale
        var dx = dy
        dy.scalars.withUnsafeBufferPointer { d in
            xhat.scalars.withUnsafeBufferPointer { h in
                for ch in 0..<c {
                    var sg = 0.0, sb = 0.0
                    for i in 0..<n {
                        let row = (i * c + ch) * plane
                        var rg: Float = 0, rb: Float = 0
                        for p in 0..<plane { rb += d[row + p]; rg += d[row + p] * h[row + p] }
                        sb += Double(rb); sg += Double(rg)
                    }
                    dscale[ch] = Float(sg)
                    dbias[ch] = Float(sb)
                }
                dx.scalars.withUnsafeMutableBufferPointer { o in
                    for i in 0..<n { for ch in 0..<c {
                        let row = (i * c + ch) * plane
                        let k = scale.scalars[ch] * invStd[ch] / m
                        let sb = dbias[ch], sg = dscale[ch]
                        for p in 0..<plane { o[row + p] = k * (m * d[row + p] - sb - h[row + p] * sg) }
                    } }
                }
            }
        }
        return (dx, Tensor(shape: [c], scalars: dscale), Tensor(shape: [c], scalars: dbias))
    }

    /// Gradients of inference-mode BatchNormalization (running statistics are constants).
    static func inferenceBackward(dy: Tensor, x: Tensor, scale: Tensor, mean: Tensor, variance: Tensor,
                                  epsilon: Float) -> (dx: Tensor, dscale: Tensor, dbias: Tensor) {
        let n = dy.shape[0], c = dy.shape.count > 1 ? dy.shape[1] : 1
        let plane = dy.shape.dropFirst(2).reduce(1, *)
        var dscale = [Float](repeating: 0, count: c), dbias = dscale
        var dx = dy
        for ch in 0..<c {
            let inv = Float(BatchNormCoefficients.inverseStd(Double(variance.scalars[ch]), epsilon: epsilon))
            let mu = mean.scalars[ch], g = scale.scalars[ch]
            for i in 0..<n {
                let row = (i * c + ch) * plane
                for p in 0..<plane {
                    let d = dy.scalars[row + p]
                    dbias[ch] += d
                    dscale[ch] += d * (x.scalars[row + p] - mu) * inv
                    dx.scalars[row + p] = d * g * inv
                }
            }
        }
        return (dx, Tensor(shape: [c], scalars: dscale), Tensor(shape: [c], scalars: dbias))
    }
}
