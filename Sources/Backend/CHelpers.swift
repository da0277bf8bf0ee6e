// CHelpers: the shared C kernels the per-layer code calls: the GEMM tiles and drivers (CGemm), and
// the panel kernel for fully connected layers. Emitted once per file, only when used.

enum CHelpers {
    /// C text of helper `name` for symbol prefix `p`: "simd" (the multiply-add and SIMD
    /// selection), "kc" (the GEMM's depth blocking), "tile_MRxNR" and "gemm_MRxNR" (CGemm), their
    /// row-offset variants "tileo_MRxNR" and "gemmo_MRxNR", the 512-bit companions of a driver's
    /// tile "tilez_MRxNR" and "tileoz_MRxNR" (MR × 2·NR, compiled only for AVX-512F), "panel".
    static func text(_ name: String, prefix p: String) -> String {
        switch name {
        case "simd": return CGemm.prelude(p)
        case "kc": return CGemm.blocking(p)
        case "panel": return panel(p)
        default:
            if let t = tile(named: name, kind: "tile_") { return CGemm.tile(p, t) }
            if let t = tile(named: name, kind: "tileo_") { return CGemm.tile(p, t, offsets: true) }
            if let t = tile(named: name, kind: "tilez_") { return t.transposed ? CGemm.wideTransposedTile(p, t) : CGemm.wideTile(p, t) }
            if let t = tile(named: name, kind: "tileoz_") { return CGemm.wideTile(p, t, offsets: true) }
            if let t = tile(named: name, kind: "gemm_") { return CGemm.driver(p, t) }
            if let t = tile(named: name, kind: "gemmo_") { return CGemm.driver(p, t, offsets: true) }
            fatalError("unknown C helper \(name)")
        }
    }

    /// The helper names of `t`'s driver and everything it needs; with `offsets`, the row-offset
    /// driver (plain tiles only), whose ragged last panel runs through the plain tiles.
    static func gemm(_ t: GemmTile, offsets: Bool = false) -> [String] {
        ["simd"] + (t.transposed ? [] : ["kc"]) + CGemm.tiles(of: t).map { "tile_\($0.name)" }
            + (t.transposed && (t.mr % 16 != 0 || CGemm.wideGroups(t) == 1) ? [] : [offsets ? "tileoz_\(t.name)" : "tilez_\(t.name)"])
            + (offsets ? ["tileo_\(t.name)", "gemmo_\(t.name)"] : ["gemm_\(t.name)"])
    }

    /// The used helpers in emission order: each after what it calls.
    static func ordered(_ names: Set<String>) -> [String] {
        func rank(_ n: String) -> (Int, GemmTile?) {
            switch n {
            case "simd": return (0, nil)
            case "kc": return (1, nil)
            case "panel": return (4, nil)
            default:
                for (kind, r) in [("tile_", 2), ("tileo_", 2), ("tilez_", 2), ("tileoz_", 2), ("gemm_", 3), ("gemmo_", 3)] {
                    if let t = tile(named: n, kind: kind) { return (r, t) }
                }
                return (5, nil)
            }
        }
        return names.sorted { a, b in
            let (ra, rb) = (rank(a), rank(b))
            if ra.0 != rb.0 { return ra.0 < rb.0 }
            if let ta = ra.1, let tb = rb.1, ta != tb { return ta < tb }
            return a < b
        }
    }

    private static func tile(named name: String, kind: String) -> GemmTile? {
        guard name.hasPrefix(kind) else { return nil }
        var rest = name.dropFirst(kind.count)
        let transposed = rest.hasPrefix("t")
        if transposed { rest = rest.dropFirst() }
        let dims = rest.split(separator: "x").compactMap { Int($0) }
        guard dims.count == 2 else { return nil }
        if transposed { return dims[0] % 8 == 0 ? GemmTile.transposed(mv: dims[0] / 8, nb: dims[1]) : nil }
        return dims[1] % 8 == 0 ? GemmTile(mr: dims[0], nv: dims[1] / 8) : nil
    }

    /// C[r][j] = clamp(bias[j] + Σ_q A[r·ldam + q·ldak] · W[q][j]) with W packed in NR-column
    /// panels (k-major). Four accumulator rows break the multiply-add dependency chain.
    static func panel(_ p: String) -> String {
        let NR = KernelBuilder.nr, P = p.uppercased()
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
                            for (int j = 0; j < \(NR); ++j) acc[u][j] = \(P)_FMA(av, wp[(q + u) * \(NR) + j], acc[u][j]);
                        }
                    }
                    for (int q = k4; q < k; ++q) {
                        const float av = ar[q * ldak];
                        for (int j = 0; j < \(NR); ++j) acc[0][j] = \(P)_FMA(av, wp[q * \(NR) + j], acc[0][j]);
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
