// OpImporters: the table from ONNX op type to import function, and helpers the importers share.

import IR

/// Imports one node: reads its inputs through the context, emits IR nodes or folds, and returns
/// one value per output it produces (in order; optional trailing outputs may be left out).
typealias OpImporter = (inout ImportContext, ImportNode) throws -> [ImportValue]

/// The op table. Each family lives in its own file (conv/pool, elementwise, linear algebra,
/// reshapes, other data movement, constants and shape arithmetic); every entry applies the
/// spec's attribute defaults for the model's opset.
enum OpImporters {
    static let table: [String: OpImporter] = {
        var t: [String: OpImporter] = [:]
        for family in [convPool, elementwise, linear, reshaping, dataMovement, shapeArithmetic] {
            t.merge(family) { first, _ in first }
        }
        return t
    }()

    // MARK: Shared helpers

    /// An axis attribute or input normalized into 0..<rank (0...rank when `inclusive`).
    static func axis(_ axis: Int, rank: Int, inclusive: Bool = false) throws -> Int {
        do {
            return try ShapeInference.normalizeAxis(axis, rank: rank, inclusive: inclusive)
        } catch let error as IRError {
            throw ImportFailure(error.message)
        }
    }

    /// Normalized axes, failing on repeats.
    static func axes(_ axes: [Int], rank: Int) throws -> [Int] {
        let normalized = try axes.map { try axis($0, rank: rank) }
        guard Set(normalized).count == normalized.count else { throw ImportFailure("axes \(axes) repeat an axis") }
        return normalized
    }

    /// Fixed sizes of dims, failing (naming `what`) on a symbolic one.
    static func fixed(_ dims: [Dim], _ what: String) throws -> [Int] {
        try dims.map { d in
            guard let v = d.value else { throw ImportFailure("\(what) must have static dimensions, got '\(d)'") }
            return v
        }
    }

    /// Fails unless every value lies in `range` (guards shape arithmetic against overflow).
    static func checkSizes(_ values: [Int], _ what: String, in range: ClosedRange<Int>) throws {
        for v in values where !range.contains(v) {
            throw ImportFailure("\(what) \(values) has \(v), outside \(range)")
        }
    }

    /// The largest value a kernel, stride, dilation or pad may take.
    static let sizeLimit = Int(Int32.max)

    /// The IR reshape (target shape and allowZero) that turns `input` dims into `output` dims of
    /// the same element count: a symbolic dimension is copied with 0 when it keeps its position,
    /// else inferred with -1; literal zero sizes need allowZero, which then rules out copying.
    static func reshapeSpec(from input: [Dim], to output: [Dim]) throws -> (shape: [Int], allowZero: Bool) {
        let allowZero = output.contains(.fixed(0))
        var shape: [Int] = []
        for (j, d) in output.enumerated() {
            switch d {
            case .fixed(let v):
                shape.append(v)
            case .symbol(let s):
                guard input.contains(d) else { throw ImportFailure("reshape cannot create symbolic dimension '\(s)'") }
                shape.append(!allowZero && j < input.count && input[j] == d ? 0 : -1)
            }
        }
        return (shape, allowZero)
    }

    /// Emits a reshape of IR value `x` to `dims`, or an identity when the dims already match.
    static func emitReshape(_ ctx: inout ImportContext, _ x: String, to dims: [Dim], output: String, node: String) throws -> ImportValue {
        let inDims = try ctx.graph.type(of: x).dims
        if inDims == dims { return try ctx.emit1(.identity, [x], output: output, node: node) }
        let spec = try reshapeSpec(from: inDims, to: dims)
        return try ctx.emit1(.reshape(shape: spec.shape, allowZero: spec.allowZero), [x], output: output, node: node)
    }

    /// The output name of node output `i`, or a fresh one when the node leaves it empty.
    static func outputName(_ ctx: inout ImportContext, _ n: ImportNode, _ i: Int) -> String {
        let name = n.output(i)
        return name.isEmpty ? ctx.freshName("\(n.name)_out\(i)") : name
    }

    /// The constants behind `names`, or nil when any is known only at run time.
    static func constants(_ ctx: ImportContext, _ names: [String]) throws -> [ConstTensor]? {
        var out: [ConstTensor] = []
        for n in names {
            guard let c = try ctx.constant(n) else { return nil }
            out.append(c)
        }
        return out
    }

    /// Fails when output `i` of the node is read by another node or is a graph output.
    static func requireUnused(_ ctx: ImportContext, _ n: ImportNode, _ i: Int, _ message: String) throws {
        let name = n.output(i)
        if !name.isEmpty, ctx.usedNames.contains(name) { throw ImportFailure(message) }
    }
}
