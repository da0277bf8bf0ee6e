// KernelsData: data movement: transpose, concat, split, slice, pad.

import IR

extension KernelBuilder {
    func transpose(perm: [Int]) {
        let s = xs(0), o = ys()
        let inStr = rowMajorStrides(s)
        let vars = Index.vars(o.count, prefix: "i")
        emit(Index.nest(o, prefix: "i", [
            .set("\(y())[\(Index.linear(vars, rowMajorStrides(o)))]", "\(x(0))[\(Index.linear(vars, perm.map { inStr[$0] }))]"),
        ]))
    }

    func concat(axis: Int) {
        let o = ys()
        let a = resolvedAxis(axis, rank: o.count)
        let outer = o[..<a].reduce(1, *), inner = o[(a + 1)...].reduce(1, *)
        var start = 0
        for i in step.inputs.indices {
            let len = xs(i)[a] * inner
            if len > 0 {
                emit(.loop("o", outer, [.loop("e", len, [
                    .set("\(y())[o * \(o[a] * inner) + \(start * inner) + e]", "\(x(i))[o * \(len) + e]"),
                ])]))
            }
            start += xs(i)[a]
        }
    }

    func split(axis: Int) {
        let s = xs(0)
        let a = resolvedAxis(axis, rank: s.count)
        let outer = s[..<a].reduce(1, *), inner = s[(a + 1)...].reduce(1, *)
        var start = 0
        for j in step.outputs.indices {
            let len = ys(j)[a] * inner
            if len > 0 {
                emit(.loop("o", outer, [.loop("e", len, [
                    .set("\(y(j))[o * \(len) + e]", "\(x(0))[o * \(s[a] * inner) + \(start * inner) + e]"),
                ])]))
            }
            start += ys(j)[a]
        }
    }

    func slice(starts: [Int], ends: [Int], axes: [Int], steps: [Int]) {
        let s = xs(0), o = ys()
        var first = Array(repeating: 0, count: s.count), stride = Array(repeating: 1, count: s.count)
        for (k, axis) in axes.enumerated() {
            let a = resolvedAxis(axis, rank: s.count)
            let n = s[a]
            var st = starts[k] < 0 ? starts[k] + n : starts[k]
            // The same clamping as shape inference (ONNX Slice).
            st = steps[k] > 0 ? min(max(st, 0), n) : min(max(st, 0), n - 1)
            first[a] = st
            stride[a] = steps[k]
        }
        let inStr = rowMajorStrides(s)
        let vars = Index.vars(o.count, prefix: "i")
        let base = zip(first, inStr).map { $0 * $1 }.reduce(0, +)
        emit(Index.nest(o, prefix: "i", [
            .set("\(y())[\(Index.linear(vars, rowMajorStrides(o)))]", "\(x(0))[\(Index.linear(vars, zip(stride, inStr).map { $0 * $1 }, base: base))]"),
        ]))
    }

    func pad(pads: [Int], mode: PadMode, value: Float) {
        let s = xs(0), o = ys()
        let r = s.count
        if s.elementCount == 0 {
            // Nothing to reflect or repeat: every cell is the constant (ONNX leaves other modes undefined).
            emit(.loop("i", o.elementCount, [.set("\(y())[i]", lang.f(value))]))
            return
        }
        var body: [Stmt] = []
        var inside: [String] = []
        for d in 0..<r {
            let n = s[d], b = pads[d]
            let raw = "o\(d) - \(b)"
            switch mode {
            case .constant:
                body.append(.int("i\(d)", raw))
                inside.append("i\(d) >= 0 && i\(d) < \(n)")
            case .edge:
                body.append(.int("u\(d)", raw))
                body.append(.int("i\(d)", "u\(d) < 0 ? 0 : (u\(d) >= \(n) ? \(n - 1) : u\(d))"))
            case .reflect:
                // Mirror without repeating the edge, with period 2(n−1); n = 1 always reads cell 0.
                let period = max(2 * (n - 1), 1)
                body.append(.int("u\(d)", "((\(raw)) % \(period) + \(period)) % \(period)"))
                body.append(.int("i\(d)", n == 1 ? "0" : "u\(d) < \(n) ? u\(d) : \(period) - u\(d)"))
            case .wrap:
                body.append(.int("i\(d)", "((\(raw)) % \(n) + \(n)) % \(n)"))
            }
        }
        let iv = Index.vars(r, prefix: "i"), ov = Index.vars(r, prefix: "o")
        let src = "\(x(0))[\(Index.linear(iv, rowMajorStrides(s)))]"
        let dst = "\(y())[\(Index.linear(ov, rowMajorStrides(o)))]"
        if mode == .constant {
            body.append(.set(dst, "(\(inside.joined(separator: " && "))) ? \(src) : \(lang.f(value))"))
        } else {
            body.append(.set(dst, src))
        }
        emit(Index.nest(o, prefix: "o", body))
    }
}
