// Reduce: GlobalAveragePool and ReduceMean.
import IR

extension Kernels {
    /// ONNX GlobalAveragePool: the mean of each N×C plane.
    public static func globalAveragePool(_ x: Tensor, outputShape: [Int]) -> Tensor {
        globalAveragePool(x, outputShape: outputShape, layout: .nchw)
    }

    /// GlobalAveragePool of data stored in `layout`; the result is always NCHW (N×C×1×1).
    static func globalAveragePool(_ x: Tensor, outputShape: [Int], layout: DataLayout) -> Tensor {
        let n = x.shape[0], c = x.shape.count > 1 ? x.shape[1] : 1
        let size = x.shape.dropFirst(2).reduce(1, *)
        return Tensor.filled(shape: outputShape) { out in
            x.scalars.withUnsafeBufferPointer { xb in
                guard let base = xb.baseAddress, size > 0 else {
                    for i in out.indices { out[i] = .nan }
                    return
                }
                // Planes in memory order, four at a time: four independent sums (each in the
                // order `mean` adds) instead of one chain of dependent additions.
                let planes = n * c
                func store(_ plane: Int, _ sum: Double) {
                    let (i, ch) = layout == .cnhw ? (plane % n, plane / n) : (plane / c, plane % c)
                    out[i * c + ch] = Float(sum / Double(size))
                }
                var plane = 0
                while plane + 4 <= planes {
                    let p = base + plane * size
                    var s0: Double = 0, s1: Double = 0, s2: Double = 0, s3: Double = 0
                    for e in 0..<size {
                        s0 += Double(p[e]); s1 += Double(p[size + e])
                        s2 += Double(p[2 * size + e]); s3 += Double(p[3 * size + e])
                    }
                    store(plane, s0); store(plane + 1, s1); store(plane + 2, s2); store(plane + 3, s3)
                    plane += 4
                }
                while plane < planes {
                    let p = base + plane * size
                    var sum: Double = 0
                    for e in 0..<size { sum += Double(p[e]) }
                    store(plane, sum)
                    plane += 1
                }
            }
        }
    }

    /// ONNX ReduceMean over `axes` (all axes when empty), keeping reduced axes as 1 when `keepDims`.
    public static func reduceMean(_ x: Tensor, axes: [Int], keepDims: Bool, outputShape: [Int]) -> Tensor {
        let rank = x.shape.count
        let reduced = Set(axes.isEmpty ? Array(0..<rank) : axes.map { resolvedAxis($0, rank: rank) })
        let inner = reduced.isEmpty ? 0 : rank - (reduced.min() ?? rank)
        // A reduction over a suffix of the axes (ReduceMean over H, W) is one mean per row.
        if reduced == Set((rank - inner)..<rank) {
            let size = x.shape.suffix(inner).reduce(1, *)
            let rows = x.shape.prefix(rank - inner).reduce(1, *)
            return Tensor.filled(shape: outputShape) { out in
                x.scalars.withUnsafeBufferPointer { xb in
                    for r in 0..<rows { out[r] = mean(xb, from: r * size, count: size) }
                }
            }
        }
        // General case: accumulate each input element into its output cell.
        var keptStrides = [Int](repeating: 0, count: rank)
        var s = 1
        for d in stride(from: rank - 1, through: 0, by: -1) where !reduced.contains(d) {
            keptStrides[d] = s
            s *= x.shape[d]
        }
        let count = x.shape.enumerated().filter { reduced.contains($0.offset) }.map(\.element).reduce(1, *)
        var sums = [Double](repeating: 0, count: outputShape.reduce(1, *))
        var index = [Int](repeating: 0, count: rank)
        for v in x.scalars {
            var o = 0
            for d in 0..<rank { o += index[d] * keptStrides[d] }
            sums[o] += Double(v)
            increment(&index, within: x.shape)
        }
        return Tensor(shape: outputShape, scalars: sums.map { count > 0 ? Float($0 / Double(count)) : .nan })
    }

    /// The mean of `count` elements from `start`, accumulated in double precision (NaN when empty,
    /// as NumPy).
    private static func mean(_ x: UnsafeBufferPointer<Float>, from start: Int, count: Int) -> Float {
        guard count > 0 else { return .nan }
        var sum: Double = 0
        for i in start..<(start + count) { sum += Double(x[i]) }
        return Float(sum / Double(count))
    }
}
