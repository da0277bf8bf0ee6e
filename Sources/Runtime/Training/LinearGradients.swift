// LinearGradients: Gemm (transA, transB, alpha, beta, broadcast C) and batched MatMul gradients.
import IR

enum LinearGradients {
    /// Y = alpha·op(A)·op(B) + beta·C.
    static func gemm(_ a: Tensor, _ b: Tensor, _ c: Tensor?, _ attr: GemmAttributes, dy: Tensor,
                     needs: [Bool]) -> (da: Tensor?, db: Tensor?, dc: Tensor?) {
        let m = dy.shape[0], n = dy.shape[1]
        let k = attr.transA ? a.shape[0] : a.shape[1]
        var da: Tensor? = nil, db: Tensor? = nil, dc: Tensor? = nil
        a.scalars.withUnsafeBufferPointer { ap in
        b.scalars.withUnsafeBufferPointer { bp in
        dy.scalars.withUnsafeBufferPointer { dp in
            guard let A = ap.baseAddress, let B = bp.baseAddress, let D = dp.baseAddress, k > 0 else { return }
            let lda = a.shape[1], ldb = b.shape[1]
            if needs[0] {
                da = Tensor.zeros(shape: a.shape) { out in
                    guard let o = out.baseAddress else { return }
                    if !attr.transA {  // dA[M,K] = alpha · dY · op(B)ᵀ
                        sgemm(transA: false, transB: !attr.transB, m: m, n: k, k: n, alpha: attr.alpha, a: D, lda: n,
                              b: B, ldb: ldb, c: o, ldc: k)
                    } else {           // dA[K,M] = alpha · op(B) · dYᵀ
                        sgemm(transA: attr.transB, transB: true, m: k, n: m, k: n, alpha: attr.alpha, a: B, lda: ldb,
                              b: D, ldb: n, c: o, ldc: m)
                    }
                }
            }
            if needs[1] {
                db = Tensor.zeros(shape: b.shape) { out in
                    guard let o = out.baseAddress else { return }
                    if !attr.transB {  // dB[K,N] = alpha · op(A)ᵀ · dY
                        sgemm(transA: !attr.transA, transB: false, m: k, n: n, k: m, alpha: attr.alpha, a: A, lda: lda,
                              b: D, ldb: n, c: o, ldc: n)
                    } else {           // dB[N,K] = alpha · dYᵀ · op(A)
                        sgemm(transA: true, transB: attr.transA, m: n, n: k, k: m, alpha: attr.alpha, a: D, lda: n,
                              b: A, ldb: lda, c: o, ldc: k)
                    }
                }
            }
        } } }
        if let c, needs.count > 2, needs[2] {
            dc = sumToShape(dy, c.shape, scale: attr.beta)
        }
        return (da, db, dc)
    }

    /// `scale` · `g` summed over the dimensions that broadcasting added or stretched to reach g's shape.
    static func sumToShape(_ g: Tensor, _ shape: [Int], scale: Float = 1) -> Tensor {
        let rank = g.shape.count
        let p = Array(repeating: 1, count: rank - shape.count) + shape
        let s = rowMajorStrides(p).enumerated().map { p[$0.offset] == 1 ? 0 : $0.element }
        var out = [Float](repeating: 0, count: shape.elementCount)
        var index = [Int](repeating: 0, count: rank)
        for i in 0..<g.count {
            var o = 0
            for d in 0..<rank { o += index[d] * s[d] }
            out[o] += scale * g.scalars[i]
            increment(&index, within: g.shape)
        }
        return Tensor(shape: shape, scalars: out)
    }

    /// NumPy matmul's gradients: 1-D operands promoted as in the forward, broadcast batch
    /// dimensions accumulated back onto the operand that was repeated.
    static func matMul(_ a: Tensor, _ b: Tensor, dy: Tensor, needs: [Bool]) -> (da: Tensor?, db: Tensor?) {
        let geometry = MatMulGeometry(a: a.shape, b: b.shape)
        let m = geometry.m, k = geometry.k, n = geometry.n
        var da = [Float](repeating: 0, count: needs[0] ? a.count : 0)
        var db = [Float](repeating: 0, count: needs[1] ? b.count : 0)
        a.scalars.withUnsafeBufferPointer { ab in
        b.scalars.withUnsafeBufferPointer { bb in
        dy.scalars.withUnsafeBufferPointer { yb in
        da.withUnsafeMutableBufferPointer { dab in
        db.withUnsafeMutableBufferPointer { dbb in
            guard let ap = ab.baseAddress, let bp = bb.baseAddress, let yp = yb.baseAddress, k > 0 else { return }
            geometry.forEachMatrix { i, aOffset, bOffset in
                let g = yp + i * m * n
                if let dap = dab.baseAddress {  // dA += dY · Bᵀ
                    sgemm(transB: true, m: m, n: k, k: n, a: g, lda: n, b: bp + bOffset, ldb: n, beta: 1,
                          c: dap + aOffset, ldc: k)
                }
                if let dbp = dbb.baseAddress {  // dB += Aᵀ · dY
                    sgemm(transA: true, m: k, n: n, k: m, a: ap + aOffset, lda: k, b: g, ldb: n, beta: 1,
                          c: dbp + bOffset, ldc: n)
                }
            }
        } } } } }
        return (needs[0] ? Tensor(shape: a.shape, scalars: da) : nil, needs[1] ? Tensor(shape: b.shape, scalars: db) : nil)
    }
}
