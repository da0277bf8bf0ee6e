// CHelpers: the shared C kernels the per-layer code calls: the GEMM micro-kernel and driver, and
// the panel kernel for fully connected layers. Emitted once per file, only when used.

enum CHelpers {
    /// C text of helper `name` for symbol prefix `p`.
    static func text(_ name: String, prefix p: String) -> String {
        switch name {
        case "gemm": return gemm(p)
        case "panel": return panel(p)
        default: fatalError("unknown C helper \(name)")
        }
    }

    static let order = ["gemm", "panel"]

    /// The MR×NR micro-kernel; the `edge` variant stores only the top-left mr×nr corner.
    private static func tile(_ p: String, edge: Bool) -> String {
        let MR = KernelBuilder.mr, NR = KernelBuilder.nr
        return """
        static void \(p)_gemm_\(edge ? "edge" : "tile")(int k, const float *restrict a, const float *restrict b, int ldb,
                                   float *restrict c, int ldc, int first, const float *restrict bias, float lo, float hi\(edge ? ", int mr, int nr" : ""))
        {
            float acc[\(MR)][\(NR)];
            for (int i = 0; i < \(MR); ++i) {
                for (int j = 0; j < \(NR); ++j) acc[i][j] = 0.0f;
            }
            for (int q = 0; q < k; ++q) {
                const float *restrict bq = b + q * ldb;
                const float *restrict aq = a + q * \(MR);
                for (int i = 0; i < \(MR); ++i) {
                    const float av = aq[i];
                    for (int j = 0; j < \(NR); ++j) acc[i][j] += av * bq[j];
                }
            }
            for (int i = 0; i < \(edge ? "mr" : "\(MR)"); ++i) {
                float *restrict ci = c + i * ldc;
                const float bi = bias[i];
                for (int j = 0; j < \(edge ? "nr" : "\(NR)"); ++j) {
                    float v = acc[i][j] + (first ? bi : ci[j]);
                    v = v < lo ? lo : v;
                    v = v > hi ? hi : v;
                    ci[j] = v;
                }
            }
        }
        """
    }

    /// C = clamp(bias + A·B) for an A packed in MR-row blocks (k-major) and a row-major B.
    ///
    /// The micro-kernel keeps an MR×NR tile of C in a local array; its loops have fixed trip
    /// counts, so gcc and clang unroll them and keep the tile in vector registers (AVX2: 8 ymm,
    /// NEON: 16 q), with one broadcast of A and NR/8 loads of B per multiply-add row.
    /// The accumulators start at zero and the bias (or the partial sums) is added once at the end:
    /// a conditional start makes gcc fall back to 128-bit SLP code (measured 10 vs 200 GFLOP/s). The driver
    /// walks KC×NC blocks of B (GotoBLAS order: columns, depth, rows, panels), and copies a ragged
    /// last panel of B into a zero-padded one, so that the multiply loops always run whole tiles;
    /// only the edge tile's final stores are bounded (staging the edge through a zeroed local tile
    /// instead spent about a tenth of the 28×28 MobileNetV2-style model's time in masked copies).
    static func gemm(_ p: String) -> String {
        let MR = KernelBuilder.mr, NR = KernelBuilder.nr, P = p.uppercased()
        return """
        /* Cache blocking: a KC×NC block of B (128 KB) stays in L2 while MR×KC blocks of A (8 KB) are
           reused from L1 across its NR-column panels. */
        #define \(P)_KC 256
        #define \(P)_NC 128

        \(tile(p, edge: false))
        \(tile(p, edge: true))
        static void \(p)_gemm(int m, int n, int k, const float *restrict a, const float *restrict b, int ldb,
                              float *restrict c, int ldc, const float *restrict bias, float lo, float hi)
        {
            float bt[\(P)_KC * \(NR)];
            for (int jc = 0; jc < n; jc += \(P)_NC) {
                const int nc = n - jc < \(P)_NC ? n - jc : \(P)_NC;
                for (int q0 = 0; q0 < k; q0 += \(P)_KC) {
                    const int kc = k - q0 < \(P)_KC ? k - q0 : \(P)_KC;
                    const int first = q0 == 0, last = q0 + kc == k;
                    const float l = last ? lo : -INFINITY, h = last ? hi : INFINITY;
                    const int full = nc / \(NR) * \(NR), nr = nc - full;
                    if (nr > 0) {
                        /* The ragged last panel, zero-padded to a whole one. */
                        const float *bp = b + q0 * ldb + jc + full;
                        for (int q = 0; q < kc; ++q) {
                            for (int j = 0; j < \(NR); ++j) bt[q * \(NR) + j] = j < nr ? bp[q * ldb + j] : 0.0f;
                        }
                    }
                    for (int i0 = 0; i0 < m; i0 += \(MR)) {
                        const int mr = m - i0 < \(MR) ? m - i0 : \(MR);
                        const float *ap = a + i0 * k + q0 * \(MR);
                        for (int j0 = 0; j0 < nc; j0 += \(NR)) {
                            const int w = nc - j0 < \(NR) ? nc - j0 : \(NR);
                            const float *bp = w == \(NR) ? b + q0 * ldb + jc + j0 : bt;
                            const int bld = w == \(NR) ? ldb : \(NR);
                            float *cp = c + i0 * ldc + jc + j0;
                            if (mr == \(MR) && w == \(NR)) {
                                \(p)_gemm_tile(kc, ap, bp, bld, cp, ldc, first, bias + i0, l, h);
                            } else {
                                \(p)_gemm_edge(kc, ap, bp, bld, cp, ldc, first, bias + i0, l, h, mr, w);
                            }
                        }
                    }
                }
            }
        }

        """
    }

    /// C[r][j] = clamp(bias[j] + Σ_q A[r·ldam + q·ldak] · W[q][j]) with W packed in NR-column
    /// panels (k-major). Four accumulator rows break the multiply-add dependency chain.
    static func panel(_ p: String) -> String {
        let NR = KernelBuilder.nr
        return """
        static void \(p)_panel(int m, int n, int k, const float *restrict a, int ldam, int ldak,
                               const float *restrict w, const float *restrict bias, float *restrict c, float lo, float hi)
        {
            for (int r = 0; r < m; ++r) {
                const float *restrict ar = a + r * ldam;
                for (int j0 = 0; j0 < n; j0 += \(NR)) {
                    const float *restrict wp = w + j0 * k;
                    float acc[4][\(NR)];
                    const int k4 = k - k % 4;
                    for (int u = 0; u < 4; ++u) {
                        for (int j = 0; j < \(NR); ++j) acc[u][j] = u == 0 ? bias[j0 + j] : 0.0f;
                    }
                    for (int q = 0; q < k4; q += 4) {
                        for (int u = 0; u < 4; ++u) {
                            const float av = ar[(q + u) * ldak];
                            for (int j = 0; j < \(NR); ++j) acc[u][j] += av * wp[(q + u) * \(NR) + j];
                        }
                    }
                    for (int q = k4; q < k; ++q) {
                        const float av = ar[q * ldak];
                        for (int j = 0; j < \(NR); ++j) acc[0][j] += av * wp[q * \(NR) + j];
                    }
                    const int nr = n - j0 < \(NR) ? n - j0 : \(NR);
                    for (int j = 0; j < nr; ++j) {
                        float v = (acc[0][j] + acc[1][j]) + (acc[2][j] + acc[3][j]);
                        v = v < lo ? lo : v;
                        v = v > hi ? hi : v;
                        c[r * n + j0 + j] = v;
                    }
                }
            }
        }

        """
    }
}
