// CGemm: the C GEMM of convolutions: register-tile shapes chosen per layer, the micro-kernel of
// each shape (AVX2+FMA intrinsics where the compiler targets them, portable C elsewhere) and the
// cache-blocked driver.

/// One register tile of the C GEMM. Plain tiles: `mr` rows of A (broadcast) times `nv` 8-float
/// vectors of B's columns. Transposed tiles (`transposed`): `mr` = 8·`nv` rows of A (vectors)
/// times `nb` columns of B (broadcast), for maps too small to fill vectors of columns: a 7×7 map
/// is 49 columns, 7 tiles of 7, where plain tiles compute 56. A is packed in `mr`-row blocks, so
/// the shape is fixed when the weights are packed.
struct GemmTile: Hashable, Comparable {
    var mr: Int
    var nv: Int
    var transposed = false
    var nb = 0
    /// Columns of one tile.
    var nr: Int { transposed ? nb : nv * 8 }
    var name: String { transposed ? "t\(mr)x\(nb)" : "\(mr)x\(nr)" }

    static func < (a: GemmTile, b: GemmTile) -> Bool { (a.transposed ? 1 : 0, a.mr, a.nv, a.nb) < (b.transposed ? 1 : 0, b.mr, b.nv, b.nb) }

    static func transposed(mv: Int, nb: Int) -> GemmTile { GemmTile(mr: 8 * mv, nv: mv, transposed: true, nb: nb) }

    /// Every shape whose accumulators, loaded vectors and one broadcast fit 16 vector registers
    /// (AVX2's ymm file; NEON has 32), at most 12 accumulators.
    static let candidates: [GemmTile] = {
        var all: [GemmTile] = []
        for mr in 1...8 {
            for nv in 1...3 where mr * nv <= 12 && mr * nv + nv + 1 <= 16 { all.append(GemmTile(mr: mr, nv: nv)) }
        }
        for mv in 1...2 {
            for nb in 1...12 where mv * nb <= 12 && mv * nb + mv + 1 <= 16 { all.append(transposed(mv: mv, nb: nb)) }
        }
        return all
    }()

    /// Accumulator vectors, vectors loaded and scalars broadcast per k step.
    private var counts: (acc: Int, loads: Int, broadcasts: Int) {
        transposed ? (nv * nb, nv, nb) : (mr * nv, nv, mr)
    }

    /// Estimated cycles of one k step: one vector FMA per accumulator, or the loads (a broadcast
    /// is one load, a vector two 128-bit ones, two per cycle) when they are the bound, plus loop
    /// overhead.
    func stepCost() -> Double {
        let c = counts
        return max(Double(c.acc), Double(2 * c.loads + c.broadcasts) / 2) + 1
    }

    /// Estimated cycles of storing one tile: vector stores, or about four cycles per element for
    /// the transposed tiles, whose vectors run down C's columns (fitted on this Zen core: with
    /// less, the 576×49×96 layer of the MobileNetV2 bench model took transposed tiles and ran 2×
    /// slower than with plain ones).
    var epilogueCost: Double { transposed ? Double(4 * mr * nb + 20) : Double(4 * mr * nv + 20) }

    /// The tile for an m×n×k product: the shape with the least estimated time, counting the rows
    /// past m in the last row block, the padded last column panel (computed and dropped) and each
    /// tile's epilogue. So a 16-row layer takes 4-row tiles (no padded rows), a layer of a few
    /// output channels takes tiles of exactly its rows, and a 7×7 map takes transposed tiles of 7
    /// columns.
    /// With `plainOnly`, among the plain tiles (the row-offset driver has no transposed form).
    static func best(m: Int, n: Int, k: Int, plainOnly: Bool = false) -> GemmTile {
        candidates.filter { !(plainOnly && $0.transposed) }.min { a, b in
            let (ca, cb) = (a.cost(m: m, n: n, k: k), b.cost(m: m, n: n, k: k))
            return ca != cb ? ca < cb : a < b
        }!
    }

    /// Estimated cycles of an m×n×k product in this tile shape (see `best`).
    func cost(m: Int, n: Int, k: Int) -> Double {
        let rowBlocks = Double((m + mr - 1) / mr)
        let full = Double(n / nr), rem = n % nr
        var perBlock = full * (Double(k) * stepCost() + epilogueCost)
        if rem > 0 {
            let tail = transposed ? self : GemmTile(mr: mr, nv: (rem + 7) / 8)
            perBlock += Double(k) * tail.stepCost() + tail.epilogueCost + Double(k * tail.nr) / 8
        }
        return rowBlocks * perBlock
    }
}

enum CGemm {
    /// The SIMD and multiply-add selection every vectorized helper starts from. Under -std=c99 gcc
    /// does not contract a·b + c into a fused multiply-add, so the kernels ask for one with fmaf
    /// where the target has it (C99's FP_FAST_FMAF, or the compiler's FMA flag), and use AVX2+FMA
    /// intrinsics for the GEMM tiles where the compiler targets them: gcc's auto-vectorizer splits
    /// small register tiles into 128-bit pieces and spills (measured 5 to 27 GFLOP/s against 39 for
    /// the intrinsic tile on a Zen core). Where the compiler targets AVX-512F, the drivers run most
    /// columns through 512-bit tiles of twice the width (`wideTile`) and the 16-row transposed
    /// tiles keep one 512-bit vector per column: the same packing, half the instructions (measured
    /// 110 against 86–100 GFLOP/s for the 4×24 tile in L1 on this Zen 4 core, whose 512-bit units
    /// are double-pumped; on cores with two 512-bit FMA units the gain is larger).
    static func prelude(_ p: String) -> String {
        let P = p.uppercased()
        return """
        #if defined(FP_FAST_FMAF) || defined(__FMA__) || defined(__ARM_FEATURE_FMA)
        #define \(P)_FMA(a, b, c) fmaf(a, b, c)
        #else
        #define \(P)_FMA(a, b, c) ((a) * (b) + (c))
        #endif
        #if defined(__AVX__) && defined(__FMA__)
        #include <immintrin.h>
        #define \(P)_AVX_FMA 1
        #else
        #define \(P)_AVX_FMA 0
        #endif
        #if \(P)_AVX_FMA && defined(__AVX512F__)
        #define \(P)_AVX512 1
        #else
        #define \(P)_AVX512 0
        #endif

        """
    }

    /// The micro-kernel of one tile shape: C[0..mr)[0..nr) = clamp(A·B + (first ? bias : C)) for a
    /// k-major packed A block and a B with row stride ldb. The whole tile is always computed (A's
    /// padded rows are zero, B's ragged panel is zero-padded by the driver); only an edge tile's
    /// stores are bounded. Accumulators start at zero and the bias or partial sums are added once
    /// at the end, so the k loop is only multiply-adds. With `offsets`, row q of B starts at
    /// b + off[q] instead of b + q·ldb (`tileo_`: the rows of a convolution's taps in a padded
    /// plane, see KernelsPlane.swift).
    static func tile(_ p: String, _ t: GemmTile, offsets: Bool = false) -> String {
        if t.transposed { return transposedTile(p, t) }
        let P = p.uppercased(), MR = t.mr, NR = t.nr, NV = t.nv
        let rowB = offsets ? "b + off[q]" : "b + q * ldb", ldbParam = offsets ? "const int *restrict off" : "int ldb"
        let accs = (0..<MR).flatMap { i in (0..<NV).map { "c\(i)_\($0)" } }
        var simd: [String] = []
        simd.append("__m256 \(accs.map { "\($0) = _mm256_setzero_ps()" }.joined(separator: ", "));")
        simd.append("for (int q = 0; q < k; ++q) {")
        simd.append("    const float *restrict bq = \(rowB);")
        simd.append("    const float *restrict aq = a + q * \(MR);")
        simd.append("    const __m256 " + (0..<NV).map { "b\($0) = _mm256_loadu_ps(bq\($0 == 0 ? "" : " + \($0 * 8)"))" }.joined(separator: ", ") + ";")
        for i in 0..<MR {
            simd.append("    const __m256 a\(i) = _mm256_broadcast_ss(aq + \(i));")
            for v in 0..<NV { simd.append("    c\(i)_\(v) = _mm256_fmadd_ps(a\(i), b\(v), c\(i)_\(v));") }
        }
        simd.append("}")
        simd.append("if (mr == \(MR) && nr == \(NR)) {")
        simd.append("    /* max(lo, x) and min(hi, x) return x when it is NaN, as the scalar clamp does. */")
        simd.append("    const __m256 vlo = _mm256_set1_ps(lo), vhi = _mm256_set1_ps(hi);")
        for i in 0..<MR {
            simd.append("    {")
            simd.append("        float *restrict ci = c + \(i) * ldc;")
            simd.append("        const __m256 bi = _mm256_set1_ps(bias[\(i)]);")
            for v in 0..<NV {
                let at = v == 0 ? "ci" : "ci + \(v * 8)"
                simd.append("        _mm256_storeu_ps(\(at), _mm256_min_ps(vhi, _mm256_max_ps(vlo, _mm256_add_ps(c\(i)_\(v), first ? bi : _mm256_loadu_ps(\(at))))));")
            }
            simd.append("    }")
        }
        simd.append("    return;")
        simd.append("}")
        for i in 0..<MR {
            for v in 0..<NV { simd.append("_mm256_storeu_ps(acc[\(i)]\(v == 0 ? "" : " + \(v * 8)"), c\(i)_\(v));") }
        }
        let simdText = simd.map { "    " + $0 }.joined(separator: "\n")
        return """
        static void \(p)_tile\(offsets ? "o" : "")_\(t.name)(int k, const float *restrict a, const float *restrict b, \(ldbParam), float *restrict c, int ldc,
                                 int first, const float *restrict bias, float lo, float hi, int mr, int nr)
        {
            float acc[\(MR)][\(NR)];
        #if \(P)_AVX_FMA
        \(simdText)
        #else
            for (int i = 0; i < \(MR); ++i) {
                for (int j = 0; j < \(NR); ++j) acc[i][j] = 0.0f;
            }
            for (int q = 0; q < k; ++q) {
                const float *restrict bq = \(rowB);
                const float *restrict aq = a + q * \(MR);
                for (int i = 0; i < \(MR); ++i) {
                    const float av = aq[i];
                    for (int j = 0; j < \(NR); ++j) acc[i][j] = \(P)_FMA(av, bq[j], acc[i][j]);
                }
            }
        #endif
            for (int i = 0; i < mr; ++i) {
                float *restrict ci = c + i * ldc;
                const float bi = bias[i];
                for (int j = 0; j < nr; ++j) {
                    float v = acc[i][j] + (first ? bi : ci[j]);
                    v = v < lo ? lo : v;
                    v = v > hi ? hi : v;
                    ci[j] = v;
                }
            }
        }

        """
    }

    /// Row blocks of `t` that its 512-bit companion computes at once (A blocks read side by side,
    /// each B vector loaded once for all of them): up to 24 accumulators of the 32 registers. A
    /// transposed tile of 8 rows has no 512-bit form (1).
    static func wideGroups(_ t: GemmTile) -> Int {
        t.transposed ? (t.mr % 16 == 0 ? max(1, min(4, 24 / (t.mr / 16 * t.nb))) : 1) : max(1, min(8, 24 / (t.mr * t.nv)))
    }

    /// The 512-bit companion of plain tile `t` (`tilez_` / `tileoz_`, named by `t`), for the
    /// drivers' full panels of twice `t`'s width where the compiler targets AVX-512F:
    /// C[0..mr)[0..2·nr) = clamp(A·B + (first ? bias : C)) over `wideGroups(t)` consecutive MR-row
    /// blocks of A (block g at a + g·MR·ka), `nv` 16-float vectors per row. Same A packing as `t`.
    /// Only full-width panels come here, so only the rows are bounded.
    static func wideTile(_ p: String, _ t: GemmTile, offsets: Bool = false) -> String {
        let P = p.uppercased(), G = wideGroups(t), MR = t.mr, NV = t.nv, NR = 2 * t.nr, R = G * MR
        let rowB = offsets ? "b + off[q]" : "b + q * ldb", ldbParam = offsets ? "const int *restrict off" : "int ldb"
        let accs = (0..<R).flatMap { i in (0..<NV).map { "c\(i)_\($0)" } }
        var body: [String] = []
        for g in 0..<G { body.append("const float *restrict a\(g)p = a\(g == 0 ? "" : " + \(g * MR) * ka");") }
        body.append("__m512 \(accs.map { "\($0) = _mm512_setzero_ps()" }.joined(separator: ", "));")
        body.append("for (int q = 0; q < k; ++q) {")
        body.append("    const float *restrict bq = \(rowB);")
        body.append("    const __m512 " + (0..<NV).map { "b\($0) = _mm512_loadu_ps(bq\($0 == 0 ? "" : " + \($0 * 16)"))" }.joined(separator: ", ") + ";")
        for r in 0..<R {
            body.append("    const __m512 a\(r) = _mm512_set1_ps(a\(r / MR)p[q * \(MR) + \(r % MR)]);")
            for v in 0..<NV { body.append("    c\(r)_\(v) = _mm512_fmadd_ps(a\(r), b\(v), c\(r)_\(v));") }
        }
        body.append("}")
        body.append("if (mr == \(R)) {")
        body.append("    /* max(lo, x) and min(hi, x) return x when it is NaN, as the scalar clamp does. */")
        body.append("    const __m512 vlo = _mm512_set1_ps(lo), vhi = _mm512_set1_ps(hi);")
        for r in 0..<R {
            body.append("    {")
            body.append("        float *restrict ci = c + \(r) * ldc;")
            body.append("        const __m512 bi = _mm512_set1_ps(bias[\(r)]);")
            for v in 0..<NV {
                let at = v == 0 ? "ci" : "ci + \(v * 16)"
                body.append("        _mm512_storeu_ps(\(at), _mm512_min_ps(vhi, _mm512_max_ps(vlo, _mm512_add_ps(c\(r)_\(v), first ? bi : _mm512_loadu_ps(\(at))))));")
            }
            body.append("    }")
        }
        body.append("    return;")
        body.append("}")
        body.append("{")
        body.append("    float acc[\(R)][\(NR)];")
        for r in 0..<R {
            for v in 0..<NV { body.append("    _mm512_storeu_ps(acc[\(r)]\(v == 0 ? "" : " + \(v * 16)"), c\(r)_\(v));") }
        }
        body.append("    for (int i = 0; i < mr; ++i) {")
        body.append("        float *restrict ci = c + i * ldc;")
        body.append("        const float bi = bias[i];")
        body.append("        for (int j = 0; j < \(NR); ++j) {")
        body.append("            float v = acc[i][j] + (first ? bi : ci[j]);")
        body.append("            v = v < lo ? lo : v;")
        body.append("            v = v > hi ? hi : v;")
        body.append("            ci[j] = v;")
        body.append("        }")
        body.append("    }")
        body.append("}")
        return """
        #if \(P)_AVX512
        static void \(p)_tile\(offsets ? "o" : "")z_\(t.name)(int k, const float *restrict a, int ka, const float *restrict b, \(ldbParam), float *restrict c, int ldc,
                                 int first, const float *restrict bias, float lo, float hi, int mr)
        {
        \(body.map { "    " + $0 }.joined(separator: "\n"))
        }
        #endif

        """
    }

    /// The 512-bit companion of transposed tile `t` (`tilez_tMRxNB`, for MR a multiple of 16):
    /// `wideGroups(t)` consecutive MR-row blocks of A (block g at a + g·MR·k) against the same nb
    /// columns of B, so each column of B is broadcast once for all of them (the transposed
    /// driver's B strip is strided and would be read once per block).
    static func wideTransposedTile(_ p: String, _ t: GemmTile) -> String {
        let P = p.uppercased(), G = wideGroups(t), NB = t.nb, ZV = t.mr / 16 * G, R = G * t.mr
        let accs = (0..<NB).flatMap { j in (0..<ZV).map { "c\(j)_\($0)" } }
        var body: [String] = []
        body.append("__m512 \(accs.map { "\($0) = _mm512_setzero_ps()" }.joined(separator: ", "));")
        body.append("for (int q = 0; q < k; ++q) {")
        body.append("    const float *restrict bq = b + q * ldb;")
        // Vector v holds rows 16v…16v+15: block v / (MR/16), part v % (MR/16).
        let per = t.mr / 16
        body.append("    const __m512 " + (0..<ZV).map { v in
            "a\(v) = _mm512_loadu_ps(a + \(v / per * t.mr) * k + q * \(t.mr)\(v % per == 0 ? "" : " + \(v % per * 16)"))"
        }.joined(separator: ", ") + ";")
        for j in 0..<NB {
            body.append("    const __m512 b\(j) = _mm512_set1_ps(bq[\(j)]);")
            for v in 0..<ZV { body.append("    c\(j)_\(v) = _mm512_fmadd_ps(a\(v), b\(j), c\(j)_\(v));") }
        }
        body.append("}")
        for j in 0..<NB {
            for v in 0..<ZV { body.append("_mm512_storeu_ps(acc[\(j)]\(v == 0 ? "" : " + \(v * 16)"), c\(j)_\(v));") }
        }
        return """
        #if \(P)_AVX512
        static void \(p)_tilez_\(t.name)(int k, const float *restrict a, const float *restrict b, int ldb, float *restrict c, int ldc,
                                 const float *restrict bias, float lo, float hi, int mr, int nb)
        {
            float acc[\(NB)][\(R)];
        \(body.map { "    " + $0 }.joined(separator: "\n"))
            for (int i = 0; i < mr; ++i) {
                float *restrict ci = c + i * ldc;
                const float bi = bias[i];
                for (int j = 0; j < nb; ++j) {
                    float v = acc[j][i] + bi;
                    v = v < lo ? lo : v;
                    v = v > hi ? hi : v;
                    ci[j] = v;
                }
            }
        }
        #endif

        """
    }

    /// The tiles a driver of shape `t` calls: itself and the narrower ones of its last panel.
    static func tiles(of t: GemmTile) -> [GemmTile] { t.transposed ? [t] : (1...t.nv).map { GemmTile(mr: t.mr, nv: $0) } }

    /// The micro-kernel of a transposed tile: C[0..mr)[0..nb) = clamp(A·B + bias), the
    /// accumulators holding 8 rows of one column each; B's columns are broadcast, at stride ldb.
    /// The stores go through a local tile, one element at a time (C is row-major).
    static func transposedTile(_ p: String, _ t: GemmTile) -> String {
        let P = p.uppercased(), MR = t.mr, NB = t.nb, NV = t.nv
        let accs = (0..<NB).flatMap { j in (0..<NV).map { "c\(j)_\($0)" } }
        var simd: [String] = []
        simd.append("__m256 \(accs.map { "\($0) = _mm256_setzero_ps()" }.joined(separator: ", "));")
        simd.append("for (int q = 0; q < k; ++q) {")
        simd.append("    const float *restrict bq = b + q * ldb;")
        simd.append("    const float *restrict aq = a + q * \(MR);")
        simd.append("    const __m256 " + (0..<NV).map { "a\($0) = _mm256_loadu_ps(aq\($0 == 0 ? "" : " + \($0 * 8)"))" }.joined(separator: ", ") + ";")
        for j in 0..<NB {
            simd.append("    const __m256 b\(j) = _mm256_broadcast_ss(bq + \(j));")
            for v in 0..<NV { simd.append("    c\(j)_\(v) = _mm256_fmadd_ps(a\(v), b\(j), c\(j)_\(v));") }
        }
        simd.append("}")
        for j in 0..<NB {
            for v in 0..<NV { simd.append("_mm256_storeu_ps(acc[\(j)]\(v == 0 ? "" : " + \(v * 8)"), c\(j)_\(v));") }
        }
        let simdText = simd.map { "    " + $0 }.joined(separator: "\n")
        // With AVX-512F, 16 rows of a column are one 512-bit vector.
        var wide = ""
        if MR % 16 == 0 {
            let ZV = MR / 16
            let zaccs = (0..<NB).flatMap { j in (0..<ZV).map { "c\(j)_\($0)" } }
            var z: [String] = []
            z.append("__m512 \(zaccs.map { "\($0) = _mm512_setzero_ps()" }.joined(separator: ", "));")
            z.append("for (int q = 0; q < k; ++q) {")
            z.append("    const float *restrict bq = b + q * ldb;")
            z.append("    const float *restrict aq = a + q * \(MR);")
            z.append("    const __m512 " + (0..<ZV).map { "a\($0) = _mm512_loadu_ps(aq\($0 == 0 ? "" : " + \($0 * 16)"))" }.joined(separator: ", ") + ";")
            for j in 0..<NB {
                z.append("    const __m512 b\(j) = _mm512_set1_ps(bq[\(j)]);")
                for v in 0..<ZV { z.append("    c\(j)_\(v) = _mm512_fmadd_ps(a\(v), b\(j), c\(j)_\(v));") }
            }
            z.append("}")
            for j in 0..<NB {
                for v in 0..<ZV { z.append("_mm512_storeu_ps(acc[\(j)]\(v == 0 ? "" : " + \(v * 16)"), c\(j)_\(v));") }
            }
            wide = "#if \(P)_AVX512\n" + z.map { "    " + $0 }.joined(separator: "\n") + "\n#elif \(P)_AVX_FMA"
        } else {
            wide = "#if \(P)_AVX_FMA"
        }
        return """
        static void \(p)_tile_\(t.name)(int k, const float *restrict a, const float *restrict b, int ldb, float *restrict c, int ldc,
                                 const float *restrict bias, float lo, float hi, int mr, int nb)
        {
            float acc[\(NB)][\(MR)];
        \(wide)
        \(simdText)
        #else
            for (int j = 0; j < \(NB); ++j) {
                for (int i = 0; i < \(MR); ++i) acc[j][i] = 0.0f;
            }
            for (int q = 0; q < k; ++q) {
                const float *restrict bq = b + q * ldb;
                const float *restrict aq = a + q * \(MR);
                for (int j = 0; j < \(NB); ++j) {
                    const float bv = bq[j];
                    for (int i = 0; i < \(MR); ++i) acc[j][i] = \(P)_FMA(aq[i], bv, acc[j][i]);
                }
            }
        #endif
            for (int i = 0; i < mr; ++i) {
                float *restrict ci = c + i * ldc;
                const float bi = bias[i];
                for (int j = 0; j < nb; ++j) {
                    float v = acc[j][i] + bi;
                    v = v < lo ? lo : v;
                    v = v > hi ? hi : v;
                    ci[j] = v;
                }
            }
        }

        """
    }

    /// The driver of a transposed tile: column tiles outside, row blocks inside (B's columns
    /// stay in cache across A's blocks); no depth blocking, as a k-major A block of 8 rows is read
    /// as one stream. A ragged last column tile reads a zero-padded copy of B's last columns.
    static func transposedDriver(_ p: String, _ t: GemmTile) -> String {
        let MR = t.mr, NB = t.nb, G = wideGroups(t)
        // With AVX-512F, whole groups of G row blocks first, through the grouped tile.
        let wide = t.mr % 16 != 0 || G == 1 ? "" : """
        #if \(p.uppercased())_AVX512
                for (; i0 + \(G * MR - MR) < m; i0 += \(G * MR)) {
                    const int mr = m - i0 < \(G * MR) ? m - i0 : \(G * MR);
                    \(p)_tilez_\(t.name)(k, a + i0 * k, bp, ld, c + i0 * ldc + j0, ldc, bias + i0, lo, hi, mr, nb);
                }
        #endif
        """
        return """
        static void \(p)_gemm_\(t.name)(int m, int n, int k, const float *restrict a, const float *restrict b, int ldb,
                                 float *restrict c, int ldc, const float *restrict bias, float lo, float hi, float *restrict bt)
        {
            for (int j0 = 0; j0 < n; j0 += \(NB)) {
                const int nb = n - j0 < \(NB) ? n - j0 : \(NB);
                const float *bp = b + j0;
                int ld = ldb;
                if (nb < \(NB)) {
                    for (int q = 0; q < k; ++q) {
                        for (int j = 0; j < \(NB); ++j) bt[q * \(NB) + j] = j < nb ? bp[q * ldb + j] : 0.0f;
                    }
                    bp = bt;
                    ld = \(NB);
                }
                int i0 = 0;
        \(wide)
                for (; i0 < m; i0 += \(MR)) {
                    const int mr = m - i0 < \(MR) ? m - i0 : \(MR);
                    \(p)_tile_\(t.name)(k, a + i0 * k, bp, ld, c + i0 * ldc + j0, ldc, bias + i0, lo, hi, mr, nb);
                }
            }
        }

        """
    }

    /// C = clamp(bias + A·B) for an A packed in MR-row blocks (k-major) and a row-major B.
    ///
    /// The driver walks KC×NC blocks of B (GotoBLAS order: columns, depth, rows, panels): a KC×NC
    /// block of B stays in L2 while MR×KC blocks of A are reused from L1 across its panels. A
    /// ragged last panel of B is copied into a zero-padded one of the fewest 8-column vectors that
    /// hold it and runs through the tile of that width, so a 49-column map computes 56 columns,
    /// not 64.
    /// With `offsets` (`gemmo_`), row q of B starts at b + off[q] (see `tile`); the ragged last
    /// panel is gathered through the table into the same zero-padded copy, which the plain tiles
    /// read. Where the compiler targets AVX-512F, the full panels go two at a time through the
    /// 512-bit tile (`wideTile`), and an odd one through the 256-bit tile.
    static func driver(_ p: String, _ t: GemmTile, offsets: Bool = false) -> String {
        if t.transposed { return transposedDriver(p, t) }
        let P = p.uppercased(), MR = t.mr, NR = t.nr, G = wideGroups(t)
        let ldbParam = offsets ? "const int *restrict off" : "int ldb"
        let tailRow = offsets ? "bp[off[q0 + q] + j]" : "bp[q * ldb + j]"
        let tailBase = offsets ? "b + jc + full" : "b + q0 * ldb + jc + full"
        let fullCall = offsets
            ? "\(p)_tileo_\(t.name)(kc, ap, b + jc + j0, off + q0, c + i0 * ldc + jc + j0, ldc, first, bias + i0, l, h, mr, \(NR));"
            : "\(p)_tile_\(t.name)(kc, ap, b + q0 * ldb + jc + j0, ldb, c + i0 * ldc + jc + j0, ldc, first, bias + i0, l, h, mr, \(NR));"
        let wideCall = offsets
            ? "\(p)_tileoz_\(t.name)(kc, ap, k, b + jc + j0, off + q0, c + i0 * ldc + jc + j0, ldc, first, bias + i0, l, h, gr);"
            : "\(p)_tilez_\(t.name)(kc, ap, k, b + q0 * ldb + jc + j0, ldb, c + i0 * ldc + jc + j0, ldc, first, bias + i0, l, h, gr);"
        // Column blocks of whole wide panels, about 128 columns.
        let nc = 2 * NR * max(1, 64 / NR)
        var tail = ""
        for w in tiles(of: t).reversed() {
            let call = "\(p)_tile_\(w.name)(kc, ap, bt, \(w.nr), cp, ldc, first, bias + i0, l, h, mr, rem);"
            tail += w.nv == 1 ? call : "if (tw == \(w.nr)) \(call)\n                    else "
        }
        return """
        static void \(p)_gemm\(offsets ? "o" : "")_\(t.name)(int m, int n, int k, const float *restrict a, const float *restrict b, \(ldbParam),
                                 float *restrict c, int ldc, const float *restrict bias, float lo, float hi)
        {
            float bt[\(P)_KC * \(NR)];
            for (int jc = 0; jc < n; jc += \(nc)) {
                const int nc = n - jc < \(nc) ? n - jc : \(nc);
                for (int q0 = 0; q0 < k; q0 += \(P)_KC) {
                    const int kc = k - q0 < \(P)_KC ? k - q0 : \(P)_KC;
                    const int first = q0 == 0, last = q0 + kc == k;
                    const float l = last ? lo : -INFINITY, h = last ? hi : INFINITY;
                    const int full = nc / \(NR) * \(NR), rem = nc - full, tw = (rem + 7) / 8 * 8;
                    if (rem > 0) {
                        /* The ragged last panel, zero-padded to tw columns. */
                        const float *bp = \(tailBase);
                        for (int q = 0; q < kc; ++q) {
                            for (int j = 0; j < tw; ++j) bt[q * tw + j] = j < rem ? \(tailRow) : 0.0f;
                        }
                    }
                    for (int i0 = 0; i0 < m; i0 += \(MR)) {
                        const int mr = m - i0 < \(MR) ? m - i0 : \(MR);
                        const float *ap = a + i0 * k + q0 * \(MR);
                        int j0 = 0;
        #if \(P)_AVX512
                        /* The wide panels of a group of \(G) row blocks, all present, run at its first block. */
                        if (m - i0 / \(G * MR) * \(G * MR) > \(G * MR - MR)) {
                            if (i0 % \(G * MR) == 0) {
                                const int gr = m - i0 < \(G * MR) ? m - i0 : \(G * MR);
                                for (; j0 + \(2 * NR) <= full; j0 += \(2 * NR)) {
                                    \(wideCall)
                                }
                            }
                            j0 = full / \(2 * NR) * \(2 * NR);
                        }
        #endif
                        for (; j0 < full; j0 += \(NR)) {
                            \(fullCall)
                        }
                        if (rem > 0) {
                            float *cp = c + i0 * ldc + jc + full;
                            \(tail)
                        }
                    }
                }
            }
        }

        """
    }

    /// The K blocking both the drivers use.
    static func blocking(_ p: String) -> String {
        "/* Cache blocking: the depth of a B block (its columns are the driver's). */\n#define \(p.uppercased())_KC 256\n\n"
    }
}
