// MatMulGeometry: NumPy matmul's operand promotion and batch broadcasting, shared by forward and backward.
import IR

/// The shape arithmetic of a (batched, broadcasting) NumPy matmul of `a` by `b`: 1-D operands are
/// promoted (a row for A, a column for B), leading dimensions broadcast, and each output matrix `i`
/// reads the A and B matrices that `forEachMatrix` names.
struct MatMulGeometry {
    let m: Int, k: Int, n: Int
    /// Leading (batch) dimensions of each operand, left-padded with 1 to a common rank.
    private let batchA: [Int], batchB: [Int]
    private let stridesA: [Int], stridesB: [Int]
    /// The broadcast batch shape and its element count.
    let batch: [Int]
    let count: Int

    init(a aShape: [Int], b bShape: [Int]) {
        let a2 = aShape.count == 1 ? [1] + aShape : aShape
        let b2 = bShape.count == 1 ? bShape + [1] : bShape
        m = a2[a2.count - 2]
        k = a2[a2.count - 1]
        n = b2[b2.count - 1]
        let leadA = Array(a2.dropLast(2)), leadB = Array(b2.dropLast(2))
        let rank = max(leadA.count, leadB.count)
        batchA = Array(repeating: 1, count: rank - leadA.count) + leadA
        batchB = Array(repeating: 1, count: rank - leadB.count) + leadB
        batch = zip(batchA, batchB).map { max($0, $1) }
        count = batch.reduce(1, *)
        stridesA = rowMajorStrides(batchA)
        stridesB = rowMajorStrides(batchB)
    }

    /// Calls `body(i, aOffset, bOffset)` for each output matrix `i` in order, with the element
    /// offsets of the A (m×k) and B (k×n) matrices it is computed from (a broadcast operand repeats).
    func forEachMatrix(_ body: (Int, Int, Int) -> Void) {
        var index = [Int](repeating: 0, count: batch.count)
        for i in 0..<count {
            var oa = 0, ob = 0
            for d in 0..<batch.count {
                if batchA[d] != 1 { oa += index[d] * stridesA[d] }
                if batchB[d] != 1 { ob += index[d] * stridesB[d] }
            }
            body(i, oa * m * k, ob * k * n)
            increment(&index, within: batch)
        }
    }
}
