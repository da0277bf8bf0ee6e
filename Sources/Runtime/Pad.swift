// Pad: ONNX Pad in constant, reflect, edge and wrap modes (negative pads crop).
import IR

extension Kernels {
    /// ONNX Pad. `pads` holds all begins then all ends; a negative pad removes elements.
    /// Reflect and wrap repeat as NumPy's `np.pad` does when a pad is wider than the dimension.
    public static func pad(_ x: Tensor, pads: [Int], mode: PadMode, value: Float, outputShape: [Int]) -> Tensor {
        let rank = x.shape.count
        let strides = rowMajorStrides(x.shape)
        // Per dimension: the input index each output index reads, or nil in constant padding.
        var sources: [[Int?]] = []
        var constant = false
        for d in 0..<rank {
            let n = x.shape[d]
            sources.append((0..<outputShape[d]).map { o in
                let i = o - pads[d]
                if i >= 0 && i < n { return i }
                // An empty dimension has nothing to repeat: it pads with the value whatever the mode.
                if n == 0 { return nil }
                switch mode {
                case .constant: return nil
                case .edge: return i < 0 ? 0 : n - 1
                case .wrap: return ((i % n) + n) % n
                case .reflect:
                    guard n > 1 else { return 0 }
                    let period = 2 * (n - 1)
                    let r = ((i % period) + period) % period
                    return r < n ? r : period - r
                }
            })
            if sources[d].contains(where: { $0 == nil }) { constant = true }
        }
        if !constant {
            let maps = (0..<rank).map { d in sources[d].map { ($0 ?? 0) * strides[d] } }
            return gather(x, outputShape: outputShape, maps: maps)
        }
        // Constant padding present: walk the output, reading the input where a source exists.
        var index = [Int](repeating: 0, count: rank)
        var scalars = [Float](repeating: value, count: outputShape.reduce(1, *))
        for o in 0..<scalars.count {
            var offset = 0
            var inside = true
            for d in 0..<rank {
                guard let i = sources[d][index[d]] else { inside = false; break }
                offset += i * strides[d]
            }
            if inside { scalars[o] = x.scalars[offset] }
            increment(&index, within: outputShape)
        }
        return Tensor(shape: outputShape, scalars: scalars)
    }
}
