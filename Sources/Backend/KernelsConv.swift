// KernelsConv: convolution kernels: 1×1 as GEMM, im2col (taps unrolled) + GEMM, depthwise direct,
// and a direct N-d fallback.

import IR

extension KernelBuilder {
    /// GEMM tile sizes of the Swift helpers and of the fully connected panels (the C convolutions
    /// choose a tile per layer, GemmTile.best).
    static let mr = 8, nr = 32

    func conv(_ a: ConvAttributes) throws {
        var xs = xs(0), ys = ys(0)
        var a = a
        let wShape = program.shapes[step.inputs[1]]!
        var kernel = a.kernel
        if xs.count == 3 {
            // 1-d convolution is 2-d with height 1.
            xs.insert(1, at: 2); ys.insert(1, at: 2); kernel.insert(1, at: 0)
            a = ConvAttributes(kernel: kernel, strides: [1] + a.strides, pads: [0, a.pads[0], 0, a.pads[1]],
                               dilations: [1] + a.dilations, group: a.group)
        }
        if xs.count != 4 || constant(1) == nil {
            directConv(a, xs: xs, ys: ys, wShape: wShape)
        } else if a.group == xs[1], ys[1] % xs[1] == 0 {
            depthwise(a, xs: xs, ys: ys)
        } else {
            im2colGemm(a, xs: xs, ys: ys)
        }
        // A fused residual that the kernel did not add while writing its output.
        if !residualDone { residualSweep(y(), count: ys.elementCount) }
    }

    /// Weights [Cout, K] of one group → MR-row blocks, k-major: block b holds rows b·MR…, as
    /// [K][MR], rows past Cout zero. This is the layout the GEMM tile reads with unit stride.
    static func packRows(_ w: [Float], rows: Int, k: Int, rowOffset: Int = 0, mr: Int = mr) -> [Float] {
        let padded = (rows + mr - 1) / mr * mr
        var out = [Float](repeating: 0, count: padded * k)
        for r in 0..<rows {
            let blk = r / mr, i = r % mr
            for p in 0..<k { out[blk * mr * k + p * mr + i] = w[(rowOffset + r) * k + p] }
        }
        return out
    }

    func biasValues(_ count: Int) -> [Float] {
        constant(2)?.scalars ?? [Float](repeating: 0, count: count)
    }

    private func im2colGemm(_ a: ConvAttributes, xs: [Int], ys: [Int]) {
        let (n, c, h, w) = (xs[0], xs[1], xs[2], xs[3])
        let (cout, oh, ow) = (ys[1], ys[2], ys[3])
        let g = a.group, cg = c / g, mg = cout / g
        let (kh, kw) = (a.kernel[0], a.kernel[1])
        let kg = cg * kh * kw, ohw = oh * ow
        let pointwise = kh == 1 && kw == 1 && a.strides == [1, 1] && a.pads.allSatisfy { $0 == 0 }
        let key = step.inputs[1]
        let wData = constant(1)!.scalars
        let cblas = options.cblas && lang == .c
        // The C kernels choose between an im2col matrix and padded planes read in place.
        let plane = PaddedPlane(a, h: h, w: w)
        let costs = Self.convCosts(cg: cg, mg: mg, kg: kg, ohw: ohw, plane: plane, oh: oh, ow: ow)
        let usePlanes = lang == .c && !cblas && !pointwise && costs.plane < costs.im2col
        let tile = usePlanes ? costs.planeTile : costs.im2colTile
        let mr = lang == .c ? tile.mr : Self.mr
        let mgPad = (mg + mr - 1) / mr * mr
        let bias = biasValues(cout)
        let wp = cblas ? packed("\(key)#plain", { wData })
            : packed("\(key)#rows\(g)x\(mr)", { (0..<g).flatMap { Self.packRows(wData, rows: mg, k: kg, rowOffset: $0 * mg, mr: mr) } })
        let bp = packed("\(step.inputs.count > 2 ? step.inputs[2] : key + "#nobias")#bias\(g)x\(mgPad)") {
            (0..<g).flatMap { gi in (0..<mgPad).map { $0 < mg ? bias[gi * mg + $0] : 0 } }
        }
        if usePlanes {
            planeGemm(a, xs: xs, ys: ys, tile: tile, weights: wp, bias: bp, rowsPadded: mgPad)
            return
        }
        let src = x(0), dst = y()
        let colFloats = pointwise ? 0 : kg * ohw
        // A transposed C tile's ragged last columns go through a padded copy after the columns.
        let padFloats = lang == .c && !cblas && tile.transposed && ohw % tile.nb != 0 ? kg * tile.nb : 0
        let col = colFloats + padFloats > 0 ? scratch(colFloats + padFloats) : ""
        for b in 0..<n {
            for gi in 0..<g {
                let xOff = b * c * h * w + gi * cg * h * w
                if !pointwise {
                    emit(.comment("im2col: \(cg)×\(kh)×\(kw) taps × \(oh)×\(ow) positions"))
                    emit(im2col(src: offset(src, xOff), dst: col, c: cg, h: h, w: w, a: a, oh: oh, ow: ow))
                }
                let bMat = pointwise ? offset(src, xOff) : col
                let out = offset(dst, b * cout * ohw + gi * mg * ohw)
                if cblas {
                    emit(.call("cblas_sgemm", ["CblasRowMajor", "CblasNoTrans", "CblasNoTrans", "\(mg)", "\(ohw)", "\(kg)", lang.f(1),
                                               offset(wp, gi * mg * kg), "\(kg)", bMat, "\(ohw)", lang.f(0), out, "\(ohw)"]))
                    let bv = offset(bp, gi * mgPad)
                    emit(.loop("i", mg, [.loop("j", ohw, [.let_("v", "\(out)[i * \(ohw) + j] + \(bv)[i]"),
                                                         .set("\(out)[i * \(ohw) + j]", act("v"))])]))
                } else {
                    let pad = tile.transposed && lang == .c ? [padFloats > 0 ? offset(col, colFloats) : "(float *)0"] : []
                    emit(.call(lang == .c ? gemmHelper(tile) : helper("gemm"), ["\(mg)", "\(ohw)", "\(kg)", offset(wp, gi * mgPad * kg), bMat, "\(ohw)", out, "\(ohw)",
                                                offset(bp, gi * mgPad)] + clampArgs + pad))
                }
            }
        }
        if !cblas { activationSweep(dst, count: n * cout * ohw, clampDone: true) }
    }

    /// Copies the receptive fields of every output position into a [C·kh·kw][oh·ow] matrix. Small
    /// kernels are unrolled tap by tap, with each tap's valid row and column ranges as literals, so
    /// the inner loops are plain strided copies without bounds checks.
    func im2col(src: String, dst: String, c: Int, h: Int, w: Int, a: ConvAttributes, oh: Int, ow: Int) -> [Stmt] {
        let (kh, kw) = (a.kernel[0], a.kernel[1])
        let (sh, sw) = (a.strides[0], a.strides[1]), (ph, pw) = (a.pads[0], a.pads[1])
        let (dh, dw) = (a.dilations[0], a.dilations[1])
        let ohw = oh * ow
        if kh * kw > 64 {
            let body: [Stmt] = [
                .int("ih", "oh * \(sh) - \(ph) + kh * \(dh)"), .int("iw", "ow * \(sw) - \(pw) + kw * \(dw)"),
                .set("\(dst)[((ci * \(kh) + kh) * \(kw) + kw) * \(ohw) + oh * \(ow) + ow]",
                     "(ih >= 0 && ih < \(h) && iw >= 0 && iw < \(w)) ? \(src)[ci * \(h * w) + ih * \(w) + iw] : \(lang.f(0))"),
            ]
            return [.loop("ci", c, [.loop("kh", kh, [.loop("kw", kw, [.loop("oh", oh, [.loop("ow", ow, body)])])])])]
        }
        /// Outputs o in [lo, hi) read inputs o·s − p + k·d inside [0, n).
        func valid(_ n: Int, _ out: Int, s: Int, p: Int, k: Int, d: Int) -> (Int, Int) {
            let off = k * d - p
            var lo = 0
            while lo < out, lo * s + off < 0 { lo += 1 }
            var hi = out
            while hi > lo, (hi - 1) * s + off >= n { hi -= 1 }
            return (lo, hi)
        }
        var taps: [Stmt] = []
        for i in 0..<kh {
            let (r0, r1) = valid(h, oh, s: sh, p: ph, k: i, d: dh)
            for j in 0..<kw {
                let (c0, c1) = valid(w, ow, s: sw, p: pw, k: j, d: dw)
                let t = i * kw + j
                var stmts: [Stmt] = [.comment("tap (\(i), \(j))")]
                let rowBase = "(ci * \(kh * kw) + \(t)) * \(ohw)"
                if r0 > 0 { stmts.append(.loop("e", r0 * ow, [.set("\(dst)[\(rowBase) + e]", lang.f(0))])) }
                if r1 < oh { stmts.append(.loop("e", (oh - r1) * ow, [.set("\(dst)[\(rowBase) + \(r1 * ow) + e]", lang.f(0))])) }
                var inner: [Stmt] = []
                let outRow = "\(rowBase) + oh * \(ow)"
                if c0 > 0 { inner.append(.loop("e", c0, [.set("\(dst)[\(outRow) + e]", lang.f(0))])) }
                let srcCol = sw == 1 ? "e + \(j * dw - pw)" : "e * \(sw) + \(j * dw - pw)"
                inner.append(.range("e", "\(c0)", "\(c1)", [.set("\(dst)[\(outRow) + e]", "\(src)[ci * \(h * w) + (oh * \(sh) + \(i * dh - ph)) * \(w) + \(srcCol)]")]))
                if c1 < ow { inner.append(.range("e", "\(c1)", "\(ow)", [.set("\(dst)[\(outRow) + e]", lang.f(0))])) }
                if r1 > r0 { stmts.append(.range("oh", "\(r0)", "\(r1)", inner)) }
                taps += stmts
            }
        }
        return [.loop("ci", c, taps)]
    }

    /// Depthwise 2-d convolution (group = C, Cout = C·multiplier), computed directly: each channel
    /// is copied into a zero-bordered plane, then every output is the sum of its taps, unrolled,
    /// over a row (which vectorizes).
    private func depthwise(_ a: ConvAttributes, xs: [Int], ys: [Int]) {
        let (n, c, h, w) = (xs[0], xs[1], xs[2], xs[3])
        let (cout, oh, ow) = (ys[1], ys[2], ys[3])
        let mult = cout / c
        let (kh, kw) = (a.kernel[0], a.kernel[1])
        let (sh, sw) = (a.strides[0], a.strides[1])
        let (dh, dw) = (a.dilations[0], a.dilations[1])
        // With strides, the padded plane is stored as sh·sw phases (PaddedPlane), so every tap of
        // an output row reads consecutive floats of one phase and the loops vectorize as for
        // stride 1.
        let geometry = PaddedPlane(a, h: h, w: w)
        let hq = geometry.hq, wq = geometry.wq
        let usePlane = a.pads.contains { $0 != 0 } || sw > 1 || sh > 1
        let src = x(0), wts = x(1), dst = y()
        let bias = step.inputs.count > 2 ? x(2) : nil
        let taps = kh * kw
        let unroll = taps <= 25
        let rowWidth = usePlane ? wq : w
        let count = (oh - 1) * rowWidth + ow
        // Over a plane, the flat run is rounded up to whole 8-float vectors (the plane gets zeros
        // past its end for the extra reads), so no tap loop ends in a scalar remainder: on a 7×7
        // map that remainder was 7 of the 55 positions and half the multiply-adds' time.
        let runLength = usePlane && unroll ? (count + 7) / 8 * 8 : count
        let maxShift = (0..<kh).flatMap { i in (0..<kw).map { geometry.shift(i, $0) } }.max() ?? 0
        let planeFloats = usePlane && unroll ? max(geometry.floats, runLength + maxShift) : geometry.floats
        let plane = usePlane ? scratch(planeFloats) : ""
        if usePlane { emit(.loop("i", planeFloats, [.set("\(plane)[i]", lang.f(0))])) }
        var body: [Stmt] = [.int("ci", mult == 1 ? "co" : "co / \(mult)")]
        if usePlane {
            // The co of one input channel are consecutive, so its plane is copied once for all
            // `mult` of them (a 1-channel stem of 5 outputs copied its input 5 times).
            let copy = geometry.copy(into: plane, at: nil, from: src, at: "(b * \(c) + ci) * \(h * w)")
            body += mult == 1 ? copy : [.ifThen("co % \(mult) == 0", copy, [])]
        }
        func shift(_ i: Int, _ j: Int) -> Int { geometry.shift(i, j) }
        if unroll { for t in 0..<taps { body.append(.let_("k\(t)", "\(wts)[co * \(taps) + \(t)]")) } }
        if unroll {
            // Output (oh, ow) and tap (i, j) read plane element shift(i, j) + oh·wq + ow, so over
            // the flat index p = oh·wq + ow every tap is one contiguous run. One long loop over p
            // vectorizes fully even for 7-wide rows (the wq − ow columns past each row's end are
            // computed and dropped); a second pass copies the valid columns out.
            let base = usePlane ? plane : "\(src)[(b * \(c) + ci) * \(h * w) + "
            let temp = scratch((usePlane ? planeFloats : 0) + runLength)
            let t = usePlane ? "(\(temp) + \(planeFloats))" : temp
            var flat: [Stmt] = [.var_("acc", bias.map { "\($0)[co]" } ?? lang.f(0))]
            for i in 0..<kh {
                for j in 0..<kw {
                    let off = usePlane ? shift(i, j) : i * dh * w + j * dw
                    let read = usePlane ? "\(base)[p + \(off)]" : "\(base)p + \(off)]"
                    flat.append(fma("acc", "k\(i * kw + j)", read))
                }
            }
            flat.append(.set("\(t)[p]", "acc"))
            body.append(.loop("p", runLength, flat))
            body.append(.loop("oh", oh, [.loop("ow", ow, [
                .set("\(dst)[(b * \(cout) + co) * \(oh * ow) + oh * \(ow) + ow]", act("\(t)[oh * \(rowWidth) + ow]")),
            ])]))
            emit(.loop("b", n, [.loop("co", cout, body)]))
            return
        }
        // Large kernels: tap loops, the phase and offset of each tap computed.
        let read = usePlane
            ? "\(plane)[(((i * \(dh)) % \(sh)) * \(sw) + (j * \(dw)) % \(sw)) * \(hq * wq) + (oh + (i * \(dh)) / \(sh)) * \(wq) + ow + (j * \(dw)) / \(sw)]"
            : "\(src)[(b * \(c) + ci) * \(h * w) + (oh + i * \(dh)) * \(w) + ow + j * \(dw)]"
        let sum: [Stmt] = [
            .var_("acc", bias.map { "\($0)[co]" } ?? lang.f(0)),
            .loop("i", kh, [.loop("j", kw, [fma("acc", "\(wts)[co * \(taps) + i * \(kw) + j]", read)])]),
            .set("\(dst)[(b * \(cout) + co) * \(oh * ow) + oh * \(ow) + ow]", act("acc")),
        ]
        body.append(.loop("oh", oh, [.loop("ow", ow, sum)]))
        emit(.loop("b", n, [.loop("co", cout, body)]))
    }

    /// Any convolution (any rank, runtime weights): a direct loop with bounds checks.
    private func directConv(_ a: ConvAttributes, xs: [Int], ys: [Int], wShape: [Int]) {
        let d = xs.count - 2
        let n = xs[0], c = xs[1], cout = ys[1], g = a.group, cg = c / g, mg = cout / g
        let inSp = Array(xs[2...]), outSp = Array(ys[2...]), k = a.kernel
        let inStr = rowMajorStrides(inSp), outStr = rowMajorStrides(outSp), kStr = rowMajorStrides(k)
        let src = x(0), wts = x(1), dst = y()
        let bias = step.inputs.count > 2 ? x(2) : nil
        let ov = Index.vars(d, prefix: "o"), kv = Index.vars(d, prefix: "k")
        var inner: [Stmt] = []
        var conds: [String] = []
        for i in 0..<d {
            inner.append(.int("i\(i)", "o\(i) * \(a.strides[i]) - \(a.pads[i]) + k\(i) * \(a.dilations[i])"))
            conds.append("i\(i) >= 0 && i\(i) < \(inSp[i])")
        }
        let iv = Index.vars(d, prefix: "i")
        inner.append(.ifThen(conds.joined(separator: " && "), [
            .add("acc", "\(wts)[(co * \(cg) + ci) * \(k.elementCount) + \(Index.linear(kv, kStr))] * \(src)[(b * \(c) + gi * \(cg) + ci) * \(inSp.elementCount) + \(Index.linear(iv, inStr))]"),
        ], []))
        let perOut: [Stmt] = [
            .var_("acc", bias.map { "\($0)[co]" } ?? lang.f(0)),
            .loop("ci", cg, Index.nest(k, prefix: "k", inner)),
            .set("\(dst)[(b * \(cout) + co) * \(outSp.elementCount) + \(Index.linear(ov, outStr))]", act("acc")),
        ]
        emit(.loop("b", n, [.loop("co", cout, [.int("gi", "co / \(mg)")] + Index.nest(outSp, prefix: "o", perOut))]))
    }

    /// `ptr + k` (or `ptr` when k is 0).
    func offset(_ ptr: String, _ k: Int) -> String { k == 0 ? ptr : "(\(ptr) + \(k))" }
}
