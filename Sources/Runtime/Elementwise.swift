// Elementwise: activations (standalone and as epilogues) and the broadcasting arithmetic ops (Add, Sub, Mul, Div).
import Foundation
import IR

extension Optional where Wrapped == FusedActivation {
    /// Applies the epilogue in place (nothing when there is none): the kernels' one entry point
    /// for fused activations.
    @inline(__always)
    func apply(_ buffer: UnsafeMutableBufferPointer<Float>) {
        if let activation = self { Kernels.apply(activation.op, buffer) }
    }
}

extension Kernels {
    /// Applies the elementwise op `op` (an activation, Identity or Dropout) in place. Written so
    /// that NaN stays NaN, as in NumPy and onnxruntime (a comparison with NaN is false, so each
    /// branch falls through to `x`).
    static func apply(_ op: Op, _ buffer: UnsafeMutableBufferPointer<Float>) {
        guard var p = buffer.baseAddress else { return }
        let end = p + buffer.count
        switch op {
        case .relu:
            while p < end { let x = p.pointee; p.pointee = x < 0 ? 0 : x; p += 1 }
        case .leakyRelu(let alpha):
            while p < end { let x = p.pointee; p.pointee = x < 0 ? alpha * x : x; p += 1 }
        case .clip(let lo, let hi):
            // ONNX: with min > max every element becomes max (numpy.clip's rule).
            while p < end { let x = p.pointee; p.pointee = x > hi ? hi : (x < lo ? (lo > hi ? hi : lo) : x); p += 1 }
        case .sigmoid:
            while p < end { p.pointee = sigmoid(p.pointee); p += 1 }
        case .hardSigmoid(let alpha, let beta):
            while p < end { p.pointee = hardSigmoid(p.pointee, alpha: alpha, beta: beta); p += 1 }
        case .hardSwish:
            while p < end { let x = p.pointee; p.pointee = x * hardSigmoid(x, alpha: 1 / 6, beta: 0.5); p += 1 }
        default:
            return
        }
    }

    /// The logistic function, computed so that it neither overflows nor loses precision for large |x|.
    @inline(__always)
    static func sigmoid(_ x: Float) -> Float {
        if x >= 0 { return 1 / (1 + expf(-x)) }
        let e = expf(x)
        return e / (1 + e)
    }

    /// max(0, min(1, alpha·x + beta)), keeping NaN.
    @inline(__always)
    static func hardSigmoid(_ x: Float, alpha: Float, beta: Float) -> Float {
        let y = alpha * x + beta
        return y < 0 ? 0 : (y > 1 ? 1 : y)
    }
}

/// The broadcasting binary arithmetic ops.
public enum BinaryOperator: Hashable, Sendable {
    case add, sub, mul, div

    public init?(_ op: Op) {
        switch op {
        case .add: self = .add
        case .sub: self = .sub
        case .mul: self = .mul
        case .div: self = .div
        default: return nil
        }
    }
}

extension Kernels {
    /// Applies a fused activation to every element of `x` (none: `x` itself).
    public static func activation(_ x: Tensor, _ activation: FusedActivation?) -> Tensor {
        guard let activation else { return x }
        return unary(activation.op, x)
    }

    /// Runs an elementwise op (an activation, Identity or Dropout) on every element of `x`.
    public static func unary(_ op: Op, _ x: Tensor) -> Tensor {
        switch op {
        case .identity, .dropout: return x  // They share the input's storage.
        default:
            // Copied and computed a chunk at a time, the chunks split between the threads.
            return Tensor.filled(shape: x.shape) { out in
                x.scalars.withUnsafeBufferPointer { xp in
                    guard let src = xp.baseAddress, let dst = out.baseAddress else { return }
                    Parallel.forEachChunk(out.count) { r in
                        (dst + r.lowerBound).update(from: src + r.lowerBound, count: r.count)
                        apply(op, UnsafeMutableBufferPointer(rebasing: out[r]))
                    }
                }
            }
        }
    }

    /// `a op b` with ONNX (NumPy) multidirectional broadcasting; `shape` is the broadcast shape.
    public static func binary(_ op: BinaryOperator, _ a: Tensor, _ b: Tensor, shape: [Int]) -> Tensor {
        switch op {
        case .add: return broadcast(a, b, shape: shape, AddFunction.self)
        case .sub: return broadcast(a, b, shape: shape, SubFunction.self)
        case .mul: return broadcast(a, b, shape: shape, MulFunction.self)
        case .div: return broadcast(a, b, shape: shape, DivFunction.self)
        }
    }

    /// `x` repeated to `shape` by NumPy broadcasting (Gemm's bias uses it).
    static func broadcast(_ x: Tensor, to shape: [Int]) -> Tensor {
        if x.shape == shape { return x }
        return broadcast(x, Tensor(scalar: 0), shape: shape, AddFunction.self)
    }

    /// The generic broadcast loop, specialized per operator. Dimensions are merged where both
    /// operands are contiguous across them, so the common cases (same shape, a scalar, a
    /// per-channel [C,1,1] operand) run as one or two flat loops.
    private static func broadcast<F: BinaryFunction>(_ a: Tensor, _ b: Tensor, shape: [Int], _: F.Type) -> Tensor {
        let plan = BroadcastPlan(shape: shape, a: a.shape, b: b.shape)
        return Tensor.filled(shape: shape) { out in
            a.scalars.withUnsafeBufferPointer { pa in
                b.scalars.withUnsafeBufferPointer { pb in
                    guard let o = out.baseAddress, let ab = pa.baseAddress, let bb = pb.baseAddress, !out.isEmpty else { return }
                    plan.forEachRow { outOffset, aOffset, bOffset in
                        let n = plan.inner
                        let x = ab + aOffset, y = bb + bOffset, z = o + outOffset
                        switch (plan.innerStrideA, plan.innerStrideB) {
                        case (1, 1): for i in 0..<n { z[i] = F.apply(x[i], y[i]) }
                        case (1, 0): let s = y.pointee; for i in 0..<n { z[i] = F.apply(x[i], s) }
                        case (0, 1): let s = x.pointee; for i in 0..<n { z[i] = F.apply(s, y[i]) }
                        default: let s = F.apply(x.pointee, y.pointee); for i in 0..<n { z[i] = s }
                        }
                    }
                }
            }
        }
    }
}

/// How a broadcast walks its operands: the output as rows of `inner` contiguous elements, each
/// operand advancing by 0 or 1 along a row, and outer dimensions with per-operand strides.
struct BroadcastPlan {
    /// Outer dimensions (outermost first), after merging, and each operand's stride along them.
    var outer: [Int] = []
    var outerStrideA: [Int] = []
    var outerStrideB: [Int] = []
    var inner = 1
    var innerStrideA = 0
    var innerStrideB = 0

    init(shape: [Int], a: [Int], b: [Int]) {
        let rank = shape.count
        let pa = Array(repeating: 1, count: rank - a.count) + a
        let pb = Array(repeating: 1, count: rank - b.count) + b
        let sa = rowMajorStrides(pa), sb = rowMajorStrides(pb)
        // Dimensions of size 1 are dropped; an operand dimension of size 1 under a larger output
        // dimension gets stride 0.
        var dims: [(n: Int, a: Int, b: Int)] = []
        for i in 0..<rank where shape[i] != 1 {
            let d = (n: shape[i], a: pa[i] == 1 ? 0 : sa[i], b: pb[i] == 1 ? 0 : sb[i])
            if let last = dims.last, last.a == d.a * d.n, last.b == d.b * d.n {
                dims[dims.count - 1] = (n: last.n * d.n, a: d.a, b: d.b)
            } else {
                dims.append(d)
            }
        }
        if let last = dims.popLast() {
            inner = last.n
            innerStrideA = last.a
            innerStrideB = last.b
        }
        outer = dims.map(\.n)
        outerStrideA = dims.map(\.a)
        outerStrideB = dims.map(\.b)
    }

    /// Calls `body(outOffset, aOffset, bOffset)` for each row, in row-major order.
    @inline(__always)
    func forEachRow(_ body: (Int, Int, Int) -> Void) {
        let rows = outer.reduce(1, *)
        if outer.isEmpty { body(0, 0, 0); return }
        var index = [Int](repeating: 0, count: outer.count)
        var oa = 0, ob = 0
        for r in 0..<rows {
            body(r * inner, oa, ob)
            // Odometer increment of the outer index, keeping operand offsets in step.
            var d = outer.count - 1
            while d >= 0 {
                index[d] += 1
                oa += outerStrideA[d]
                ob += outerStrideB[d]
                if index[d] < outer[d] { break }
                oa -= outerStrideA[d] * outer[d]
                ob -= outerStrideB[d] * outer[d]
                index[d] = 0
                d -= 1
            }
        }
    }
}

/// A binary arithmetic function, as a type so that the broadcast loop is specialized per operator.
protocol BinaryFunction {
    static func apply(_ x: Float, _ y: Float) -> Float
}

enum AddFunction: BinaryFunction { @inline(__always) static func apply(_ x: Float, _ y: Float) -> Float { x + y } }
enum SubFunction: BinaryFunction { @inline(__always) static func apply(_ x: Float, _ y: Float) -> Float { x - y } }
enum MulFunction: BinaryFunction { @inline(__always) static func apply(_ x: Float, _ y: Float) -> Float { x * y } }
enum DivFunction: BinaryFunction { @inline(__always) static func apply(_ x: Float, _ y: Float) -> Float { x / y } }
