// ConstantFolding: the import-time evaluator for shape arithmetic and other ops on constants.

import IR

/// Evaluates ONNX ops on import-time constants with ONNX semantics: integer arithmetic is checked
/// for overflow and the element type's range instead of wrapping, and every result size is capped.
enum ConstantFolding {
    // MARK: Index helpers

    /// Flat source indices of the row-major product of per-axis coordinates: element (j0, j1, …)
    /// of the result is Σ perAxis[k][jk] · strides[k].
    static func productIndices(_ perAxis: [[Int]], strides: [Int]) -> [Int] {
        var current = [0]
        for (coords, s) in zip(perAxis, strides) {
            var next: [Int] = []
            next.reserveCapacity(current.count * coords.count)
            for base in current { for c in coords { next.append(base + c * s) } }
            current = next
        }
        return current
    }

    /// NumPy broadcasting of shapes.
    static func broadcastShape(_ shapes: [[Int]]) throws -> [Int] {
        let rank = shapes.map(\.count).max() ?? 0
        var out = [Int](repeating: 1, count: rank)
        for s in shapes {
            let padded = [Int](repeating: 1, count: rank - s.count) + s
            for i in 0..<rank where padded[i] != 1 {
                guard out[i] == 1 || out[i] == padded[i] else {
                    throw ImportFailure("shapes \(shapes.map { "\($0)" }.joined(separator: " and ")) do not broadcast")
                }
                out[i] = padded[i]
            }
        }
        _ = try ConstTensor.checkedCount(out, what: "broadcast result")
        return out
    }

    /// For each element of `outShape`, the flat index of the element of `shape` it broadcasts from.
    static func broadcastIndices(from shape: [Int], to outShape: [Int]) -> [Int] {
        let padded = [Int](repeating: 1, count: outShape.count - shape.count) + shape
        let st = rowMajorStrides(padded)
        let perAxis = zip(padded, outShape).map { d, o in d == 1 ? [Int](repeating: 0, count: o) : Array(0..<o) }
        return productIndices(perAxis, strides: st)
    }

    // MARK: Data movement

    static func transpose(_ t: ConstTensor, perm: [Int]) throws -> ConstTensor {
        guard perm.count == t.rank, Set(perm) == Set(0..<t.rank) else {
            throw ImportFailure("perm \(perm) is not a permutation of 0..<\(t.rank)")
        }
        let st = rowMajorStrides(t.shape)
        let outShape = perm.map { t.shape[$0] }
        let idx = productIndices(perm.map { Array(0..<t.shape[$0]) }, strides: perm.map { st[$0] })
        return t.gathered(idx, shape: outShape)
    }

    /// ONNX Slice on a constant; `axes` already normalized, steps nonzero.
    static func slice(_ t: ConstTensor, starts: [Int], ends: [Int], axes: [Int], steps: [Int]) -> ConstTensor {
        var perAxis = t.shape.map { Array(0..<$0) }
        for i in axes.indices {
            let a = axes[i], n = t.shape[a], step = steps[i]
            let count = ShapeInference.sliceCount(n: n, start: starts[i], end: ends[i], step: step)
            var s = starts[i] < 0 ? starts[i] + n : starts[i]
            // As ShapeInference.sliceCount: a negative step clamps the start to [0, n-1].
            s = step > 0 ? min(max(s, 0), n) : min(max(s, 0), n - 1)
            perAxis[a] = (0..<count).map { s + $0 * step }
        }
        let idx = productIndices(perAxis, strides: rowMajorStrides(t.shape))
        return t.gathered(idx, shape: perAxis.map(\.count))
    }

    /// ONNX Gather along `axis` with already normalized, in-range indices.
    static func gather(_ t: ConstTensor, indices: [Int], indicesShape: [Int], axis: Int) throws -> ConstTensor {
        var outShape = Array(t.shape[..<axis])
        outShape += indicesShape
        outShape += t.shape[(axis + 1)...]
        _ = try ConstTensor.checkedCount(outShape, what: "Gather result")
        var perAxis = t.shape.map { Array(0..<$0) }
        perAxis[axis] = indices
        let idx = productIndices(perAxis, strides: rowMajorStrides(t.shape))
        return t.gathered(idx, shape: outShape)
    }

    /// Concatenation along a normalized axis; all inputs share rank, kind and the other dims.
    static func concat(_ ts: [ConstTensor], axis: Int) throws -> ConstTensor {
        guard let first = ts.first else { throw ImportFailure("concat of no inputs") }
        for t in ts {
            guard t.rank == first.rank else { throw ImportFailure("concat inputs differ in rank: \(first.shape) and \(t.shape)") }
            guard t.isFloat == first.isFloat else { throw ImportFailure("concat inputs differ in type: \(first.dataType) and \(t.dataType)") }
            for i in 0..<t.rank where i != axis && t.shape[i] != first.shape[i] {
                throw ImportFailure("concat inputs \(first.shape) and \(t.shape) differ outside axis \(axis)")
            }
        }
        var outShape = first.shape
        outShape[axis] = ts.reduce(0) { $0 + $1.shape[axis] }
        _ = try ConstTensor.checkedCount(outShape, what: "concat result")
        // Element (outer, k, inner) comes from input j at (outer, k - offset_j, inner).
        let outer = first.shape[..<axis].reduce(1, *)
        var floats: [Float] = [], ints: [Int64] = []
        var syms: [Int: SymbolicElement] = [:]
        var k = 0
        for o in 0..<outer {
            for t in ts {
                let block = t.shape[axis...].reduce(1, *)
                for e in (o * block)..<((o + 1) * block) {
                    switch t.storage {
                    case .floats(let f): floats.append(f[e])
                    case .ints(let i): ints.append(i[e])
                    }
                    if let s = t.symbol(at: e) { syms[k] = s }
                    k += 1
                }
            }
        }
        let storage: ConstTensor.Storage = first.isFloat ? .floats(floats) : .ints(ints)
        return ConstTensor(shape: outShape, dataType: first.dataType, storage: storage, symbols: syms)
    }

    static func expand(_ t: ConstTensor, to shape: [Int]) throws -> ConstTensor {
        let outShape = try broadcastShape([t.shape, shape])
        return t.gathered(broadcastIndices(from: t.shape, to: outShape), shape: outShape)
    }

    // MARK: Arithmetic

    enum Binary: String {
        case add = "Add", sub = "Sub", mul = "Mul", div = "Div", equal = "Equal"
    }

    /// Elementwise binary op with broadcasting.
    static func binary(_ op: Binary, _ a: ConstTensor, _ b: ConstTensor) throws -> ConstTensor {
        guard a.isFloat == b.isFloat else {
            throw ImportFailure("\(op.rawValue) inputs differ in type: \(a.dataType) and \(b.dataType)")
        }
        let outShape = try broadcastShape([a.shape, b.shape])
        let ia = broadcastIndices(from: a.shape, to: outShape)
        let ib = broadcastIndices(from: b.shape, to: outShape)
        var syms: [Int: SymbolicElement] = [:]
        let storage: ConstTensor.Storage
        switch (a.storage, b.storage) {
        case (.floats(let x), .floats(let y)):
            if op == .equal {
                storage = .ints(zip(ia, ib).map { x[$0] == y[$1] ? 1 : 0 })
            } else {
                storage = .floats(zip(ia, ib).map { floatOp(op, x[$0], y[$1]) })
            }
        case (.ints(let x), .ints(let y)):
            var out = [Int64]()
            out.reserveCapacity(ia.count)
            for k in ia.indices {
                let sa = a.symbol(at: ia[k]), sb = b.symbol(at: ib[k])
                if sa != nil || sb != nil {
                    let (value, sym) = symbolicOp(op, x[ia[k]], sa, y[ib[k]], sb)
                    out.append(value)
                    if let sym { syms[k] = sym }
                } else {
                    out.append(try intOp(op, x[ia[k]], y[ib[k]], type: a.dataType))
                }
            }
            storage = .ints(out)
        default:
            throw ImportFailure("\(op.rawValue) inputs differ in type: \(a.dataType) and \(b.dataType)")
        }
        // Float operands never carry symbols unless cast from a shape; keep those as unknown.
        if a.isFloat {
            for k in ia.indices where a.symbol(at: ia[k]) != nil || b.symbol(at: ib[k]) != nil { syms[k] = .unknown }
        }
        let type: ONNXDataType = op == .equal ? .bool : a.dataType
        return ConstTensor(shape: outShape, dataType: type, storage: storage, symbols: syms)
    }

    private static func floatOp(_ op: Binary, _ x: Float, _ y: Float) -> Float {
        switch op {
        case .add: return x + y
        case .sub: return x - y
        case .mul: return x * y
        case .div: return x / y
        case .equal: return x == y ? 1 : 0
        }
    }

    private static func intOp(_ op: Binary, _ x: Int64, _ y: Int64, type: ONNXDataType) throws -> Int64 {
        let r: (partialValue: Int64, overflow: Bool)
        switch op {
        case .add: r = x.addingReportingOverflow(y)
        case .sub: r = x.subtractingReportingOverflow(y)
        case .mul: r = x.multipliedReportingOverflow(by: y)
        case .div:
            guard y != 0 else { throw ImportFailure("integer division by zero") }
            r = x.dividedReportingOverflow(by: y)
        case .equal: return x == y ? 1 : 0
        }
        guard !r.overflow else { throw ImportFailure("integer overflow in \(op.rawValue)(\(x), \(y))") }
        try checkRange(r.partialValue, type: type, what: "\(op.rawValue)(\(x), \(y))")
        return r.partialValue
    }

    /// The result of an op on which at least one operand is symbolic: known when the algebra allows
    /// (batch + 0, batch · 1, batch == -1 is false since a batch is at least 1), else unknown.
    private static func symbolicOp(_ op: Binary, _ x: Int64, _ sx: SymbolicElement?, _ y: Int64, _ sy: SymbolicElement?) -> (Int64, SymbolicElement?) {
        switch op {
        case .add:
            if sy == nil, y == 0 { return (0, sx) }
            if sx == nil, x == 0 { return (0, sy) }
        case .sub:
            if sy == nil, y == 0 { return (0, sx) }
        case .mul:
            if sy == nil, y == 1 { return (0, sx) }
            if sx == nil, x == 1 { return (0, sy) }
            if (sy == nil && y == 0) || (sx == nil && x == 0) { return (0, nil) }
        case .div:
            if sy == nil, y == 1 { return (0, sx) }
        case .equal:
            if let sx, let sy, case .dim(let p) = sx, case .dim(let q) = sy, p == q { return (1, nil) }
            if case .dim = sx, sy == nil, y < 1 { return (0, nil) }
            if case .dim = sy, sx == nil, x < 1 { return (0, nil) }
        }
        return (0, .unknown)
    }

    /// Fails when `v` is outside the range of the integer type `type`.
    static func checkRange(_ v: Int64, type: ONNXDataType, what: String) throws {
        let range: ClosedRange<Int64>
        switch type {
        case .int8: range = -128...127
        case .uint8: range = 0...255
        case .int16: range = -32768...32767
        case .uint16: range = 0...65535
        case .int32: range = Int64(Int32.min)...Int64(Int32.max)
        case .uint32: range = 0...Int64(UInt32.max)
        case .bool: range = 0...1
        default: return
        }
        guard range.contains(v) else { throw ImportFailure("\(what) = \(v) is out of range for \(type)") }
    }

    /// ONNX Where: elements of x where the condition is true, else of y, with broadcasting.
    static func select(_ cond: ConstTensor, _ x: ConstTensor, _ y: ConstTensor) throws -> ConstTensor {
        guard x.isFloat == y.isFloat else { throw ImportFailure("Where inputs differ in type: \(x.dataType) and \(y.dataType)") }
        guard case .ints(let c) = cond.storage else { throw ImportFailure("Where condition must be bool, got \(cond.dataType)") }
        let outShape = try broadcastShape([cond.shape, x.shape, y.shape])
        let ic = broadcastIndices(from: cond.shape, to: outShape)
        let ix = broadcastIndices(from: x.shape, to: outShape)
        let iy = broadcastIndices(from: y.shape, to: outShape)
        var syms: [Int: SymbolicElement] = [:]
        var pick: [(Bool, Int)] = []
        pick.reserveCapacity(ic.count)
        for k in ic.indices {
            if cond.symbol(at: ic[k]) != nil {
                syms[k] = .unknown
                pick.append((true, ix[k]))
                continue
            }
            let fromX = c[ic[k]] != 0
            let src = fromX ? ix[k] : iy[k]
            pick.append((fromX, src))
            if let s = (fromX ? x : y).symbol(at: src) { syms[k] = s }
        }
        let storage: ConstTensor.Storage
        switch (x.storage, y.storage) {
        case (.floats(let fx), .floats(let fy)): storage = .floats(pick.map { $0.0 ? fx[$0.1] : fy[$0.1] })
        case (.ints(let nx), .ints(let ny)): storage = .ints(pick.map { $0.0 ? nx[$0.1] : ny[$0.1] })
        default: throw ImportFailure("Where inputs differ in type: \(x.dataType) and \(y.dataType)")
        }
        return ConstTensor(shape: outShape, dataType: x.dataType, storage: storage, symbols: syms)
    }

    /// ONNX Cast to `to`, failing (rather than wrapping) on values the target cannot hold.
    static func cast(_ t: ConstTensor, to: ONNXDataType) throws -> ConstTensor {
        switch to {
        case .string, .other: throw ImportFailure("Cast to \(to) is not supported")
        default: break
        }
        var out = t
        out.dataType = to
        if to.isFloatingPoint {
            if case .ints(let i) = t.storage { out.storage = .floats(i.map { Float($0) }) }
            return out
        }
        switch t.storage {
        case .floats(let f):
            var ints: [Int64] = []
            ints.reserveCapacity(f.count)
            for v in f {
                if to == .bool { ints.append(v != 0 ? 1 : 0); continue }
                guard v.isFinite, let i = Int64(exactly: v.rounded(.towardZero)) else {
                    throw ImportFailure("Cast of \(v) to \(to) is undefined")
                }
                try checkRange(i, type: to, what: "Cast of \(v)")
                ints.append(i)
            }
            out.storage = .ints(ints)
        case .ints(let i):
            if to == .bool {
                out.storage = .ints(i.map { $0 != 0 ? 1 : 0 })
            } else {
                for v in i { try checkRange(v, type: to, what: "Cast of \(v)") }
            }
        }
        return out
    }
}
