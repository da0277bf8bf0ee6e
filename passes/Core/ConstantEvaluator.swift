// ConstantEvaluator: computes ops on constant tensors (for fold-constants and the folding passes).

import IR

/// Reference float32 evaluation of the ops that appear on constants in imported graphs. This is not
/// the runtime (which depends on the passes, to run the `lower` pipeline): it is a small,
/// obviously-correct evaluator for folding, and returns nil for ops it does not cover, which the
/// caller then leaves alone.
public enum ConstantEvaluator {
    /// The outputs of `op` on `inputs`, with `outputShapes` as inferred; nil when not covered.
    public static func evaluate(_ op: Op, _ inputs: [Tensor], outputShapes: [[Int]]) -> [Tensor]? {
        guard inputs.allSatisfy({ !$0.isElided }) else { return nil }
        if let activation = op.activation {
            return evaluate(op.withoutActivation, inputs, outputShapes: outputShapes)?.map { map($0, activation.apply) }
        }
        return evaluatePlain(op, inputs, outputShapes: outputShapes)
    }

    /// `evaluate` for an op without an epilogue.
    private static func evaluatePlain(_ op: Op, _ inputs: [Tensor], outputShapes: [[Int]]) -> [Tensor]? {
        guard let out = outputShapes.first else { return nil }
        switch op {
        case .identity, .dropout:
            return [inputs[0]]
        case .relu, .leakyRelu, .clip, .hardSwish:
            guard let f = FusedActivation(op) else { return nil }
            return [map(inputs[0], f.apply)]
        case .sigmoid:
            return [map(inputs[0]) { 1 / (1 + exp(-$0)) }]
        case .hardSigmoid(let alpha, let beta):
            return [map(inputs[0]) { Swift.min(Swift.max(alpha * $0 + beta, 0), 1) }]
        case .add: return [broadcast(inputs[0], inputs[1], to: out, +)]
        case .sub: return [broadcast(inputs[0], inputs[1], to: out, -)]
        case .mul: return [broadcast(inputs[0], inputs[1], to: out, *)]
        case .div: return [broadcast(inputs[0], inputs[1], to: out, /)]
        case .reshape, .flatten:
            return [Tensor(shape: out, scalars: inputs[0].scalars)]
        case .transpose(let perm):
            return [transpose(inputs[0], perm: perm)]
        case .concat(let axis):
            return [concat(inputs, axis: axis, out: out)]
        case .split(let axis, let sizes):
            return split(inputs[0], axis: axis, sizes: sizes, outs: outputShapes)
        case .slice(let starts, let ends, let axes, let steps):
            return [slice(inputs[0], starts: starts, ends: ends, axes: axes, steps: steps, out: out)]
        case .batchNormalization(let epsilon, _):
            return [batchNorm(inputs, epsilon: epsilon)]
        case .gemm(let a):
            return [gemm(inputs, a, out: out)]
        case .matMul where inputs[0].shape.count == 2 && inputs[1].shape.count == 2:
            return [gemm(Array(inputs.prefix(2)), GemmAttributes(), out: out)]
        default:
            return nil
        }
    }

    // MARK: Elementwise

    static func map(_ x: Tensor, _ f: (Float) -> Float) -> Tensor {
        Tensor(shape: x.shape, scalars: x.scalars.map(f))
    }

    /// Strides of `shape` right-aligned to rank `rank`, 0 where the dimension broadcasts.
    static func broadcastStrides(_ shape: [Int], rank: Int) -> [Int] {
        let own = rowMajorStrides(shape)
        let offset = rank - shape.count
        return (0..<rank).map { i in i < offset || shape[i - offset] == 1 ? 0 : own[i - offset] }
    }

    /// `f` applied with NumPy broadcasting; `out` is the broadcast shape.
    public static func broadcast(_ a: Tensor, _ b: Tensor, to out: [Int], _ f: (Float, Float) -> Float) -> Tensor {
        let sa = broadcastStrides(a.shape, rank: out.count), sb = broadcastStrides(b.shape, rank: out.count)
        var result = [Float](repeating: 0, count: out.elementCount)
        var index = [Int](repeating: 0, count: out.count)
        for k in 0..<result.count {
            var ia = 0, ib = 0
            for d in 0..<out.count {
                ia += index[d] * sa[d]
                ib += index[d] * sb[d]
            }
            result[k] = f(a.scalars[ia], b.scalars[ib])
            var d = out.count - 1
            while d >= 0 {
                index[d] += 1
                if index[d] < out[d] { break }
                index[d] = 0
                d -= 1
            }
        }
        return Tensor(shape: out, scalars: result)
    }

    // MARK: Data movement

    static func transpose(_ x: Tensor, perm: [Int]) -> Tensor {
        let inStrides = rowMajorStrides(x.shape)
        let outShape = perm.map { x.shape[$0] }
        let gathered = perm.map { inStrides[$0] }
        var result = [Float](repeating: 0, count: x.count)
        var index = [Int](repeating: 0, count: outShape.count)
        for k in 0..<result.count {
            var src = 0
            for d in 0..<outShape.count { src += index[d] * gathered[d] }
            result[k] = x.scalars[src]
            var d = outShape.count - 1
            while d >= 0 {
                index[d] += 1
                if index[d] < outShape[d] { break }
                index[d] = 0
                d -= 1
            }
        }
        return Tensor(shape: outShape, scalars: result)
    }

    static func concat(_ inputs: [Tensor], axis: Int, out: [Int]) -> Tensor {
        let a = resolvedAxis(axis, rank: out.count)
        let outer = Array(out.prefix(a)).elementCount
        var result: [Float] = []
        result.reserveCapacity(out.elementCount)
        for o in 0..<outer {
            for t in inputs {
                let block = Array(t.shape[a...]).elementCount
                result.append(contentsOf: t.scalars[(o * block)..<((o + 1) * block)])
            }
        }
        return Tensor(shape: out, scalars: result)
    }

    static func split(_ x: Tensor, axis: Int, sizes: [Int], outs: [[Int]]) -> [Tensor] {
        let a = resolvedAxis(axis, rank: x.shape.count)
        let outer = Array(x.shape.prefix(a)).elementCount
        let inner = Array(x.shape[(a + 1)...]).elementCount
        var start = 0
        var result: [Tensor] = []
        for (size, shape) in zip(sizes, outs) {
            var scalars: [Float] = []
            for o in 0..<outer {
                let base = (o * x.shape[a] + start) * inner
                scalars.append(contentsOf: x.scalars[base..<(base + size * inner)])
            }
            result.append(Tensor(shape: shape, scalars: scalars))
            start += size
        }
        return result
    }

    static func slice(_ x: Tensor, starts: [Int], ends: [Int], axes: [Int], steps: [Int], out: [Int]) -> Tensor {
        let rank = x.shape.count
        var first = [Int](repeating: 0, count: rank)
        var step = [Int](repeating: 1, count: rank)
        for (i, axis) in axes.enumerated() {
            let a = resolvedAxis(axis, rank: rank)
            let n = x.shape[a]
            var s = starts[i] < 0 ? starts[i] + n : starts[i]
            // ONNX clamping: [0, n] for positive steps, [0, n-1] for negative ones.
            s = steps[i] > 0 ? Swift.min(Swift.max(s, 0), n) : Swift.min(Swift.max(s, 0), n - 1)
            first[a] = s
            step[a] = steps[i]
        }
        let inStrides = rowMajorStrides(x.shape)
        var result = [Float](repeating: 0, count: out.elementCount)
        var index = [Int](repeating: 0, count: rank)
        for k in 0..<result.count {
            var src = 0
            for d in 0..<rank { src += (first[d] + index[d] * step[d]) * inStrides[d] }
            result[k] = x.scalars[src]
            var d = rank - 1
            while d >= 0 {
                index[d] += 1
                if index[d] < out[d] { break }
                index[d] = 0
                d -= 1
            }
        }
        return Tensor(shape: out, scalars: result)
    }

    // MARK: Arithmetic

    static func batchNorm(_ inputs: [Tensor], epsilon: Float) -> Tensor {
        let x = inputs[0]
        let c = x.shape[1]
        let inner = Array(x.shape.dropFirst(2)).elementCount
        let bn = BatchNormCoefficients(scale: inputs[1], bias: inputs[2], mean: inputs[3], variance: inputs[4], epsilon: epsilon)
        var result = x.scalars
        for k in 0..<result.count {
            let ch = (k / inner) % c
            result[k] = result[k] * bn.multiplier[ch] + bn.offset[ch]
        }
        return Tensor(shape: x.shape, scalars: result)
    }

    static func gemm(_ inputs: [Tensor], _ a: GemmAttributes, out: [Int]) -> Tensor {
        let (m, n) = (out[0], out[1])
        let x = inputs[0], w = inputs[1]
        let k = a.transA ? x.shape[0] : x.shape[1]
        var result = [Float](repeating: 0, count: m * n)
        for i in 0..<m {
            for j in 0..<n {
                var acc: Float = 0
                for p in 0..<k {
                    let xv = a.transA ? x.scalars[p * m + i] : x.scalars[i * k + p]
                    let wv = a.transB ? w.scalars[j * k + p] : w.scalars[p * n + j]
                    acc += xv * wv
                }
                result[i * n + j] = a.alpha * acc
            }
        }
        var y = Tensor(shape: out, scalars: result)
        if inputs.count == 3 {
            y = broadcast(y, inputs[2], to: out) { $0 + a.beta * $1 }
        }
        return y
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
