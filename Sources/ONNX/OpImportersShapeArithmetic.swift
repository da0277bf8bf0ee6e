// OpImportersShapeArithmetic: Constant, Shape, Size, ConstantOfShape, Cast, Range, Equal, Where — evaluated at import.

import IR

extension OpImporters {
    static let shapeArithmetic: [String: OpImporter] = [
        "Constant": importConstant,
        "Shape": importShape,
        "Size": { ctx, n in
            let dims = try ctx.dims(try n.requiredInput(0, "data"))
            let known = try ConstTensor.checkedShapeProduct(dims.compactMap(\.value), what: "Size input")
            let symbolic = dims.contains { $0.value == nil }
            return [.constant(ConstTensor(shape: [], dataType: .int64, storage: .ints([symbolic ? 0 : Int64(known)]),
                                          symbols: symbolic ? [0: .unknown] : [:]))]
        },
        "ConstantOfShape": importConstantOfShape,
        "Cast": importCast,
        "Range": importRange,
        "Equal": { ctx, n in
            let inputs = [try n.requiredInput(0, "A"), try n.requiredInput(1, "B")]
            guard let c = try constants(ctx, inputs) else {
                throw ImportFailure("Equal is supported only on import-time constants (shape arithmetic)")
            }
            return [.constant(try ConstantFolding.binary(.equal, c[0], c[1]))]
        },
        "Where": { ctx, n in
            let inputs = [try n.requiredInput(0, "condition"), try n.requiredInput(1, "X"), try n.requiredInput(2, "Y")]
            guard let c = try constants(ctx, inputs) else {
                throw ImportFailure("Where is supported only on import-time constants (shape arithmetic)")
            }
            return [.constant(try ConstantFolding.select(c[0], c[1], c[2]))]
        },
    ]

    /// Constant: exactly one of value, value_float(s), value_int(s); sparse and string values
    /// are not supported.
    static func importConstant(_ ctx: inout ImportContext, _ n: ImportNode) throws -> [ImportValue] {
        let present = ["value", "value_float", "value_floats", "value_int", "value_ints",
                       "sparse_value", "value_string", "value_strings"].filter { n.has($0) }
        guard present.count == 1 else {
            throw ImportFailure(present.isEmpty ? "Constant sets no value attribute" : "Constant sets several value attributes: \(present)")
        }
        let t: ConstTensor
        switch present[0] {
        case "value":
            guard let v = try n.tensor("value") else { throw ImportFailure("Constant value is missing") }
            t = try ConstTensor(v)
        case "value_float": t = ConstTensor(floats: [try n.float("value_float") ?? 0], shape: [])
        case "value_floats": t = ConstTensor(floats: try n.floats("value_floats") ?? [])
        case "value_int": t = ConstTensor(int64s: [Int64(try n.int("value_int") ?? 0)], shape: [])
        case "value_ints": t = ConstTensor(int64s: (try n.ints("value_ints") ?? []).map { Int64($0) })
        default: throw ImportFailure("Constant attribute '\(present[0])' is not supported (s2dc reads dense numeric tensors)")
        }
        return [.constant(t)]
    }

    /// Shape, with start/end (opset 15) clamped to the rank. A symbolic dimension yields a
    /// symbolic element, which Gather/Concat/Reshape carry to where it is used.
    static func importShape(_ ctx: inout ImportContext, _ n: ImportNode) throws -> [ImportValue] {
        let dims = try ctx.dims(try n.requiredInput(0, "data"))
        let rank = dims.count
        func clamp(_ v: Int) -> Int { min(max(resolvedAxis(v, rank: rank), 0), rank) }
        let start = clamp(try n.int("start", default: 0))
        let end = max(clamp(try n.int("end", default: rank)), start)
        let picked = Array(dims[start..<end])
        var symbols: [Int: SymbolicElement] = [:]
        for (k, d) in picked.enumerated() { if case .symbol(let s) = d { symbols[k] = .dim(s) } }
        return [.constant(ConstTensor(shape: [picked.count], dataType: .int64,
                                      storage: .ints(picked.map { Int64($0.value ?? 0) }), symbols: symbols))]
    }

    static func importConstantOfShape(_ ctx: inout ImportContext, _ n: ImportNode) throws -> [ImportValue] {
        let shapeTensor = try ctx.requireConstant(try n.requiredInput(0, "input"), "ConstantOfShape shape")
        guard shapeTensor.rank == 1 else { throw ImportFailure("ConstantOfShape input must be 1-D, got shape \(shapeTensor.shape)") }
        let shape = try shapeTensor.ints("ConstantOfShape shape")
        let count = try ConstTensor.checkedCount(shape, what: "ConstantOfShape output")
        let fill = try n.tensor("value").map { try ConstTensor($0) } ?? ConstTensor(floats: [0], shape: [1])
        guard fill.count == 1 else { throw ImportFailure("ConstantOfShape value must hold one element, got shape \(fill.shape)") }
        let storage: ConstTensor.Storage
        switch fill.storage {
        case .floats(let f): storage = .floats(Array(repeating: f[0], count: count))
        case .ints(let i): storage = .ints(Array(repeating: i[0], count: count))
        }
        return [.constant(ConstTensor(shape: shape, dataType: fill.dataType, storage: storage))]
    }

    /// Cast folds on constants; on runtime data only casts to a float type are accepted, and they
    /// are the identity (IR values are float32).
    static func importCast(_ ctx: inout ImportContext, _ n: ImportNode) throws -> [ImportValue] {
        guard let code = try n.int("to"), let code32 = Int32(exactly: code) else { throw ImportFailure("Cast needs attribute 'to'") }
        let to = ONNXDataType(code: code32)
        let x = try n.requiredInput(0, "input")
        switch try ctx.value(x) {
        case .constant(let c):
            return [.constant(try ConstantFolding.cast(c, to: to))]
        case .shapeOnly(let name, let dims, _):
            return [.shapeOnly(name: name, dims: dims, dataType: to)]
        case .ir(let name):
            guard to == .float || to == .float16 || to == .double else {
                throw ImportFailure("Cast of runtime data to \(to) is not supported: IR values are float32")
            }
            return [.ir(name)]
        }
    }

    /// Range of scalars start, limit, delta: max(ceil((limit - start) / delta), 0) elements.
    static func importRange(_ ctx: inout ImportContext, _ n: ImportNode) throws -> [ImportValue] {
        let args = try ["start", "limit", "delta"].enumerated().map { i, what in
            try ctx.requireConstant(try n.requiredInput(i, what), "Range \(what)")
        }
        guard args.allSatisfy({ $0.count == 1 }) else { throw ImportFailure("Range inputs must be scalars") }
        guard args.allSatisfy({ $0.isFloat == args[0].isFloat }) else { throw ImportFailure("Range inputs differ in type") }
        if args[0].isFloat {
            let (s, l, d) = (try args[0].scalarFloat("start"), try args[1].scalarFloat("limit"), try args[2].scalarFloat("delta"))
            guard d != 0, s.isFinite, l.isFinite, d.isFinite else { throw ImportFailure("Range(\(s), \(l), \(d)) is undefined") }
            let steps = ((Double(l) - Double(s)) / Double(d)).rounded(.up)
            guard !steps.isNaN, steps <= Double(ConstTensor.maxElements) else {
                throw ImportFailure("Range(\(s), \(l), \(d)) has more than \(ConstTensor.maxElements) elements")
            }
            let count = steps > 0 ? Int(steps) : 0
            let values = (0..<count).map { s + Float($0) * d }
            return [.constant(ConstTensor(shape: [count], dataType: args[0].dataType, storage: .floats(values)))]
        }
        let (s, l, d) = (try args[0].int64s("start")[0], try args[1].int64s("limit")[0], try args[2].int64s("delta")[0])
        guard d != 0 else { throw ImportFailure("Range delta must not be 0") }
        // Count in Double first: limit - start can overflow Int64, and a huge count fails anyway.
        let steps = ((Double(l) - Double(s)) / Double(d)).rounded(.up)
        guard steps <= Double(ConstTensor.maxElements) + 1 else {
            throw ImportFailure("Range(\(s), \(l), \(d)) has more than \(ConstTensor.maxElements) elements")
        }
        var values: [Int64] = []
        var v = s
        while d > 0 ? v < l : v > l {
            guard values.count < ConstTensor.maxElements else {
                throw ImportFailure("Range(\(s), \(l), \(d)) has more than \(ConstTensor.maxElements) elements")
            }
            values.append(v)
            let (next, overflow) = v.addingReportingOverflow(d)
            if overflow { break }
            v = next
        }
        return [.constant(ConstTensor(shape: [values.count], dataType: args[0].dataType, storage: .ints(values)))]
    }
}
