// Axes: the two index rules every layer shares: negative axes count from the end, and row-major strides.

/// `axis` (or an index along a dimension of size `rank`) with a negative value counted from the end
/// (`axis + rank`). For axes that shape inference has already checked (`ShapeInference.normalizeAxis`
/// throws on out-of-range ones); index rules that clamp do so after this.
@inline(__always)
public func resolvedAxis(_ axis: Int, rank: Int) -> Int {
    axis < 0 ? axis + rank : axis
}

/// Row-major strides of a shape: the distance in elements between neighbours along each dimension.
public func rowMajorStrides(_ shape: [Int]) -> [Int] {
    var strides = [Int](repeating: 1, count: shape.count)
    var s = 1
    for i in stride(from: shape.count - 1, through: 0, by: -1) {
        strides[i] = s
        s *= shape[i]
    }
    return strides
}
