// SliceGradients: the gradient of Slice: the output's gradient added back at the rows/columns it was read from.
import IR

enum SliceGradients {
    /// dx for `y = slice(x)`: zeros of x's shape with dy scattered to the positions the slice read
    /// (so the gradient of a weight slice of a shared constant lands in the constant's own block).
    static func backward(dy: Tensor, inputShape: [Int], starts: [Int], ends: [Int], axes: [Int], steps: [Int]) -> Tensor {
        let rank = inputShape.count
        var strides = [Int](repeating: 1, count: rank)
        for d in stride(from: rank - 2, through: 0, by: -1) { strides[d] = strides[d + 1] * inputShape[d + 1] }
        var maps = (0..<rank).map { d in (0..<inputShape[d]).map { $0 * strides[d] } }
        for (i, axis) in axes.enumerated() {
            let d = axis < 0 ? axis + rank : axis
            let n = inputShape[d], step = steps[i]
            var s = starts[i] < 0 ? starts[i] + n : starts[i]
            s = step > 0 ? min(max(s, 0), n) : min(max(s, 0), n - 1)
            maps[d] = (0..<dy.shape[d]).map { (s + $0 * step) * strides[d] }
        }
        var dx = [Float](repeating: 0, count: inputShape.reduce(1, *))
        let outShape = dy.shape
        guard rank > 0, dy.count > 0 else { return Tensor(shape: inputShape, scalars: dx) }
        let inner = outShape[rank - 1], innerMap = maps[rank - 1]
        var index = [Int](repeating: 0, count: rank - 1)
        dx.withUnsafeMutableBufferPointer { xp in
            dy.scalars.withUnsafeBufferPointer { yp in
                var src = 0
                while true {
                    var base = 0
                    for d in 0..<(rank - 1) { base += maps[d][index[d]] }
                    for j in 0..<inner { xp[base + innerMap[j]] += yp[src + j] }
                    src += inner
                    var d = rank - 2
                    while d >= 0 {
                        index[d] += 1
                        if index[d] < outShape[d] { break }
                        index[d] = 0
                        d -= 1
                    }
                    if d < 0 { break }
                }
            }
        }
        return Tensor(shape: inputShape, scalars: dx)
    }
}
