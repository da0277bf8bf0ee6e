// KernelsPlane: the zero-padded, stride-phased copy of a convolution's input plane that the
// depthwise kernel and the C convolution's row-offset GEMM read every tap from as one contiguous run.

import IR

/// One input channel of a 2-d convolution, zero-padded and stored as sh·sw phases (rows ≡ a mod
/// sh, columns ≡ b mod sw), each `hq`×`wq`. Output (oh, ow) and tap (i, j) read plane element
/// `shift(i, j) + oh·wq + ow`, so over the flat index p = oh·wq + ow every tap is one contiguous
/// run for any stride, padding and dilation; the `wq − ow` columns past each output row's end are
/// computed and dropped.
///
/// Without a column stride the left and right padding share their zeros: a row is the input row
/// and max(left, right) zero columns, and a read left of column 0 lands in the previous row's zero
/// columns (the plane starts `lead` = left-pad zeros early for the first row). So a 28-wide map
/// with 1 column of padding drops 1 column in 29 instead of 2 in 30, a 7-wide one 1 in 8.
struct PaddedPlane {
    let h: Int, w: Int
    let sh: Int, sw: Int, dh: Int, dw: Int
    let pt: Int, pl: Int
    let hq: Int, wq: Int
    /// Zeros before the first phase (the left padding of row 0 without a column stride).
    let lead: Int

    init(_ a: ConvAttributes, h: Int, w: Int) {
        self.h = h
        self.w = w
        (sh, sw) = (a.strides[0], a.strides[1])
        (dh, dw) = (a.dilations[0], a.dilations[1])
        (pt, pl) = (a.pads[0], a.pads[1])
        let hp = h + a.pads[0] + a.pads[2]
        hq = (hp + sh - 1) / sh
        if sw == 1 {
            wq = w + max(a.pads[1], a.pads[3])
            lead = a.pads[1]
        } else {
            wq = (w + a.pads[1] + a.pads[3] + sw - 1) / sw
            lead = 0
        }
    }

    /// Floats of one channel's plane.
    var floats: Int { lead + sh * sw * hq * wq }

    /// Offset of tap (i, j) relative to output (0, 0).
    func shift(_ i: Int, _ j: Int) -> Int {
        let (ti, tj) = (i * dh, j * dw)
        return ((ti % sh) * sw + tj % sw) * hq * wq + (ti / sh) * wq + tj / sw
    }

    /// Floats of the flat output run of an oh×ow map (the last row ends at its last output).
    func flatCount(oh: Int, ow: Int) -> Int { (oh - 1) * wq + ow }

    /// The written rows and columns of phase (pa, pb): `copy` writes plane rows u0..<u1 and
    /// columns v0..<v1 of it (none when either range is empty).
    private func written(_ pa: Int, _ pb: Int) -> (u0: Int, u1: Int, v0: Int, v1: Int) {
        let u0 = max(0, (pt - pa + sh - 1) / sh), u1 = min(hq, (h + pt - pa + sh - 1) / sh)
        // Without a column stride, plane column v is input column v (`lead` takes the left padding).
        let v0 = sw == 1 ? 0 : max(0, (pl - pb + sw - 1) / sw), v1 = sw == 1 ? w : min(wq, (w + pl - pb + sw - 1) / sw)
        return (u0, u1, v0, v1)
    }

    /// Zeroes the floats of one channel's plane that `copy` does not write (the padding: `lead`,
    /// the rows above and below, the columns between rows), so a plane needs no full clear before
    /// its copy: on the staged model's narrow layers the clear wrote every plane float a second time.
    func zeroPadding(into dst: String, at dstOffset: String?, zero: String) -> [Stmt] {
        let at = dstOffset.map { "\($0) + " } ?? ""
        var stmts: [Stmt] = []
        func zeroRun(_ from: Int, _ to: Int) {
            guard to > from else { return }
            stmts.append(.loop("e", to - from, [.set("\(dst)[\(at)\(from) + e]", zero)]))
        }
        for pa in 0..<sh {
            for pb in 0..<sw {
                let phase = pa * sw + pb
                let start = phase == 0 ? 0 : lead + phase * hq * wq, end = lead + (phase + 1) * hq * wq
                let r = written(pa, pb)
                guard r.u1 > r.u0, r.v1 > r.v0 else { zeroRun(start, end); continue }
                let base = lead + phase * hq * wq
                zeroRun(start, base + r.u0 * wq + r.v0)
                let gap = wq - (r.v1 - r.v0)
                if gap > 0 && r.u1 - r.u0 > 1 {
                    stmts.append(.range("u", "\(r.u0)", "\(r.u1 - 1)", [.loop("e", gap, [
                        .set("\(dst)[\(at)\(base + r.v1) + u * \(wq) + e]", zero),
                    ])]))
                }
                zeroRun(base + (r.u1 - 1) * wq + r.v1, end)
            }
        }
        return stmts
    }

    /// Copies one channel into its plane (`zeroPadding` zeroes the rest): `src[srcOffset + r·w + c]`
    /// (the channel's row r, column c) to `dst[dstOffset + …]`. Padded row r' = pa + u·sh holds input row r' − pt; the
    /// loop bounds are literals, so the copies have no division and no bounds checks.
    func copy(into dst: String, at dstOffset: String?, from src: String, at srcOffset: String) -> [Stmt] {
        var stmts: [Stmt] = []
        for pa in 0..<sh {
            for pb in 0..<sw {
                let (u0, u1, v0, v1) = written(pa, pb)
                guard u1 > u0, v1 > v0 else { continue }
                let base = lead + (pa * sw + pb) * hq * wq
                let row = sh == 1 ? "u - \(pt - pa)" : "u * \(sh) + \(pa - pt)"
                let col = sw == 1 ? "v" : "v * \(sw) + \(pb - pl)"
                stmts.append(.range("u", "\(u0)", "\(u1)", [.range("v", "\(v0)", "\(v1)", [
                    .set("\(dst)[\(dstOffset.map { "\($0) + " } ?? "")\(base) + u * \(wq) + v]", "\(src)[\(srcOffset) + (\(row)) * \(w) + \(col)]"),
                ])]))
            }
        }
        return stmts
    }
}

extension KernelBuilder {
    /// A C convolution as one GEMM per group that reads B straight from padded planes of the
    /// input's channels instead of an im2col matrix: row q = (ci, i, j) of B is plane ci from
    /// `shift(i, j)`, a table of offsets (`gemmo_`), and the columns are the flat output run,
    /// copied out row by row into the NCHW output. The copies are one plane per input channel and
    /// one output, not kh·kw copies of every input; the price is the wq − ow dropped columns per
    /// row, so `conv` takes this form only where the cost model says it pays (`planeCost`).
    func planeGemm(_ a: ConvAttributes, xs: [Int], ys: [Int], tile: GemmTile, weights wp: String, bias bp: String, rowsPadded mgPad: Int) {
        let (n, c, h, w) = (xs[0], xs[1], xs[2], xs[3])
        let (cout, oh, ow) = (ys[1], ys[2], ys[3])
        let g = a.group, cg = c / g, mg = cout / g
        let (kh, kw) = (a.kernel[0], a.kernel[1])
        let kg = cg * kh * kw
        let plane = PaddedPlane(a, h: h, w: w)
        let pf = plane.floats, count = plane.flatCount(oh: oh, ow: ow)
        let src = x(0), dst = y()
        let s = scratch(cg * pf + mg * count)
        let out = offset(s, cg * pf)
        var offsets: [Int] = []
        for ci in 0..<cg {
            for i in 0..<kh { for j in 0..<kw { offsets.append(ci * pf + plane.shift(i, j)) } }
        }
        emit(.intTable("off", offsets))
        for b in 0..<n {
            for gi in 0..<g {
                let xOff = b * c * h * w + gi * cg * h * w
                emit(.comment("padded planes: \(cg) channels of \(plane.sh * plane.sw)×\(plane.hq)×\(plane.wq)"))
                emit(.loop("ci", cg, plane.zeroPadding(into: s, at: "ci * \(pf)", zero: lang.f(0))
                    + plane.copy(into: s, at: "ci * \(pf)", from: src, at: "\(xOff) + ci * \(h * w)")))
                emit(.call(gemmHelper(tile, offsets: true), ["\(mg)", "\(count)", "\(kg)", offset(wp, gi * mgPad * kg), s, "off", out, "\(count)",
                                                             offset(bp, gi * mgPad)] + clampArgs))
                let yOff = b * cout * oh * ow + gi * mg * oh * ow
                // The copy out adds a fused residual (ResidualFusion) on the way.
                let at = "\(yOff == 0 ? "" : "\(yOff) + ")co * \(oh * ow) + oh * \(ow) + ow"
                emit(.loop("co", mg, [.loop("oh", oh, [.loop("ow", ow,
                    withResidual("\(dst)[\(at)]", "\(out)[co * \(count) + oh * \(plane.wq) + ow]", index: at))])]))
            }
        }
        residualDone = true
        activationSweep(dst, count: n * cout * oh * ow, clampDone: true)
    }

    /// Estimated cycles of the two C forms of a grouped 2-d convolution (per group): im2col (a
    /// kh·kw-fold copy of the input, then the GEMM over exact columns) and the padded planes
    /// (`planeGemm`: one plane per channel, the GEMM over the flat run, the output copied out).
    /// The copy rates are per float, fitted on the bench models' layers (an im2col float costs
    /// about half a cycle against 1/8 of a cycle per multiply-add lane).
    static func convCosts(cg: Int, mg: Int, kg: Int, ohw: Int, plane: PaddedPlane, oh: Int, ow: Int) -> (im2col: Double, plane: Double, im2colTile: GemmTile, planeTile: GemmTile) {
        let count = plane.flatCount(oh: oh, ow: ow)
        let t1 = GemmTile.best(m: mg, n: ohw, k: kg), t2 = GemmTile.best(m: mg, n: count, k: kg, plainOnly: true)
        let im2col = 0.5 * Double(kg * ohw) + t1.cost(m: mg, n: ohw, k: kg)
        let planes = 0.3 * Double(cg * plane.floats) + 0.3 * Double(mg * ohw) + t2.cost(m: mg, n: count, k: kg)
        return (im2col, planes, t1, t2)
    }
}
