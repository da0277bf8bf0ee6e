// Gemm: ONNX Gemm and MatMul on cblas_sgemm.
import COpenBLAS
import IR

/// C = A·B for row-major matrices (alpha 1, beta 0 unless given), the one call into BLAS.
func sgemm(transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int, alpha: Float = 1,
           a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
           beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int) {
    guard m > 0, n > 0 else { return }
    BLASKernels.prepare()
    if k == 0 {
        // BLAS leaves C·beta alone when K = 0; the product over nothing is 0.
        for i in 0..<m { for j in 0..<n { c[i * ldc + j] = beta == 0 ? 0 : beta * c[i * ldc + j] } }
        return
    }
    cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
}

extension Kernels {
    /// ONNX Gemm: alpha·op(A)·op(B) + beta·C, with C unidirectionally broadcast to [M, N].
    public static func gemm(_ a: Tensor, _ b: Tensor, _ c: Tensor?, attributes: GemmAttributes,
                            outputShape: [Int], activation: FusedActivation? = nil) -> Tensor {
        let m = outputShape[0], n = outputShape[1]
        let k = attributes.transA ? a.shape[0] : a.shape[1]
        var y = Tensor(shape: outputShape, repeating: 0)
        var beta: Float = 0
        if let c, attributes.beta != 0 {
            y = broadcast(c, to: outputShape)
            beta = attributes.beta
        }
        y.scalars.withUnsafeMutableBufferPointer { out in
            a.scalars.withUnsafeBufferPointer { ab in
                b.scalars.withUnsafeBufferPointer { bb in
                    guard let yp = out.baseAddress else { return }
                    guard let ap = ab.baseAddress, let bp = bb.baseAddress, k > 0 else {
                        // K = 0: the product is empty, only beta·C remains.
                        for i in out.indices { out[i] *= beta }
                        return
                    }
                    sgemm(transA: attributes.transA, transB: attributes.transB, m: m, n: n, k: k, alpha: attributes.alpha,
                          a: ap, lda: a.shape[1], b: bp, ldb: b.shape[1], beta: beta, c: yp, ldc: n)
                }
            }
            activation.apply(out)
        }
        return y
    }

    /// NumPy matmul: 1-D operands are promoted (a row for A, a column for B) and the promoted
    /// dimension removed again; leading dimensions broadcast.
    public static func matMul(_ a: Tensor, _ b: Tensor, outputShape: [Int]) -> Tensor {
        let geometry = MatMulGeometry(a: a.shape, b: b.shape)
        let m = geometry.m, k = geometry.k, n = geometry.n
        return Tensor.filled(shape: outputShape) { out in
            guard let yp = out.baseAddress else { return }
            a.scalars.withUnsafeBufferPointer { ab in
                b.scalars.withUnsafeBufferPointer { bb in
                    guard let ap = ab.baseAddress, let bp = bb.baseAddress else {
                        out.update(repeating: 0)
                        return
                    }
                    geometry.forEachMatrix { i, aOffset, bOffset in
                        sgemm(m: m, n: n, k: k, a: ap + aOffset, lda: k, b: bp + bOffset, ldb: n,
                              c: yp + i * m * n, ldc: n)
                    }
                }
            }
        }
    }
}
