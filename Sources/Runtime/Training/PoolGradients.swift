// PoolGradients: MaxPool with the winning index kept, and the backward passes of the pools.
import IR

/// Max, average and global average pooling gradients over N×C×H×W (or N×C×L) input.
enum PoolGradients {
    /// The pool's geometry in 2-D form (1-D pools get height 1).
    private static func geometry(_ input: [Int], _ output: [Int], _ a: PoolAttributes)
        -> (h: Int, w: Int, oh: Int, ow: Int, kh: Int, kw: Int, sh: Int, sw: Int, dh: Int, dw: Int, pt: Int, pl: Int, limH: Int, limW: Int) {
        if input.count == 3 {
            return (1, input[2], 1, output[2], 1, a.kernel[0], 1, a.strides[0], 1, a.dilations[0], 0, a.pads[0],
                    1, input[2] + a.pads[1])
        }
        return (input[2], input[3], output[2], output[3], a.kernel[0], a.kernel[1], a.strides[0], a.strides[1],
                a.dilations[0], a.dilations[1], a.pads[0], a.pads[1], input[2] + a.pads[2], input[3] + a.pads[3])
    }

    /// MaxPool forward that records, per output, the winning input index within its plane.
    static func maxPoolForward(_ x: Tensor, _ a: PoolAttributes, outputShape: [Int]) -> (y: Tensor, argmax: [Int32]) {
        let g = geometry(x.shape, outputShape, a)
        let planes = x.shape[0] * x.shape[1]
        var y = [Float](repeating: -.infinity, count: outputShape.elementCount)
        var arg = [Int32](repeating: -1, count: y.count)
        x.scalars.withUnsafeBufferPointer { xp in
            for p in 0..<planes {
                let src = p * g.h * g.w, dst = p * g.oh * g.ow
                for oy in 0..<g.oh { for ox in 0..<g.ow {
                    var best = -Float.infinity, at: Int32 = -1
                    for ky in 0..<g.kh {
                        let iy = oy * g.sh - g.pt + ky * g.dh
                        guard iy >= 0, iy < g.h else { continue }
                        for kx in 0..<g.kw {
                            let ix = ox * g.sw - g.pl + kx * g.dw
                            guard ix >= 0, ix < g.w else { continue }
                            let v = xp[src + iy * g.w + ix]
                            if at < 0 || v > best { best = v; at = Int32(iy * g.w + ix) }
                        }
                    }
                    y[dst + oy * g.ow + ox] = best
                    arg[dst + oy * g.ow + ox] = at
                } }
            }
        }
        return (Tensor(shape: outputShape, scalars: y), arg)
    }

    static func maxPoolBackward(dy: Tensor, argmax: [Int32], inputShape: [Int]) -> Tensor {
        let planes = inputShape[0] * inputShape[1]
        let inPixels = inputShape.dropFirst(2).reduce(1, *), outPixels = dy.count / max(1, planes)
        var dx = [Float](repeating: 0, count: inputShape.elementCount)
        for p in 0..<planes {
            for o in 0..<outPixels {
                let a = argmax[p * outPixels + o]
                if a >= 0 { dx[p * inPixels + Int(a)] += dy.scalars[p * outPixels + o] }
            }
        }
        return Tensor(shape: inputShape, scalars: dx)
    }

    /// Spreads each output's gradient evenly over the taps its divisor counted (see
    /// `Kernels.averagePool`: inside taps, or with `countIncludePad` also explicit padding).
    static func averagePoolBackward(dy: Tensor, _ a: PoolAttributes, inputShape: [Int]) -> Tensor {
        let g = geometry(inputShape, dy.shape, a)
        let planes = inputShape[0] * inputShape[1]
        var dx = [Float](repeating: 0, count: inputShape.elementCount)
        for p in 0..<planes {
            let src = p * g.h * g.w, dst = p * g.oh * g.ow
            for oy in 0..<g.oh { for ox in 0..<g.ow {
                var inside = 0, padded = 0
                for ky in 0..<g.kh {
                    let iy = oy * g.sh - g.pt + ky * g.dh
                    if iy >= g.limH { break }
                    for kx in 0..<g.kw {
                        let ix = ox * g.sw - g.pl + kx * g.dw
                        if ix >= g.limW { break }
                        padded += 1
                        if iy >= 0, iy < g.h, ix >= 0, ix < g.w { inside += 1 }
                    }
                }
                let divisor = a.countIncludePad ? padded : inside
                guard divisor > 0 else { continue }
                let share = dy.scalars[dst + oy * g.ow + ox] / Float(divisor)
                for ky in 0..<g.kh {
                    let iy = oy * g.sh - g.pt + ky * g.dh
                    guard iy >= 0, iy < g.h else { continue }
                    for kx in 0..<g.kw {
                        let ix = ox * g.sw - g.pl + kx * g.dw
                        guard ix >= 0, ix < g.w else { continue }
                        dx[src + iy * g.w + ix] += share
                    }
                }
            } }
        }
        return Tensor(shape: inputShape, scalars: dx)
    }

    static func globalAveragePoolBackward(dy: Tensor, inputShape: [Int]) -> Tensor {
        let planes = inputShape[0] * inputShape[1]
        let pixels = inputShape.dropFirst(2).reduce(1, *)
        var dx = [Float](repeating: 0, count: inputShape.elementCount)
        let inv = 1 / Float(max(1, pixels))
        for p in 0..<planes {
            let v = dy.scalars[p] * inv
            for i in 0..<pixels { dx[p * pixels + i] = v }
        }
        return Tensor(shape: inputShape, scalars: dx)
    }
}
