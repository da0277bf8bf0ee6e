// KernelsPool: max and average pooling (any rank), global average pool, reduce mean, softmax, LRN.

import IR

extension KernelBuilder {
    func pool(_ a: PoolAttributes, max isMax: Bool) {
        let s = xs(0), o = ys()
        let d = s.count - 2
        let planes = s[0] * s[1]
        let inSp = Array(s[2...]), outSp = Array(o[2...])
        let inStr = rowMajorStrides(inSp), outStr = rowMajorStrides(outSp)
        let ov = Index.vars(d, prefix: "o"), iv = Index.vars(d, prefix: "i")
        var inner: [Stmt] = []
        var inside: [String] = [], inPadded: [String] = []
        for i in 0..<d {
            inner.append(.int("i\(i)", "o\(i) * \(a.strides[i]) - \(a.pads[i]) + k\(i) * \(a.dilations[i])"))
            inside.append("i\(i) >= 0 && i\(i) < \(inSp[i])")
            inPadded.append("i\(i) < \(inSp[i] + a.pads[d + i])")
        }
        let value = "\(x(0))[pl * \(inSp.elementCount) + \(Index.linear(iv, inStr))]"
        var perOut: [Stmt]
        let outIdx = "\(y())[pl * \(outSp.elementCount) + \(Index.linear(ov, outStr))]"
        if isMax {
            inner.append(.ifThen(inside.joined(separator: " && "), [.let_("v", value), .set("m", "(v > m || m != m) ? v : m")], []))
            perOut = [.var_("m", lang.f(-.infinity))] + Index.nest(a.kernel, prefix: "k", inner) + [.set(outIdx, act("m"))]
        } else {
            // ONNX: count_include_pad counts the pad cells but not the cells beyond them that ceil
            // mode adds; otherwise only real cells count.
            inner.append(.ifThen(inside.joined(separator: " && "), [.add("acc", value)] + (a.countIncludePad ? [] : [.add("cnt", lang.f(1))]), []))
            if a.countIncludePad {
                inner.append(.ifThen(inPadded.joined(separator: " && "), [.add("cntp", lang.f(1))], []))
            }
            let divisor = a.countIncludePad ? "cntp" : "cnt"
            perOut = [.var_("acc", lang.f(0)), .var_(divisor, lang.f(0))]
            perOut += Index.nest(a.kernel, prefix: "k", inner)
            perOut += [.let_("v", "\(divisor) > \(lang.f(0)) ? acc / \(divisor) : \(lang.f(0))"), .set(outIdx, act("v"))]
            if !a.countIncludePad { perOut.insert(.comment("cells outside the input do not count"), at: 0) }
        }
        emit(.loop("pl", planes, Index.nest(outSp, prefix: "o", perOut)))
    }

    func globalAveragePool() {
        let s = xs(0)
        let planes = s[0] * s[1], size = s.dropFirst(2).reduce(1, *)
        // Eight planes at a time, each summed in its own order by its own accumulator (the same
        // floats as one plane at a time), so eight addition chains overlap instead of one: a
        // staged model's exit pools 5–64 planes of 7×7, and one chain of dependent adds per plane
        // took about 1.5 % of its stage 1 (51 planes: 700 → 390 ns).
        let lanes = 8, blocks = size > 1 ? planes / lanes : 0
        if blocks > 0 {
            var body: [Stmt] = (0..<lanes).map { .var_("a\($0)", lang.f(0)) }
            body.append(.loop("i", size, (0..<lanes).map { .add("a\($0)", "\(x(0))[(pb * \(lanes) + \($0)) * \(size) + i]") }))
            for l in 0..<lanes {
                body += [.let_("v\(l)", "a\(l) / \(lang.f(Float(size)))"), .set("\(y())[pb * \(lanes) + \(l)]", act("v\(l)"))]
            }
            emit(.loop("pb", blocks, body))
            guard planes > blocks * lanes else { return }
        }
        let rest: [Stmt] = [
            .var_("acc", lang.f(0)),
            .loop("i", size, [.add("acc", "\(x(0))[pl * \(size) + i]")]),
            .let_("v", "acc / \(lang.f(Float(size)))"),
            .set("\(y())[pl]", act("v")),
        ]
        emit(blocks == 0 ? .loop("pl", planes, rest) : .range("pl", "\(blocks * lanes)", "\(planes)", rest))
    }

    /// Mean over `axes`: accumulate every input element into its output cell, then divide.
    func reduceMean(axes: [Int]) {
        let s = xs(0)
        let norm = Set((axes.isEmpty ? Array(s.indices) : axes).map { $0 < 0 ? $0 + s.count : $0 })
        let outShape = s.enumerated().map { norm.contains($0.offset) ? 1 : $0.element }
        let outStr = zip(rowMajorStrides(outShape), outShape).map { $1 == 1 ? 0 : $0 }
        let total = outShape.elementCount
        let count = s.enumerated().filter { norm.contains($0.offset) }.map(\.element).reduce(1, *)
        let vars = Index.vars(s.count, prefix: "i")
        emit(.loop("i", total, [.set("\(y())[i]", lang.f(0))]))
        emit(Index.nest(s, prefix: "i", [.add("\(y())[\(Index.linear(vars, outStr))]", "\(x(0))[\(Index.linear(vars, rowMajorStrides(s)))]")]))
        let inv = count == 0 ? Float.nan : 1 / Float(count)
        emit(.loop("i", total, [.let_("v", "\(y())[i] * \(lang.f(inv))"), .set("\(y())[i]", act("v"))]))
    }

    func softmax(axis: Int) {
        let s = xs(0)
        let a = resolvedAxis(axis, rank: s.count)
        let outer = s[..<a].reduce(1, *), n = s[a], inner = s[(a + 1)...].reduce(1, *)
        let at = "(o * \(n) + c) * \(inner) + i"
        emit(.loop("o", outer, [.loop("i", inner, [
            .var_("m", lang.f(-.infinity)),
            .loop("c", n, [.let_("v", "\(x(0))[\(at)]"), .set("m", "v > m ? v : m")]),
            .var_("sum", lang.f(0)),
            .loop("c", n, [.let_("e", lang.exp("\(x(0))[\(at)] - m")), .set("\(y())[\(at)]", "e"), .add("sum", "e")]),
            .loop("c", n, [.set("\(y())[\(at)]", "\(y())[\(at)] / sum")]),
        ])]))
    }

    /// ONNX LRN: y = x / (bias + alpha/size · Σ x²)^beta over channels c − ⌊(size−1)/2⌋ … c + ⌈(size−1)/2⌉.
    func lrn(size: Int, alpha: Float, beta: Float, bias: Float) {
        let s = xs(0)
        let n = s[0], c = s[1], inner = s.dropFirst(2).reduce(1, *)
        let lo = (size - 1) / 2, hi = size - 1 - lo
        let at = "(b * \(c) + ch) * \(inner) + i"
        emit(.loop("b", n, [.loop("ch", c, [.loop("i", inner, [
            .var_("sq", lang.f(0)),
            .range("cc", "(ch - \(lo) < 0 ? 0 : ch - \(lo))", "(ch + \(hi + 1) > \(c) ? \(c) : ch + \(hi + 1))", [
                .let_("v", "\(x(0))[(b * \(c) + cc) * \(inner) + i]"), .add("sq", "v * v"),
            ]),
            .let_("v", "\(x(0))[\(at)] / \(lang.pow("\(lang.f(bias)) + \(lang.f(alpha / Float(size))) * sq", lang.f(beta)))"),
            .set("\(y())[\(at)]", act("v")),
        ])])]))
    }
}
