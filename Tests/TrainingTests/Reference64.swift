// Reference64: naive float64 implementations of the trainable ops, the independent side of gradient checks.
import Foundation
import IR

/// A float64 tensor for the reference implementations.
struct R64 {
    var shape: [Int]
    var v: [Double]
    init(_ shape: [Int], _ v: [Double]) { self.shape = shape; self.v = v }
    init(_ t: Tensor) { shape = t.shape; v = t.scalars.map(Double.init) }
    var count: Int { v.count }
}

/// Direct-loop float64 versions of each op, written from the ONNX definitions without sharing code
/// with the engine (no im2col, no BLAS), so agreement checks both the forward and the gradients.
enum Ref {
    static func strides(_ s: [Int]) -> [Int] {
        var r = [Int](repeating: 1, count: s.count)
        var acc = 1
        for i in stride(from: s.count - 1, through: 0, by: -1) { r[i] = acc; acc *= s[i] }
        return r
    }

    static func multiIndex(_ flat: Int, _ shape: [Int]) -> [Int] {
        var r = [Int](repeating: 0, count: shape.count)
        var f = flat
        for d in stride(from: shape.count - 1, through: 0, by: -1) where shape[d] > 0 { r[d] = f % shape[d]; f /= shape[d] }
        return r
    }

    /// N×C×H×W (a 1-D input is N×C×L, treated as H = 1) convolution.
    static func conv(_ x: R64, _ w: R64, _ b: R64?, _ a: ConvAttributes, out: [Int]) -> R64 {
        let oneD = x.shape.count == 3
        let n = x.shape[0], c = x.shape[1], h = oneD ? 1 : x.shape[2], wd = x.shape.last ?? 1
        let m = w.shape[0], cg = w.shape[1]
        let kh = oneD ? 1 : a.kernel[0], kw = a.kernel.last ?? 1
        let sh = oneD ? 1 : a.strides[0], sw = a.strides.last ?? 1
        let dh = oneD ? 1 : a.dilations[0], dw = a.dilations.last ?? 1
        let pt = oneD ? 0 : a.pads[0], pl = oneD ? a.pads[0] : a.pads[1]
        let oh = oneD ? 1 : out[2], ow = out.last ?? 1
        let mg = m / a.group
        var y = [Double](repeating: 0, count: n * m * oh * ow)
        for i in 0..<n { for o in 0..<m { for oy in 0..<oh { for ox in 0..<ow {
            let g = o / mg
            var s = b?.v[o] ?? 0
            for ci in 0..<cg { for ky in 0..<kh { for kx in 0..<kw {
                let iy = oy * sh - pt + ky * dh, ix = ox * sw - pl + kx * dw
                guard iy >= 0, iy < h, ix >= 0, ix < wd else { continue }
                s += x.v[((i * c + g * cg + ci) * h + iy) * wd + ix] * w.v[((o * cg + ci) * kh + ky) * kw + kx]
            } } }
            y[((i * m + o) * oh + oy) * ow + ox] = a.activation.map { act($0.op, s) } ?? s
        } } } }
        return R64(out, y)
    }

    static func act(_ op: Op, _ x: Double) -> Double {
        switch op {
        case .relu: return max(0, x)
        case .leakyRelu(let alpha): return x >= 0 ? x : Double(alpha) * x
        case .clip(let lo, let hi): return min(max(x, Double(lo)), Double(hi))
        case .sigmoid: return 1 / (1 + exp(-x))
        case .hardSigmoid(let alpha, let beta): return min(1, max(0, Double(alpha) * x + Double(beta)))
        case .hardSwish: return x * min(1, max(0, x / 6 + 0.5))
        default: return x
        }
    }

    static func batchNormTraining(_ x: R64, _ scale: R64, _ bias: R64, eps: Float) -> R64 {
        let n = x.shape[0], c = x.shape[1], p = x.shape.dropFirst(2).reduce(1, *)
        var y = x.v
        for ch in 0..<c {
            var idx: [Int] = []
            for i in 0..<n { for q in 0..<p { idx.append((i * c + ch) * p + q) } }
            let mean = idx.reduce(0) { $0 + x.v[$1] } / Double(idx.count)
            let v = idx.reduce(0) { $0 + (x.v[$1] - mean) * (x.v[$1] - mean) } / Double(idx.count)
            for j in idx { y[j] = scale.v[ch] * (x.v[j] - mean) / (v + Double(eps)).squareRoot() + bias.v[ch] }
        }
        return R64(x.shape, y)
    }

    static func batchNormInference(_ x: R64, _ s: R64, _ b: R64, _ mean: R64, _ v: R64, eps: Float) -> R64 {
        let c = x.shape[1], p = x.shape.dropFirst(2).reduce(1, *)
        return R64(x.shape, x.v.indices.map { j in
            let ch = (j / p) % c
            return s.v[ch] * (x.v[j] - mean.v[ch]) / (v.v[ch] + Double(eps)).squareRoot() + b.v[ch]
        })
    }

    /// 2-D max or average pool (ONNX semantics: taps past the explicit padding never count).
    static func pool(_ x: R64, _ a: PoolAttributes, out: [Int], average: Bool) -> R64 {
        let n = x.shape[0] * x.shape[1], h = x.shape[2], w = x.shape[3], oh = out[2], ow = out[3]
        var y = [Double](repeating: 0, count: n * oh * ow)
        for p in 0..<n { for oy in 0..<oh { for ox in 0..<ow {
            var best = -Double.infinity, sum = 0.0, inside = 0, padded = 0
            for ky in 0..<a.kernel[0] { for kx in 0..<a.kernel[1] {
                let iy = oy * a.strides[0] - a.pads[0] + ky * a.dilations[0]
                let ix = ox * a.strides[1] - a.pads[1] + kx * a.dilations[1]
                guard iy < h + a.pads[2], ix < w + a.pads[3] else { continue }
                padded += 1
                guard iy >= 0, iy < h, ix >= 0, ix < w else { continue }
                inside += 1
                let v = x.v[(p * h + iy) * w + ix]
                best = max(best, v); sum += v
            } }
            y[(p * oh + oy) * ow + ox] = average ? sum / Double(a.countIncludePad ? padded : inside) : best
        } } }
        return R64(out, y)
    }

    static func globalAveragePool(_ x: R64) -> R64 {
        let n = x.shape[0] * x.shape[1], p = x.shape.dropFirst(2).reduce(1, *)
        return R64([x.shape[0], x.shape[1]] + Array(repeating: 1, count: x.shape.count - 2),
                   (0..<n).map { i in (0..<p).reduce(0) { $0 + x.v[i * p + $1] } / Double(p) })
    }

    static func gemm(_ a: R64, _ b: R64, _ c: R64?, _ g: GemmAttributes, out: [Int]) -> R64 {
        let m = out[0], n = out[1], k = g.transA ? a.shape[0] : a.shape[1]
        func A(_ i: Int, _ j: Int) -> Double { g.transA ? a.v[j * a.shape[1] + i] : a.v[i * a.shape[1] + j] }
        func B(_ i: Int, _ j: Int) -> Double { g.transB ? b.v[j * b.shape[1] + i] : b.v[i * b.shape[1] + j] }
        var y = [Double](repeating: 0, count: m * n)
        for i in 0..<m { for j in 0..<n {
            var s = 0.0
            for q in 0..<k { s += A(i, q) * B(q, j) }
            y[i * n + j] = Double(g.alpha) * s + (c.map { Double(g.beta) * broadcastValue($0, [i, j], out) } ?? 0)
        } }
        return R64(out, y)
    }

    /// The element of `t` that NumPy broadcasting maps to output index `index` of shape `out`.
    static func broadcastValue(_ t: R64, _ index: [Int], _ out: [Int]) -> Double {
        let pad = out.count - t.shape.count
        var flat = 0
        let s = strides(t.shape)
        for d in 0..<t.shape.count where t.shape[d] != 1 { flat += index[d + pad] * s[d] }
        return t.v[flat]
    }

    static func binary(_ op: Op, _ a: R64, _ b: R64, out: [Int]) -> R64 {
        R64(out, (0..<out.reduce(1, *)).map { i in
            let idx = multiIndex(i, out)
            let x = broadcastValue(a, idx, out), y = broadcastValue(b, idx, out)
            switch op {
            case .add: return x + y
            case .sub: return x - y
            case .mul: return x * y
            default: return x / y
            }
        })
    }

    /// NumPy matmul with 1-D promotion and batch broadcasting.
    static func matMul(_ a: R64, _ b: R64, out: [Int]) -> R64 {
        let a2 = a.shape.count == 1 ? R64([1] + a.shape, a.v) : a
        let b2 = b.shape.count == 1 ? R64(b.shape + [1], b.v) : b
        let m = a2.shape[a2.shape.count - 2], k = a2.shape.last ?? 1, n = b2.shape.last ?? 1
        let batch = Array(out.prefix(max(0, max(a2.shape.count, b2.shape.count) - 2)))
        let count = batch.reduce(1, *)
        var y: [Double] = []
        for bi in 0..<count {
            let idx = multiIndex(bi, batch)
            func offset(_ t: R64) -> Int {
                let bs = Array(t.shape.dropLast(2)), pad = batch.count - bs.count
                var f = 0
                let s = strides(bs)
                for d in 0..<bs.count where bs[d] != 1 { f += idx[d + pad] * s[d] }
                return f
            }
            let oa = offset(a2) * m * k, ob = offset(b2) * k * n
            for i in 0..<m { for j in 0..<n {
                var s = 0.0
                for q in 0..<k { s += a2.v[oa + i * k + q] * b2.v[ob + q * n + j] }
                y.append(s)
            } }
        }
        return R64(out, y)
    }

    static func concat(_ xs: [R64], axis: Int, out: [Int]) -> R64 {
        let outer = out.prefix(axis).reduce(1, *)
        var y: [Double] = []
        for o in 0..<outer {
            for x in xs {
                let chunk = x.shape.dropFirst(axis).reduce(1, *)
                y.append(contentsOf: x.v[(o * chunk)..<((o + 1) * chunk)])
            }
        }
        return R64(out, y)
    }

    static func logSoftmax(_ row: [Double]) -> [Double] {
        let m = row.max() ?? 0
        let l = m + log(row.reduce(0) { $0 + exp($1 - m) })
        return row.map { $0 - l }
    }

    static func crossEntropy(_ logits: R64, labels: [Int], smoothing: Double) -> Double {
        let n = logits.shape[0], c = logits.shape[1]
        var loss = 0.0
        for i in 0..<n {
            let lp = logSoftmax(Array(logits.v[(i * c)..<((i + 1) * c)]))
            for j in 0..<c { loss -= ((j == labels[i] ? 1 - smoothing : 0) + smoothing / Double(c)) * lp[j] }
        }
        return loss / Double(n)
    }

    static func distillation(_ s: R64, _ t: R64, temperature: Double) -> Double {
        let n = s.shape[0], c = s.shape[1]
        var loss = 0.0
        for i in 0..<n {
            let ls = logSoftmax(s.v[(i * c)..<((i + 1) * c)].map { $0 / temperature })
            let lt = logSoftmax(t.v[(i * c)..<((i + 1) * c)].map { $0 / temperature })
            for j in 0..<c { loss += exp(lt[j]) * (lt[j] - ls[j]) }
        }
        return temperature * temperature * loss / Double(n)
    }
}
