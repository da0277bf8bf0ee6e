// KernelsLinear: Gemm and MatMul: constant weights go through the packed panel kernel, the rest
// through plain loops.

import IR

extension KernelBuilder {
    /// op(B) (K×N, alpha folded in) → panels of NR columns, k-major: [N/NR][K][NR], columns past
    /// N zero. The panel kernel reads one panel row per k with unit stride.
    static func packPanels(k: Int, n: Int, alpha: Float = 1, _ element: (Int, Int) -> Float) -> [Float] {
        let blocks = (n + nr - 1) / nr
        var out = [Float](repeating: 0, count: blocks * k * nr)
        for j in 0..<n {
            let blk = j / nr, jj = j % nr
            for p in 0..<k { out[blk * k * nr + p * nr + jj] = alpha * element(p, j) }
        }
        return out
    }

    /// Calls the panel kernel: rows of A (row r, column p at r·ldaM + p·ldaK) times packed panels.
    private func panelCall(m: Int, n: Int, k: Int, a: String, ldaM: Int, ldaK: Int, panels: String, bias: String,
                           out: String, clamp: Bool) {
        let bounds = clamp ? clampArgs : [lang.f(-.infinity), lang.f(.infinity)]
        emit(.call(helper("panel"), ["\(m)", "\(n)", "\(k)", a, "\(ldaM)", "\(ldaK)", panels, bias, out] + bounds))
    }

    func gemm(_ attrs: GemmAttributes) {
        let xs0 = xs(0), ys0 = ys(0)
        let (m, k) = attrs.transA ? (xs0[1], xs0[0]) : (xs0[0], xs0[1])
        let n = ys0[1]
        let (ldaM, ldaK) = attrs.transA ? (1, m) : (k, 1)
        let cShape = step.inputs.count > 2 ? xs(2) : nil
        let c2 = cShape.map { Array(repeating: 1, count: 2 - $0.count) + $0 }
        let cStrides = c2.map { s in zip(rowMajorStrides(s), s).map { $1 == 1 ? 0 : $0 } }
        if let b = constant(1) {
            let bShape = b.shape
            let panels = packed("\(step.inputs[1])#panels\(attrs.transB)\(attrs.alpha.bitPattern)") {
                Self.packPanels(k: k, n: n, alpha: attrs.alpha) { p, j in attrs.transB ? b.scalars[j * bShape[1] + p] : b.scalars[p * bShape[1] + j] }
            }
            // A constant C that varies only along columns folds (times beta) into the kernel's bias.
            let foldC = c2 == nil || (constant(2) != nil && c2![0] == 1)
            let nPad = (n + Self.nr - 1) / Self.nr * Self.nr
            let biasKey = step.inputs.count > 2 ? step.inputs[2] : "#zeros"
            let bias = packed("\(biasKey)#colbias\(foldC ? attrs.beta.bitPattern : 0)\(nPad)") {
                (0..<nPad).map { j in
                    guard foldC, let c = constant(2), j < n else { return 0 }
                    return attrs.beta * c.scalars[j * cStrides![1]]
                }
            }
            panelCall(m: m, n: n, k: k, a: x(0), ldaM: ldaM, ldaK: ldaK, panels: panels, bias: bias, out: y(), clamp: foldC)
            if foldC {
                activationSweep(y(), count: m * n, clampDone: true)
            } else {
                let cIdx = Index.linear(["r", "j"], cStrides!)
                emit(.loop("r", m, [.loop("j", n, [
                    .let_("v", "\(y())[r * \(n) + j] + \(lang.f(attrs.beta)) * \(x(2))[\(cIdx)]"),
                    .set("\(y())[r * \(n) + j]", act("v")),
                ])]))
            }
            return
        }
        let bs = xs(1)
        let bIdx = attrs.transB ? "j * \(bs[1]) + p" : "p * \(bs[1]) + j"
        var perOut: [Stmt] = [
            .var_("acc", lang.f(0)),
            .loop("p", k, [.add("acc", "\(x(0))[r * \(ldaM) + p * \(ldaK)] * \(x(1))[\(bIdx)]")]),
        ]
        if let cs = cStrides {
            perOut.append(.let_("v", "\(lang.f(attrs.alpha)) * acc + \(lang.f(attrs.beta)) * \(x(2))[\(Index.linear(["r", "j"], cs))]"))
        } else {
            perOut.append(.let_("v", "\(lang.f(attrs.alpha)) * acc"))
        }
        perOut.append(.set("\(y())[r * \(n) + j]", act("v")))
        emit(.loop("r", m, [.loop("j", n, perOut)]))
    }

    func matMul() {
        let a = xs(0), b = xs(1)
        let a2 = a.count == 1 ? [1] + a : a
        let b2 = b.count == 1 ? b + [1] : b
        let m = a2[a2.count - 2], k = a2[a2.count - 1], n = b2[b2.count - 1]
        if let bc = constant(1), b2.count == 2 {
            let panels = packed("\(step.inputs[1])#panels") { Self.packPanels(k: k, n: n) { p, j in bc.scalars[p * n + j] } }
            let nPad = (n + Self.nr - 1) / Self.nr * Self.nr
            let bias = packed("#zeros\(nPad)") { [Float](repeating: 0, count: nPad) }
            let rows = a2.dropLast(2).reduce(m, *)
            panelCall(m: rows, n: n, k: k, a: x(0), ldaM: k, ldaK: 1, panels: panels, bias: bias, out: y(), clamp: true)
            activationSweep(y(), count: rows * n, clampDone: true)
            return
        }
        let batchA = Array(a2.dropLast(2)), batchB = Array(b2.dropLast(2))
        let rank = max(batchA.count, batchB.count)
        let pa = Array(repeating: 1, count: rank - batchA.count) + batchA
        let pb = Array(repeating: 1, count: rank - batchB.count) + batchB
        let batch = zip(pa, pb).map { max($0, $1) }
        let sa = zip(rowMajorStrides(pa), pa).map { $1 == 1 ? 0 : $0 * m * k }
        let sb = zip(rowMajorStrides(pb), pb).map { $1 == 1 ? 0 : $0 * k * n }
        let sy = rowMajorStrides(batch).map { $0 * m * n }
        let bv = Index.vars(rank, prefix: "t")
        let body: [Stmt] = [
            .int("ao", Index.linear(bv, sa)), .int("bo", Index.linear(bv, sb)), .int("yo", Index.linear(bv, sy)),
            .loop("r", m, [.loop("j", n, [.set("\(y())[yo + r * \(n) + j]", lang.f(0))])]),
            .loop("r", m, [.loop("p", k, [
                .let_("av", "\(x(0))[ao + r * \(k) + p]"),
                .loop("j", n, [.add("\(y())[yo + r * \(n) + j]", "av * \(x(1))[bo + p * \(n) + j]")]),
            ])]),
        ]
        emit(Index.nest(batch, prefix: "t", body))
        activationSweep(y(), count: batch.elementCount * m * n)
    }
}
