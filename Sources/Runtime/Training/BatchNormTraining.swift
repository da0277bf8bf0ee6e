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

    /// Channels are independent, so they are split over `Parallel`'s threads; each channel's
    /// sums run in one fixed order, so the result is the same for every thread count.
    static func forward(_ x: Tensor, scale: Tensor, bias: Tensor, epsilon: Float) -> Forward {
        let n = x.shape[0], c = x.shape.count > 1 ? x.shape[1] : 1
        let plane = x.shape.dropFirst(2).reduce(1, *)
        let m = Double(max(1, n * plane))
        var mean = [Float](repeating: 0, count: c), variance = mean, invStd = mean
        // Every element of y is written below; Float needs no initialization before that.
        var ys = [Float](unsafeUninitializedCapacity: x.count) { _, count in count = x.count }
        let xhat = Tensor.filled(shape: x.shape) { h in
            ys.withUnsafeMutableBufferPointer { yp in
                x.scalars.withUnsafeBufferPointer { xp in
                mean.withUnsafeMutableBufferPointer { meanp in
                variance.withUnsafeMutableBufferPointer { varp in
                invStd.withUnsafeMutableBufferPointer { invp in
                scale.scalars.withUnsafeBufferPointer { g in
                bias.scalars.withUnsafeBufferPointer { b in
                    guard let base = xp.baseAddress, let hb = h.baseAddress, let yb = yp.baseAddress else { return }
                    Parallel.forEach(c, grain: plane * n >= 4096 ? 1 : c) { _, channels in
                        for ch in channels {
                            // Float sums per plane, Double across planes: a 128×28×28 channel has 100k elements.
                            // Eight Float lanes per plane (a chain of scalar adds would not vectorize).
                            var s = 0.0
                            for i in 0..<n {
                                let row = base + (i * c + ch) * plane
                                var lanes = SIMD8<Float>(), p = 0
                                while p + 8 <= plane { lanes += load8(row + p); p += 8 }
                                var r = lanes.sum()
                                while p < plane { r += row[p]; p += 1 }
                                s += Double(r)
                            }
                            let mu = s / m, muf = Float(mu)
                            var v = 0.0
                            for i in 0..<n {
                                let row = base + (i * c + ch) * plane
                                var lanes = SIMD8<Float>(), p = 0
                                let mv = SIMD8<Float>(repeating: muf)
                                while p + 8 <= plane { let d = load8(row + p) - mv; lanes += d * d; p += 8 }
                                var r = lanes.sum()
                                while p < plane { let d = row[p] - muf; r += d * d; p += 1 }
                                v += Double(r)
                            }
                            v /= m
                            meanp[ch] = muf
                            varp[ch] = Float(v)
                            let inv = Float(BatchNormCoefficients.inverseStd(v, epsilon: epsilon))
                            invp[ch] = inv
                            let gc = g[ch], bc = b[ch]
                            for i in 0..<n {
                                let offset = (i * c + ch) * plane
                                let row = base + offset, hr = hb + offset, yr = yb + offset
                                for p in 0..<plane {
                                    let v = (row[p] - muf) * inv
                                    hr[p] = v
                                    yr[p] = gc * v + bc
                                }
                            }
                        }
                    }
                } } } } } }
            }
        }
        return Forward(y: Tensor(shape: x.shape, scalars: ys), xhat: xhat, invStd: invStd, mean: mean, variance: variance)
    }

    /// dx = scale·invStd/M · (M·dy − Σdy − xhat·Σ(dy·xhat)); dscale = Σ dy·xhat; dbias = Σ dy.
    /// Per channel, split over `Parallel`'s threads like the forward pass.
    ///
    /// With `activation`, the BatchNormalization's only reader is that activation and `dy` is the
    /// gradient of the activation's output: its mask is applied here, on the output recomputed as
    /// scale·xhat + bias exactly as the forward computed it, so the result equals the activation's
    /// backward followed by this one, without writing and rereading the masked gradient.
    static func backward(dy: Tensor, xhat: Tensor, invStd: [Float], scale: Tensor, bias: Tensor? = nil,
                         activation: ActivationMask? = nil) -> (dx: Tensor, dscale: Tensor, dbias: Tensor) {
        let n = dy.shape[0], c = dy.shape.count > 1 ? dy.shape[1] : 1
        let plane = dy.shape.dropFirst(2).reduce(1, *)
        let m = Float(max(1, n * plane))
        let mask = bias == nil ? nil : activation
        var dscale = [Float](repeating: 0, count: c), dbias = dscale
        let dx = Tensor.filled(shape: dy.shape) { o in
            dy.scalars.withUnsafeBufferPointer { d in
            xhat.scalars.withUnsafeBufferPointer { h in
            dscale.withUnsafeMutableBufferPointer { dsp in
            dbias.withUnsafeMutableBufferPointer { dbp in
            scale.scalars.withUnsafeBufferPointer { g in
            (bias?.scalars ?? []).withUnsafeBufferPointer { b in
                guard let db = d.baseAddress, let hb = h.baseAddress, let ob = o.baseAddress else { return }
                Parallel.forEach(c, grain: plane * n >= 4096 ? 1 : c) { _, channels in
                    for ch in channels {
                        let gc = g[ch], bc = mask == nil ? 0 : b[ch]
                        let gv = SIMD8<Float>(repeating: gc), bv = SIMD8<Float>(repeating: bc)
                        // The gradient of BatchNormalization's output at one element (or eight).
                        @inline(__always) func grad(_ p: UnsafePointer<Float>, _ hv: SIMD8<Float>) -> SIMD8<Float> {
                            guard let mask else { return load8(p) }
                            return mask.apply(gv * hv + bv, load8(p))
                        }
                        @inline(__always) func grad(_ dv: Float, _ hv: Float) -> Float {
                            guard let mask else { return dv }
                            return mask.apply(gc * hv + bc, dv)
                        }
                        var sg = 0.0, sb = 0.0
                        for i in 0..<n {
                            let row = (i * c + ch) * plane
                            let dr = db + row, hr = hb + row
                            var lb = SIMD8<Float>(), lg = SIMD8<Float>(), p = 0
                            while p + 8 <= plane {
                                let hv = load8(hr + p), dv = grad(dr + p, hv)
                                lb += dv; lg += dv * hv; p += 8
                            }
                            var rb = lb.sum(), rg = lg.sum()
                            while p < plane { let dv = grad(dr[p], hr[p]); rb += dv; rg += dv * hr[p]; p += 1 }
                            sb += Double(rb); sg += Double(rg)
                        }
                        let sgf = Float(sg), sbf = Float(sb)
                        dsp[ch] = sgf
                        dbp[ch] = sbf
                        let k = gc * invStd[ch] / m
                        let kv = SIMD8<Float>(repeating: k), mv = SIMD8<Float>(repeating: m)
                        let sbv = SIMD8<Float>(repeating: sbf), sgv = SIMD8<Float>(repeating: sgf)
                        for i in 0..<n {
                            let row = (i * c + ch) * plane
                            let dr = db + row, hr = hb + row, or = ob + row
                            var p = 0
                            while p + 8 <= plane {
                                let hv = load8(hr + p)
                                store8(kv * (mv * grad(dr + p, hv) - sbv - hv * sgv), or + p)
                                p += 8
                            }
                            while p < plane { or[p] = k * (m * grad(dr[p], hr[p]) - sbf - hr[p] * sgf); p += 1 }
                        }
                    }
                }
            } } } } } }
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
