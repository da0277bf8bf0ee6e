// OpImportersDataMovement: Concat, Split, Slice, Pad, Gather and Expand.

import IR

extension OpImporters {
    static let dataMovement: [String: OpImporter] = [
        "Concat": importConcat,
        "Split": importSplit,
        "Slice": importSlice,
        "Pad": importPad,
        "Gather": importGather,
        "Expand": importExpand,
    ]

    static func importConcat(_ ctx: inout ImportContext, _ n: ImportNode) throws -> [ImportValue] {
        let inputs = n.presentInputs
        guard let first = inputs.first else { throw ImportFailure("Concat needs at least one input") }
        guard let rawAxis = try n.int("axis") else { throw ImportFailure("Concat needs attribute 'axis'") }
        let a = try axis(rawAxis, rank: try ctx.dims(first).count)
        if let cs = try constants(ctx, inputs) { return [.constant(try ConstantFolding.concat(cs, axis: a))] }
        let irInputs = try inputs.map { try ctx.irValue($0) }
        return [try ctx.emit1(.concat(axis: a), irInputs, output: n.output(0), node: n.name)]
    }

    /// Split sizes: the `split` attribute before opset 13, an optional input from 13 on; without
    /// them equal parts, one per output, or from opset 18 `num_outputs` parts of ceil(n / k)
    /// with a smaller last one.
    static func importSplit(_ ctx: inout ImportContext, _ n: ImportNode) throws -> [ImportValue] {
        let x = try n.requiredInput(0, "input")
        let dims = try ctx.dims(x)
        let a = try axis(try n.int("axis", default: 0), rank: dims.count)
        guard let size = dims[a].value else { throw ImportFailure("Split along the symbolic dimension '\(dims[a])' is not supported") }
        let outputs = n.node.outputs.count
        var sizes: [Int]
        if n.opset < 13, let s = try n.ints("split") {
            sizes = s
        } else if n.opset >= 13, let s = n.input(1) {
            sizes = try ctx.requireConstant(s, "Split split").ints("Split split")
        } else if n.opset >= 18, let k = try n.int("num_outputs") {
            guard k >= 1, k == outputs else { throw ImportFailure("num_outputs \(k) does not match the node's \(outputs) outputs") }
            let chunk = (size + k - 1) / k
            sizes = Array(repeating: chunk, count: k - 1) + [size - chunk * (k - 1)]
            guard sizes.last.map({ $0 >= 0 }) ?? false else { throw ImportFailure("cannot split \(size) elements into \(k) parts of \(chunk)") }
        } else {
            guard outputs >= 1, size % outputs == 0 else { throw ImportFailure("cannot split \(size) elements into \(outputs) equal parts") }
            sizes = Array(repeating: size / outputs, count: outputs)
        }
        guard sizes.count == outputs else { throw ImportFailure("split sizes \(sizes) do not match the node's \(outputs) outputs") }
        guard sizes.allSatisfy({ $0 >= 0 }), sizes.reduce(0, { $0 &+ $1 }) == size else {
            throw ImportFailure("split sizes \(sizes) do not add up to \(size)")
        }
        if let c = try ctx.constant(x) {
            var start = 0
            return sizes.map { s in
                defer { start += s }
                return .constant(ConstantFolding.slice(c, starts: [start], ends: [start + s], axes: [a], steps: [1]))
            }
        }
        let names = (0..<outputs).map { outputName(&ctx, n, $0) }
        return try ctx.emit(.split(axis: a, sizes: sizes), [try ctx.irValue(x)], outputs: names, node: n.name).map { .ir($0) }
    }

    static func importSlice(_ ctx: inout ImportContext, _ n: ImportNode) throws -> [ImportValue] {
        let x = try n.requiredInput(0, "data")
        let dims = try ctx.dims(x)
        var starts: [Int], ends: [Int], axesGiven: [Int]?, steps: [Int]?
        if n.opset < 10 {
            guard let s = try n.ints("starts"), let e = try n.ints("ends") else { throw ImportFailure("Slice needs attributes 'starts' and 'ends'") }
            (starts, ends, axesGiven, steps) = (s, e, try n.ints("axes"), nil)
        } else {
            func ints(_ i: Int, _ what: String) throws -> [Int]? {
                try n.input(i).map { try ctx.requireConstant($0, "Slice \(what)").ints("Slice \(what)") }
            }
            guard let s = try ints(1, "starts"), let e = try ints(2, "ends") else { throw ImportFailure("Slice needs inputs starts and ends") }
            (starts, ends, axesGiven, steps) = (s, e, try ints(3, "axes"), try ints(4, "steps"))
        }
        let count = starts.count
        let sliceAxes = try axes(axesGiven ?? Array(0..<count), rank: dims.count)
        let sliceSteps = steps ?? Array(repeating: 1, count: count)
        guard ends.count == count, sliceAxes.count == count, sliceSteps.count == count else {
            throw ImportFailure("Slice starts \(starts), ends \(ends), axes \(axesGiven ?? []), steps \(sliceSteps) differ in length")
        }
        // Clamp to the dimension so attributes stay small (INT64_MAX means "to the end"), keeping
        // ONNX's semantics; drop whole-range slices of the symbolic batch.
        var (s2, e2, a2, st2) = ([Int](), [Int](), [Int](), [Int]())
        for i in 0..<count {
            let step = sliceSteps[i]
            guard step != 0 else { throw ImportFailure("Slice step must not be 0") }
            guard let size = dims[sliceAxes[i]].value else {
                if starts[i] == 0, ends[i] >= Int(Int32.max), step == 1 { continue }
                throw ImportFailure("Slice along the symbolic dimension '\(dims[sliceAxes[i]])' is not supported")
            }
            let clamp = { (v: Int) in min(max(v, -size - 1), size) }
            s2.append(clamp(starts[i])); e2.append(clamp(ends[i])); a2.append(sliceAxes[i])
            st2.append(step > 0 ? min(step, max(size, 1)) : max(step, -max(size, 1)))
        }
        if let c = try ctx.constant(x) {
            return [.constant(ConstantFolding.slice(c, starts: s2, ends: e2, axes: a2, steps: st2))]
        }
        let input = try ctx.irValue(x)
        if a2.isEmpty { return [try ctx.emit1(.identity, [input], output: n.output(0), node: n.name)] }
        return [try ctx.emit1(.slice(starts: s2, ends: e2, axes: a2, steps: st2), [input], output: n.output(0), node: n.name)]
    }

    /// Pad: pads and value are attributes before opset 11, inputs from 11 on (axes from 18).
    static func importPad(_ ctx: inout ImportContext, _ n: ImportNode) throws -> [ImportValue] {
        let x = try ctx.irValue(try n.requiredInput(0, "data"))
        let dims = try ctx.graph.type(of: x).dims
        let rank = dims.count
        let modeName = try n.string("mode", default: "constant")
        guard let mode = PadMode(rawValue: modeName) else { throw ImportFailure("Pad mode '\(modeName)' is not one of constant, reflect, edge, wrap") }
        var pads: [Int], value: Float = 0
        if n.opset < 11 {
            guard let p = try n.ints("pads") else { throw ImportFailure("Pad needs attribute 'pads'") }
            pads = p
            value = try n.float("value", default: 0)
        } else {
            pads = try ctx.requireConstant(try n.requiredInput(1, "pads"), "Pad pads").ints("Pad pads")
            if let v = n.input(2) { value = try ctx.requireConstant(v, "Pad constant_value").scalarFloat("Pad constant_value") }
            if let axesName = n.input(3) {
                let padAxes = try axes(try ctx.requireConstant(axesName, "Pad axes").ints("Pad axes"), rank: rank)
                guard pads.count == 2 * padAxes.count else { throw ImportFailure("Pad pads \(pads) must have \(2 * padAxes.count) entries for axes \(padAxes)") }
                var full = Array(repeating: 0, count: 2 * rank)
                for (k, a) in padAxes.enumerated() {
                    full[a] = pads[k]
                    full[rank + a] = pads[padAxes.count + k]
                }
                pads = full
            }
        }
        guard pads.count == 2 * rank else { throw ImportFailure("Pad pads \(pads) must have \(2 * rank) entries for rank \(rank)") }
        try checkSizes(pads, "Pad pads", in: -sizeLimit...sizeLimit)
        if mode == .reflect {
            for i in 0..<rank where pads[i] != 0 || pads[rank + i] != 0 {
                if let d = dims[i].value, max(pads[i], pads[rank + i]) >= d {
                    throw ImportFailure("reflect pads \(pads) must be smaller than dimension \(i) (\(d))")
                }
            }
        }
        return [try ctx.emit1(.pad(pads: pads, mode: mode, value: value), [x], output: n.output(0), node: n.name)]
    }

    /// Gather with constant indices. On a constant it folds (the Shape → Gather of shape
    /// arithmetic); on a runtime value it becomes one strided slice when the indices form an
    /// arithmetic progression, else per-index slices joined by a concat, then a reshape to the
    /// indices' shape.
    static func importGather(_ ctx: inout ImportContext, _ n: ImportNode) throws -> [ImportValue] {
        let x = try n.requiredInput(0, "data")
        let dims = try ctx.dims(x)
        let a = try axis(try n.int("axis", default: 0), rank: dims.count)
        let indices = try ctx.requireConstant(try n.requiredInput(1, "indices"), "Gather indices")
        guard let size = dims[a].value else { throw ImportFailure("Gather along the symbolic dimension '\(dims[a])' is not supported") }
        let list = try indices.ints("Gather indices").map { i -> Int in
            guard i >= -size, i < size else { throw ImportFailure("Gather index \(i) is out of range for dimension \(a) of size \(size)") }
            return resolvedAxis(i, rank: size)
        }
        if let c = try ctx.constant(x) {
            return [.constant(try ConstantFolding.gather(c, indices: list, indicesShape: indices.shape, axis: a))]
        }
        let input = try ctx.irValue(x)
        var outDims = Array(dims[..<a])
        outDims += indices.shape.map { .fixed($0) }
        outDims += dims[(a + 1)...]
        guard !list.isEmpty else { throw ImportFailure("Gather with no indices yields an empty tensor, which s2dc does not support") }
        guard list.count <= 4096 else { throw ImportFailure("Gather of \(list.count) indices from a runtime value is not supported (at most 4096)") }
        let step = list.count > 1 ? list[1] - list[0] : 1
        let isProgression = step != 0 && list.indices.allSatisfy { list[$0] == list[0] + $0 * step }
        let out = n.output(0)
        // 1-D indices keep the sliced rank: the slice (or concat) writes the output directly.
        let picked = indices.rank == 1 ? out : ctx.freshName("\(out)_picked")
        if isProgression {
            let end = step > 0 ? list[list.count - 1] + 1 : (list[list.count - 1] == 0 ? -size - 1 : list[list.count - 1] - 1)
            try ctx.emit(.slice(starts: [list[0]], ends: [end], axes: [a], steps: [step]), [input], outputs: [picked], node: n.name)
        } else {
            var parts: [String] = []
            for (k, i) in list.enumerated() {
                let part = ctx.freshName("\(out)_part\(k)")
                try ctx.emit(.slice(starts: [i], ends: [i + 1], axes: [a], steps: [1]), [input], outputs: [part], node: "\(n.name)/slice\(k)")
                parts.append(part)
            }
            try ctx.emit(.concat(axis: a), parts, outputs: [picked], node: n.name)
        }
        if picked == out { return [.ir(out)] }
        return [try emitReshape(&ctx, picked, to: outDims, output: out, node: "\(n.name)/reshape")]
    }

    /// Expand broadcasts to a constant shape. On a runtime value it is an add of zeros of the
    /// target shape (a symbolic entry must line up with the input's symbolic dimension).
    static func importExpand(_ ctx: inout ImportContext, _ n: ImportNode) throws -> [ImportValue] {
        let x = try n.requiredInput(0, "input")
        let shape = try ctx.requireConstant(try n.requiredInput(1, "shape"), "Expand shape")
        guard shape.rank == 1, case .ints(let values) = shape.storage else {
            throw ImportFailure("Expand shape must be a 1-D integer tensor")
        }
        if let c = try ctx.constant(x), shape.symbols.isEmpty {
            return [.constant(try ConstantFolding.expand(c, to: values.map { Int($0) }))]
        }
        let input = try ctx.irValue(x)
        let dims = try ctx.graph.type(of: input).dims
        let offset = values.count - dims.count
        var zeros: [Int] = []
        for (k, v) in values.enumerated() {
            if let s = shape.symbol(at: k) {
                guard case .dim(let name) = s, k - offset >= 0, dims[k - offset] == .symbol(name) else {
                    throw ImportFailure("Expand shape entry \(k) is symbolic and does not match the input's dimension")
                }
                zeros.append(1)
            } else {
                guard v >= 0, v <= Int64(sizeLimit) else { throw ImportFailure("Expand shape \(values) has invalid size \(v)") }
                zeros.append(Int(v))
            }
        }
        let outType = try ShapeInference.broadcast(TensorType(dims: dims), TensorType(shape: zeros))
        if outType.dims == dims { return [try ctx.emit1(.identity, [input], output: n.output(0), node: n.name)] }
        _ = try ConstTensor.checkedCount(zeros, what: "Expand target")
        let zerosName = ctx.freshName("\(n.output(0))_zeros")
        try ctx.graph.addConstant(zerosName, Tensor(shape: zeros, repeating: 0))
        return [try ctx.emit1(.add, [input, zerosName], output: n.output(0), node: n.name)]
    }
}
