// DataMovement: Transpose, Concat, Split and Slice (Reshape and Flatten only rename the shape).
import IR

extension Kernels {
    /// Gathers `outputShape` elements where output index (i₀, i₁, …) reads input element
    /// Σ map[d][i_d]; the kernels below express themselves as such per-dimension index maps.
    static func gather(_ x: Tensor, outputShape: [Int], maps: [[Int]]) -> Tensor {
        Tensor.filled(shape: outputShape) { out in
            guard let yp = out.baseAddress, !out.isEmpty else { return }
            x.scalars.withUnsafeBufferPointer { xb in
                guard let xp = xb.baseAddress else { return }
                let rank = outputShape.count
                if rank == 0 { yp.pointee = xp.pointee; return }
                let inner = outputShape[rank - 1], innerMap = maps[rank - 1]
                let rows = out.count / inner
                var index = [Int](repeating: 0, count: rank - 1)
                let outerShape = Array(outputShape.dropLast())
                // A contiguous innermost run (a slice with step 1, a Transpose keeping the last
                // axis) is copied as a block rather than element by element.
                let contiguous = innerMap.indices.dropFirst().allSatisfy { innerMap[$0] == innerMap[$0 - 1] + 1 }
                for r in 0..<rows {
                    var base = 0
                    for d in 0..<(rank - 1) { base += maps[d][index[d]] }
                    let dst = yp + r * inner, src = xp + base
                    if contiguous {
                        dst.update(from: src + innerMap[0], count: inner)
                    } else {
                        for j in 0..<inner { dst[j] = src[innerMap[j]] }
                    }
                    increment(&index, within: outerShape)
                }
            }
        }
    }

    /// ONNX Transpose: output dimension d is input dimension perm[d].
    public static func transpose(_ x: Tensor, perm: [Int]) -> Tensor {
        let strides = rowMajorStrides(x.shape)
        let outputShape = perm.map { x.shape[$0] }
        let maps = perm.map { p in (0..<x.shape[p]).map { $0 * strides[p] } }
        return gather(x, outputShape: outputShape, maps: maps)
    }

    /// ONNX Slice with static, already validated starts/ends/axes/steps.
    public static func slice(_ x: Tensor, starts: [Int], ends: [Int], axes: [Int], steps: [Int], outputShape: [Int]) -> Tensor {
        let rank = x.shape.count
        let strides = rowMajorStrides(x.shape)
        var maps = (0..<rank).map { d in (0..<x.shape[d]).map { $0 * strides[d] } }
        for (i, axis) in axes.enumerated() {
            let d = resolvedAxis(axis, rank: rank)
            let n = x.shape[d], step = steps[i]
            var s = starts[i] < 0 ? starts[i] + n : starts[i]
            s = step > 0 ? min(max(s, 0), n) : min(max(s, 0), n - 1)
            maps[d] = (0..<outputShape[d]).map { (s + $0 * step) * strides[d] }
        }
        // The trailing axes the slice keeps whole are one contiguous run per row: gather them as
        // one axis (a conv weight sliced on its channel axes copies whole kernels).
        let sliced = Set(axes.map { resolvedAxis($0, rank: rank) })
        var whole = rank
        while whole > 1, !sliced.contains(whole - 1) { whole -= 1 }
        guard whole < rank else { return gather(x, outputShape: outputShape, maps: maps) }
        let run = x.shape[whole...].reduce(1, *)
        var y = gather(x, outputShape: Array(outputShape[..<whole]) + [run], maps: Array(maps[..<whole]) + [Array(0..<run)])
        y.shape = outputShape
        return y
    }

    /// ONNX Concat along `axis`.
    public static func concat(_ inputs: [Tensor], axis: Int, outputShape: [Int]) -> Tensor {
        let rank = outputShape.count
        let a = resolvedAxis(axis, rank: rank)
        let outer = outputShape.prefix(a).reduce(1, *)
        let inner = outputShape.dropFirst(a + 1).reduce(1, *)
        let rowLength = outputShape[a] * inner
        return Tensor.filled(shape: outputShape) { out in
            guard let yp = out.baseAddress else { return }
            var offset = 0
            for t in inputs {
                let chunk = t.shape[a] * inner
                t.scalars.withUnsafeBufferPointer { tb in
                    guard let tp = tb.baseAddress, chunk > 0 else { return }
                    for o in 0..<outer { (yp + o * rowLength + offset).update(from: tp + o * chunk, count: chunk) }
                }
                offset += chunk
            }
        }
    }

    /// ONNX Split along `axis` into pieces of `sizes`.
    public static func split(_ x: Tensor, axis: Int, sizes: [Int]) -> [Tensor] {
        let rank = x.shape.count
        let a = resolvedAxis(axis, rank: rank)
        let outer = x.shape.prefix(a).reduce(1, *)
        let inner = x.shape.dropFirst(a + 1).reduce(1, *)
        let rowLength = x.shape[a] * inner
        var offset = 0
        return x.scalars.withUnsafeBufferPointer { xb in
            sizes.map { size in
                var shape = x.shape
                shape[a] = size
                let chunk = size * inner, start = offset
                offset += chunk
                return Tensor.filled(shape: shape) { out in
                    guard let yp = out.baseAddress, let xp = xb.baseAddress, chunk > 0 else { return }
                    for o in 0..<outer { (yp + o * chunk).update(from: xp + o * rowLength + start, count: chunk) }
                }
            }
        }
    }
}
