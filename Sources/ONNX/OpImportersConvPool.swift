// OpImportersConvPool: Conv, MaxPool, AveragePool, GlobalAveragePool, BatchNormalization and LRN.

import IR

extension OpImporters {
    static let convPool: [String: OpImporter] = [
        "Conv": importConv,
        "MaxPool": { ctx, n in try importPool(&ctx, n, isMax: true) },
        "AveragePool": { ctx, n in try importPool(&ctx, n, isMax: false) },
        "GlobalAveragePool": { ctx, n in
            let x = try ctx.irValue(try n.requiredInput(0, "X"))
            return [try ctx.emit1(.globalAveragePool, [x], output: n.output(0), node: n.name)]
        },
        "BatchNormalization": importBatchNorm,
        "LRN": { ctx, n in
            guard let size = try n.int("size") else { throw ImportFailure("LRN needs attribute 'size'") }
            guard size >= 1, size <= sizeLimit else { throw ImportFailure("attribute 'size' = \(size) must be at least 1") }
            let op = Op.lrn(size: size, alpha: try n.float("alpha", default: 0.0001),
                            beta: try n.float("beta", default: 0.75), bias: try n.float("bias", default: 1))
            let x = try ctx.irValue(try n.requiredInput(0, "X"))
            return [try ctx.emit1(op, [x], output: n.output(0), node: n.name)]
        },
    ]

    /// Strides, explicit pads and dilations of a sliding window, with auto_pad resolved against
    /// the input's spatial size (SAME_UPPER puts the odd cell at the end, SAME_LOWER at the start).
    static func window(_ n: ImportNode, kernel: [Int], input: [Dim]) throws -> (strides: [Int], pads: [Int], dilations: [Int]) {
        let spatial = kernel.count
        guard input.count == spatial + 2 else {
            throw ImportFailure("\(n.opType) input of rank \(input.count) does not fit a kernel of \(spatial) spatial dimensions")
        }
        try checkSizes(kernel, "kernel_shape", in: 1...sizeLimit)
        let strides = try n.ints("strides") ?? Array(repeating: 1, count: spatial)
        let dilations = try n.ints("dilations") ?? Array(repeating: 1, count: spatial)
        guard strides.count == spatial else { throw ImportFailure("strides \(strides) must have \(spatial) entries") }
        guard dilations.count == spatial else { throw ImportFailure("dilations \(dilations) must have \(spatial) entries") }
        try checkSizes(strides, "strides", in: 1...sizeLimit)
        try checkSizes(dilations, "dilations", in: 1...sizeLimit)
        let explicit = try n.ints("pads")
        if let explicit {
            guard explicit.count == 2 * spatial else { throw ImportFailure("pads \(explicit) must have \(2 * spatial) entries") }
            try checkSizes(explicit, "pads", in: 0...sizeLimit)
        }
        let autoPad = try n.string("auto_pad", default: "NOTSET")
        switch autoPad {
        case "NOTSET":
            return (strides, explicit ?? Array(repeating: 0, count: 2 * spatial), dilations)
        case "VALID", "SAME_UPPER", "SAME_LOWER":
            if let explicit, explicit.contains(where: { $0 != 0 }) {
                throw ImportFailure("pads \(explicit) cannot be combined with auto_pad \(autoPad)")
            }
            var pads = Array(repeating: 0, count: 2 * spatial)
            if autoPad == "VALID" { return (strides, pads, dilations) }
            let sizes = try fixed(Array(input.dropFirst(2)), "\(n.opType) input with auto_pad \(autoPad)")
            for i in 0..<spatial {
                let out = (sizes[i] + strides[i] - 1) / strides[i]
                let span = dilations[i] * (kernel[i] - 1) + 1
                let total = max((out - 1) * strides[i] + span - sizes[i], 0)
                let small = total / 2
                pads[i] = autoPad == "SAME_UPPER" ? small : total - small
                pads[spatial + i] = total - pads[i]
            }
            return (strides, pads, dilations)
        default:
            throw ImportFailure("attribute 'auto_pad' = '\(autoPad)' is not one of NOTSET, VALID, SAME_UPPER, SAME_LOWER")
        }
    }

    static func importConv(_ ctx: inout ImportContext, _ n: ImportNode) throws -> [ImportValue] {
        let x = try ctx.irValue(try n.requiredInput(0, "X"))
        let w = try ctx.irValue(try n.requiredInput(1, "W"))
        let b = try n.input(2).map { try ctx.irValue($0) }
        let xDims = try ctx.graph.type(of: x).dims
        let wShape = try fixed(try ctx.graph.type(of: w).dims, "Conv weight")
        guard wShape.count >= 3 else { throw ImportFailure("Conv weight of shape \(wShape) must have rank >= 3") }
        let kernel = Array(wShape.dropFirst(2))
        if let declared = try n.ints("kernel_shape"), declared != kernel {
            throw ImportFailure("kernel_shape \(declared) does not match the weight's shape \(wShape)")
        }
        let group = try n.int("group", default: 1, in: 1...sizeLimit)
        let (strides, pads, dilations) = try window(n, kernel: kernel, input: xDims)
        let op = Op.conv(ConvAttributes(kernel: kernel, strides: strides, pads: pads, dilations: dilations, group: group))
        return [try ctx.emit1(op, [x, w] + (b.map { [$0] } ?? []), output: n.output(0), node: n.name)]
    }

    static func importPool(_ ctx: inout ImportContext, _ n: ImportNode, isMax: Bool) throws -> [ImportValue] {
        let x = try ctx.irValue(try n.requiredInput(0, "X"))
        guard let kernel = try n.ints("kernel_shape") else { throw ImportFailure("\(n.opType) needs attribute 'kernel_shape'") }
        let (strides, pads, dilations) = try window(n, kernel: kernel, input: try ctx.graph.type(of: x).dims)
        let ceilMode = try n.flag("ceil_mode")
        var countIncludePad = false
        if isMax {
            _ = try n.int("storage_order", default: 0, in: 0...1)  // only shapes the Indices output
            try requireUnused(ctx, n, 1, "MaxPool's Indices output is used; s2dc imports only the pooled values")
        } else {
            countIncludePad = try n.flag("count_include_pad")
        }
        let attrs = PoolAttributes(kernel: kernel, strides: strides, pads: pads, dilations: dilations,
                                   ceilMode: ceilMode, countIncludePad: countIncludePad)
        return [try ctx.emit1(isMax ? .maxPool(attrs) : .averagePool(attrs), [x], output: n.output(0), node: n.name)]
    }

    static func importBatchNorm(_ ctx: inout ImportContext, _ n: ImportNode) throws -> [ImportValue] {
        if try n.flag("training_mode") {
            throw ImportFailure("training-mode BatchNormalization (training_mode=1) is not supported; export the model in inference mode")
        }
        for i in 1..<5 {
            try requireUnused(ctx, n, i, "BatchNormalization's training output \(i) '\(n.output(i))' is used; s2dc imports inference-mode BatchNormalization only")
        }
        let epsilon = try n.float("epsilon", default: 1e-5)
        guard epsilon.isFinite, epsilon >= 0 else { throw ImportFailure("attribute 'epsilon' = \(epsilon) must be finite and >= 0") }
        var inputs: [String] = []
        for (i, what) in ["X", "scale", "B", "mean", "var"].enumerated() {
            inputs.append(try ctx.irValue(try n.requiredInput(i, what)))
        }
        // Opsets 7 and 8: spatial=0 normalizes per activation, with parameters of shape C×D1×…; it
        // equals the spatial form only when the parameters are per channel.
        if try !n.flag("spatial", default: true) {
            for p in inputs.dropFirst() where try ctx.graph.type(of: p).rank != 1 {
                throw ImportFailure("BatchNormalization with spatial=0 and per-activation parameters is not supported")
            }
        }
        return [try ctx.emit1(.batchNormalization(epsilon: epsilon), inputs, output: n.output(0), node: n.name)]
    }
}
