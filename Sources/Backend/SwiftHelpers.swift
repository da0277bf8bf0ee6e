// SwiftHelpers: the Swift versions of the shared kernels (same packed layouts as the C ones).

enum SwiftHelpers {
    static let order = ["gemm", "panel"]

    static func text(_ name: String) -> String {
        let MR = KernelBuilder.mr, NR = KernelBuilder.nr
        switch name {
        case "gemm":
            return """
            /// c = clamp(bias + a·b), a packed in \(MR)-row blocks (k-major), b row-major.
            private static func gemm(_ m: Int, _ n: Int, _ k: Int, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ ldb: Int,
                                     _ c: UnsafeMutablePointer<Float>, _ ldc: Int, _ bias: UnsafePointer<Float>, _ lo: Float, _ hi: Float) {
                for i in 0..<m {
                    let row = c + i * ldc
                    let ap = a + (i / \(MR)) * \(MR) * k + i % \(MR)
                    for j in 0..<n { row[j] = bias[i] }
                    for q in 0..<k {
                        let av = ap[q * \(MR)]
                        let bq = b + q * ldb
                        for j in 0..<n { row[j] += av * bq[j] }
                    }
                    for j in 0..<n {
                        var v = row[j]
                        v = v < lo ? lo : v
                        v = v > hi ? hi : v
                        row[j] = v
                    }
                }
            }

            """
        case "panel":
            return """
            /// c[r][j] = clamp(bias[j] + Σ a[r·ldam + q·ldak] · w[q][j]), w packed in \(NR)-column panels.
            private static func panel(_ m: Int, _ n: Int, _ k: Int, _ a: UnsafePointer<Float>, _ ldam: Int, _ ldak: Int,
                                      _ w: UnsafePointer<Float>, _ bias: UnsafePointer<Float>, _ c: UnsafeMutablePointer<Float>,
                                      _ lo: Float, _ hi: Float) {
                for r in 0..<m {
                    for j in 0..<n { c[r * n + j] = bias[j] }
                    for q in 0..<k {
                        let av = a[r * ldam + q * ldak]
                        for j in 0..<n { c[r * n + j] += av * w[(j / \(NR)) * \(NR) * k + q * \(NR) + j % \(NR)] }
                    }
                    for j in 0..<n {
                        var v = c[r * n + j]
                        v = v < lo ? lo : v
                        v = v > hi ? hi : v
                        c[r * n + j] = v
                    }
                }
            }

            """
        default: fatalError("unknown Swift helper \(name)")
        }
    }
}
