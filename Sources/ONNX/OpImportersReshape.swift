// OpImportersReshape: Reshape, Flatten, Squeeze, Unsqueeze and Transpose (folded on constants, reshapes at run time).

import IR

extension OpImporters {
    static let reshaping: [String: OpImporter] = [
        "Reshape": importReshape,
        "Flatten": importFlatten,
        "Squeeze": importSqueeze,
        "Unsqueeze": importUnsqueeze,
        "Transpose": importTranspose,
    ]

    /// Writes `dims` as a constant's shape (all fixed) or the value as an IR reshape.
    static func reshaped(_ ctx: inout ImportContext, _ n: ImportNode, _ x: String, to dims: [Dim]) throws -> ImportValue {
        if let c = try ctx.constant(x) {
            return .constant(c.reshaped(try fixed(dims, "reshaped constant")))
        }
        return try emitReshape(&ctx, try ctx.irValue(x), to: dims, output: n.output(0), node: n.name)
    }

    /// The dims ONNX Reshape produces from `input` and a shape whose entries may be symbolic
    /// (the batch read by Shape): 0 copies (unless allowZero), -1 takes the remaining elements.
    static func reshapeDims(_ input: [Dim], shape: ConstTensor, allowZero: Bool) throws -> [Dim] {
        guard shape.rank == 1, case .ints(let values) = shape.storage else {
            throw ImportFailure("Reshape shape must be a 1-D integer tensor, got \(shape.dataType) of shape \(shape.shape)")
        }
        var out: [Dim] = []
        var inferAt: Int?
        for (k, v) in values.enumerated() {
            if let s = shape.symbol(at: k) {
                guard case .dim(let name) = s else {
                    throw ImportFailure("Reshape shape entry \(k) depends on the symbolic batch dimension in a way s2dc cannot follow")
                }
                out.append(.symbol(name))
            } else if v == -1 {
                guard inferAt == nil else { throw ImportFailure("Reshape shape \(values) has more than one -1") }
                inferAt = k
                out.append(.fixed(1))
            } else if v == 0 && !allowZero {
                guard k < input.count else { throw ImportFailure("Reshape shape \(values) copies dimension \(k) of a rank-\(input.count) input") }
                out.append(input[k])
            } else {
                guard v >= 0, v <= Int64(ConstTensor.maxRuntimeElements) else { throw ImportFailure("Reshape shape \(values) has invalid size \(v)") }
                out.append(.fixed(Int(v)))
            }
        }
        let inSymbols = input.filter { $0.value == nil }, outSymbols = out.filter { $0.value == nil }
        let inFixed = try ConstTensor.checkedShapeProduct(input.compactMap(\.value), what: "Reshape input")
        let outFixed = try ConstTensor.checkedShapeProduct(out.compactMap(\.value), what: "Reshape shape \(values)")
        if let at = inferAt {
            if inSymbols == outSymbols {
                guard outFixed > 0, inFixed % outFixed == 0 else { throw ImportFailure("cannot reshape \(input) to \(values)") }
                out[at] = .fixed(inFixed / outFixed)
            } else if outSymbols.isEmpty, inSymbols.count == 1, inFixed == outFixed {
                out[at] = inSymbols[0]  // -1 stands exactly for the batch
            } else {
                throw ImportFailure("Reshape of \(TensorType(dims: input)) to \(values) would merge the symbolic dimension with others")
            }
        } else {
            guard inSymbols == outSymbols else {
                throw ImportFailure("Reshape of \(TensorType(dims: input)) to \(values) does not keep the symbolic dimension")
            }
            guard inFixed == outFixed else { throw ImportFailure("cannot reshape \(TensorType(dims: input)) (\(inFixed) elements) to \(values)") }
        }
        return out
    }

    /// Reshape keeps the file's shape (its 0 and -1 entries, which later width changes can rely
    /// on) with a symbolic entry written as 0 (copy) or -1; when that does not say the same, the
    /// fully resolved shape.
    static func importReshape(_ ctx: inout ImportContext, _ n: ImportNode) throws -> [ImportValue] {
        let x = try n.requiredInput(0, "data")
        let shape = try ctx.requireConstant(try n.requiredInput(1, "shape"), "Reshape shape")
        let allowZero = try n.flag("allowzero")
        let inDims = try ctx.dims(x)
        let dims = try reshapeDims(inDims, shape: shape, allowZero: allowZero)
        guard case .ir(let input)? = ctx.values[x], case .ints(let values) = shape.storage else {
            return [try reshaped(&ctx, n, x, to: dims)]
        }
        var kept: [Int] = []
        for (k, v) in values.enumerated() {
            if case .dim(let s)? = shape.symbol(at: k) {
                kept.append(!allowZero && k < inDims.count && inDims[k] == .symbol(s) ? 0 : -1)
            } else {
                kept.append(Int(v))
            }
        }
        let op = Op.reshape(shape: kept, allowZero: allowZero)
        if kept.filter({ $0 == -1 }).count <= 1,
           (try? ShapeInference.outputTypes(op: op, inputs: [TensorType(dims: inDims)]))?.first?.dims == dims {
            return [try ctx.emit1(op, [input], output: n.output(0), node: n.name)]
        }
        return [try emitReshape(&ctx, input, to: dims, output: n.output(0), node: n.name)]
    }

    static func importFlatten(_ ctx: inout ImportContext, _ n: ImportNode) throws -> [ImportValue] {
        let x = try n.requiredInput(0, "input")
        let dims = try ctx.dims(x)
        let a = try axis(try n.int("axis", default: 1), rank: dims.count, inclusive: true)
        if let c = try ctx.constant(x) {
            return [.constant(c.reshaped([c.shape[..<a].reduce(1, *), c.shape[a...].reduce(1, *)]))]
        }
        return [try ctx.emit1(.flatten(axis: a), [try ctx.irValue(x)], output: n.output(0), node: n.name)]
    }

    /// Axes of Squeeze/Unsqueeze: an attribute before opset 13, an input from 13 on.
    static func squeezeAxes(_ ctx: ImportContext, _ n: ImportNode) throws -> [Int]? {
        if n.opset < 13 { return try n.ints("axes") }
        guard let a = n.input(1) else { return nil }
        return try ctx.requireConstant(a, "\(n.opType) axes").ints("\(n.opType) axes")
    }

    static func importSqueeze(_ ctx: inout ImportContext, _ n: ImportNode) throws -> [ImportValue] {
        let x = try n.requiredInput(0, "data")
        let dims = try ctx.dims(x)
        var out: [Dim] = []
        if let given = try squeezeAxes(ctx, n) {
            let drop = Set(try axes(given, rank: dims.count))
            for a in drop where dims[a] != .fixed(1) {
                throw ImportFailure("Squeeze axis \(a) has size \(dims[a]), not 1")
            }
            out = dims.enumerated().filter { !drop.contains($0.offset) }.map(\.element)
        } else {
            out = dims.filter { $0 != .fixed(1) }  // a symbolic batch is not known to be 1: kept
        }
        return [try reshaped(&ctx, n, x, to: out)]
    }

    static func importUnsqueeze(_ ctx: inout ImportContext, _ n: ImportNode) throws -> [ImportValue] {
        let x = try n.requiredInput(0, "data")
        let dims = try ctx.dims(x)
        guard let given = try squeezeAxes(ctx, n) else { throw ImportFailure("Unsqueeze needs axes") }
        let inserted = Set(try axes(given, rank: dims.count + given.count))
        var out: [Dim] = []
        var rest = dims.makeIterator()
        for i in 0..<(dims.count + given.count) {
            if inserted.contains(i) { out.append(.fixed(1)) } else if let d = rest.next() { out.append(d) }
        }
        return [try reshaped(&ctx, n, x, to: out)]
    }

    static func importTranspose(_ ctx: inout ImportContext, _ n: ImportNode) throws -> [ImportValue] {
        let x = try n.requiredInput(0, "data")
        let rank = try ctx.dims(x).count
        let perm = try n.ints("perm") ?? Array((0..<rank).reversed())
        guard perm.count == rank, Set(perm) == Set(0..<rank) else {
            throw ImportFailure("perm \(perm) is not a permutation of 0..<\(rank)")
        }
        if let c = try ctx.constant(x) { return [.constant(try ConstantFolding.transpose(c, perm: perm))] }
        return [try ctx.emit1(.transpose(perm: perm), [try ctx.irValue(x)], output: n.output(0), node: n.name)]
    }
}
