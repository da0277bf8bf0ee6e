// TextAttributes: each op's attributes in textual IR (names, kinds, defaults), to and from Op values.

/// The value of one op attribute in textual IR.
enum TextAttributeValue: Equatable {
    case int(Int)
    case ints([Int])
    case float(Float)
    case bool(Bool)
    case padMode(PadMode)
    case activation(FusedActivation)
}

/// What literal an attribute takes, so the parser can read and range-check it before building the op.
enum TextAttributeKind {
    /// An integer within ±(2³¹−1): sizes, axes, strides. The bound keeps shape inference's
    /// arithmetic far from overflow on any parsed text.
    case int
    /// A list of `.int`.
    case ints
    /// A list of any 64-bit integers: Slice's starts and ends, where ONNX writes "to the end" as
    /// INT64_MAX and the rules clamp them before any arithmetic.
    case wideInts
    case float
    case bool
    case padMode
    /// A fused activation: `relu`, `hard_swish`, `leaky_relu(alpha)` or `clip(min, max)`.
    case activation
}

/// The mapping between `Op` values and their textual attributes. Printer and parser share it so
/// that the two directions cannot drift apart.
enum TextAttributes {
    typealias Schema = [(name: String, kind: TextAttributeKind)]

    private static let window: Schema = [
        ("kernel", .ints), ("strides", .ints), ("pads", .ints), ("dilations", .ints),
    ]

    /// The attributes of every op, by op name, in printing order. An op name missing here is unknown.
    static let schemas: [String: Schema] = [
        // `activation` (the epilogue of `Op.acceptsActivation` ops) prints only when set: an
        // unfused op reads as it did before fusion existed.
        "conv": window + [("group", .int), ("activation", .activation)],
        "batch_norm": [("epsilon", .float), ("activation", .activation)],
        "relu": [],
        "leaky_relu": [("alpha", .float)],
        "clip": [("min", .float), ("max", .float)],
        "sigmoid": [],
        "hard_sigmoid": [("alpha", .float), ("beta", .float)],
        "hard_swish": [],
        "add": [("activation", .activation)], "sub": [("activation", .activation)],
        "mul": [("activation", .activation)], "div": [("activation", .activation)],
        "max_pool": window + [("ceil_mode", .bool), ("count_include_pad", .bool)],
        "average_pool": window + [("ceil_mode", .bool), ("count_include_pad", .bool)],
        "global_average_pool": [],
        "reduce_mean": [("axes", .ints), ("keep_dims", .bool)],
        "lrn": [("size", .int), ("alpha", .float), ("beta", .float), ("bias", .float)],
        "gemm": [("alpha", .float), ("beta", .float), ("trans_a", .bool), ("trans_b", .bool), ("activation", .activation)],
        "matmul": [("activation", .activation)],
        "flatten": [("axis", .int)],
        "reshape": [("shape", .ints), ("allow_zero", .bool)],
        "transpose": [("perm", .ints)],
        "concat": [("axis", .int)],
        "split": [("axis", .int), ("sizes", .ints)],
        "slice": [("starts", .wideInts), ("ends", .wideInts), ("axes", .ints), ("steps", .ints)],
        "pad": [("pads", .ints), ("mode", .padMode), ("value", .float)],
        "softmax": [("axis", .int)],
        "dropout": [("ratio", .float)],
        "identity": [],
    ]

    /// Every attribute of `op`, in schema order (the printer writes them all, defaults included).
    static func attributes(of op: Op) -> [(name: String, value: TextAttributeValue)] {
        own(op) + (op.activation.map { [("activation", .activation($0))] } ?? [])
    }

    /// The attributes of `op` apart from its epilogue.
    private static func own(_ op: Op) -> [(name: String, value: TextAttributeValue)] {
        switch op {
        case .conv(let a):
            return window(a.kernel, a.strides, a.pads, a.dilations) + [("group", .int(a.group))]
        case .batchNormalization(let epsilon, _):
            return [("epsilon", .float(epsilon))]
        case .leakyRelu(let alpha):
            return [("alpha", .float(alpha))]
        case .clip(let min, let max):
            return [("min", .float(min)), ("max", .float(max))]
        case .hardSigmoid(let alpha, let beta):
            return [("alpha", .float(alpha)), ("beta", .float(beta))]
        case .relu, .sigmoid, .hardSwish, .add, .sub, .mul, .div, .globalAveragePool, .matMul, .identity:
            return []
        case .maxPool(let a), .averagePool(let a):
            return window(a.kernel, a.strides, a.pads, a.dilations)
                + [("ceil_mode", .bool(a.ceilMode)), ("count_include_pad", .bool(a.countIncludePad))]
        case .reduceMean(let axes, let keepDims):
            return [("axes", .ints(axes)), ("keep_dims", .bool(keepDims))]
        case .lrn(let size, let alpha, let beta, let bias):
            return [("size", .int(size)), ("alpha", .float(alpha)), ("beta", .float(beta)), ("bias", .float(bias))]
        case .gemm(let a):
            return [("alpha", .float(a.alpha)), ("beta", .float(a.beta)),
                    ("trans_a", .bool(a.transA)), ("trans_b", .bool(a.transB))]
        case .flatten(let axis):
            return [("axis", .int(axis))]
        case .reshape(let shape, let allowZero):
            return [("shape", .ints(shape)), ("allow_zero", .bool(allowZero))]
        case .transpose(let perm):
            return [("perm", .ints(perm))]
        case .concat(let axis):
            return [("axis", .int(axis))]
        case .split(let axis, let sizes):
            return [("axis", .int(axis)), ("sizes", .ints(sizes))]
        case .slice(let starts, let ends, let axes, let steps):
            return [("starts", .ints(starts)), ("ends", .ints(ends)), ("axes", .ints(axes)), ("steps", .ints(steps))]
        case .pad(let pads, let mode, let value):
            return [("pads", .ints(pads)), ("mode", .padMode(mode)), ("value", .float(value))]
        case .softmax(let axis):
            return [("axis", .int(axis))]
        case .dropout(let ratio):
            return [("ratio", .float(ratio))]
        }
    }

    private static func window(_ kernel: [Int], _ strides: [Int], _ pads: [Int], _ dilations: [Int])
        -> [(name: String, value: TextAttributeValue)] {
        [("kernel", .ints(kernel)), ("strides", .ints(strides)), ("pads", .ints(pads)), ("dilations", .ints(dilations))]
    }

    /// Builds the op called `name` from parsed attributes, whose kinds the parser has already
    /// checked against `schemas`. A missing attribute takes the ONNX default where the operator
    /// specification has one (so hand-written IR can leave defaults out); otherwise it is an error.
    static func makeOp(named name: String, attributes: [String: TextAttributeValue]) throws -> Op {
        let op = try makeOwnOp(named: name, attributes: attributes)
        // The schemas list `activation` exactly for the ops that accept one.
        let activation = try Reader(op: name, values: attributes).activation("activation")
        return op.withActivation(activation) ?? op
    }

    private static func makeOwnOp(named name: String, attributes: [String: TextAttributeValue]) throws -> Op {
        let a = Reader(op: name, values: attributes)
        switch name {
        case "conv":
            let kernel = try a.ints("kernel")
            return .conv(ConvAttributes(
                kernel: kernel, strides: try a.ints("strides", default: ones(kernel.count)),
                pads: try a.ints("pads", default: zeros(2 * kernel.count)),
                dilations: try a.ints("dilations", default: ones(kernel.count)), group: try a.int("group", default: 1)))
        case "batch_norm": return .batchNormalization(epsilon: try a.float("epsilon", default: 1e-5))
        case "relu": return .relu
        case "leaky_relu": return .leakyRelu(alpha: try a.float("alpha", default: 0.01))
        case "clip": return .clip(min: try a.float("min", default: -.infinity), max: try a.float("max", default: .infinity))
        case "sigmoid": return .sigmoid
        case "hard_sigmoid":
            return .hardSigmoid(alpha: try a.float("alpha", default: 0.2), beta: try a.float("beta", default: 0.5))
        case "hard_swish": return .hardSwish
        case "add": return .add
        case "sub": return .sub
        case "mul": return .mul
        case "div": return .div
        case "max_pool": return .maxPool(try pool(a))
        case "average_pool": return .averagePool(try pool(a))
        case "global_average_pool": return .globalAveragePool
        case "reduce_mean":
            return .reduceMean(axes: try a.ints("axes", default: []), keepDims: try a.bool("keep_dims", default: true))
        case "lrn":
            return .lrn(size: try a.int("size"), alpha: try a.float("alpha", default: 1e-4),
                        beta: try a.float("beta", default: 0.75), bias: try a.float("bias", default: 1))
        case "gemm":
            return .gemm(GemmAttributes(alpha: try a.float("alpha", default: 1), beta: try a.float("beta", default: 1),
                                        transA: try a.bool("trans_a", default: false),
                                        transB: try a.bool("trans_b", default: false)))
        case "matmul": return .matMul
        case "flatten": return .flatten(axis: try a.int("axis", default: 1))
        case "reshape": return .reshape(shape: try a.ints("shape"), allowZero: try a.bool("allow_zero", default: false))
        case "transpose": return .transpose(perm: try a.ints("perm"))
        case "concat": return .concat(axis: try a.int("axis"))
        case "split": return .split(axis: try a.int("axis", default: 0), sizes: try a.ints("sizes"))
        case "slice":
            let starts = try a.ints("starts")
            return .slice(starts: starts, ends: try a.ints("ends"),
                          axes: try a.ints("axes", default: Array(0..<starts.count)),
                          steps: try a.ints("steps", default: ones(starts.count)))
        case "pad":
            return .pad(pads: try a.ints("pads"), mode: try a.padMode("mode", default: .constant),
                        value: try a.float("value", default: 0))
        case "softmax": return .softmax(axis: try a.int("axis", default: -1))
        case "dropout": return .dropout(ratio: try a.float("ratio", default: 0.5))
        case "identity": return .identity
        default: throw IRError("unknown op '\(name)'")
        }
    }

    /// The op names a fused activation is written with, the same as the standalone ops'.
    static func activationText(_ activation: FusedActivation) -> String {
        switch activation {
        case .relu: return "relu"
        case .hardSwish: return "hard_swish"
        case .leakyRelu(let alpha): return "leaky_relu(" + TextPrinter.floatText(alpha) + ")"
        case .clip(let lo, let hi): return "clip(" + TextPrinter.floatText(lo) + ", " + TextPrinter.floatText(hi) + ")"
        }
    }

    private static func pool(_ a: Reader) throws -> PoolAttributes {
        let kernel = try a.ints("kernel")
        return PoolAttributes(
            kernel: kernel, strides: try a.ints("strides", default: ones(kernel.count)),
            pads: try a.ints("pads", default: zeros(2 * kernel.count)),
            dilations: try a.ints("dilations", default: ones(kernel.count)),
            ceilMode: try a.bool("ceil_mode", default: false),
            countIncludePad: try a.bool("count_include_pad", default: false))
    }

    private static func ones(_ n: Int) -> [Int] { Array(repeating: 1, count: n) }
    private static func zeros(_ n: Int) -> [Int] { Array(repeating: 0, count: n) }

    /// Typed access to parsed attributes, with defaults.
    private struct Reader {
        let op: String
        let values: [String: TextAttributeValue]

        private func missing(_ name: String) -> IRError { IRError("missing attribute '\(name)' of \(op)") }
        private func wrongKind(_ name: String) -> IRError { IRError("attribute '\(name)' of \(op) has the wrong kind") }

        func int(_ name: String, default fallback: Int? = nil) throws -> Int {
            switch values[name] {
            case .int(let v)?: return v
            case nil: if let fallback { return fallback } else { throw missing(name) }
            default: throw wrongKind(name)
            }
        }

        func ints(_ name: String, default fallback: [Int]? = nil) throws -> [Int] {
            switch values[name] {
            case .ints(let v)?: return v
            case nil: if let fallback { return fallback } else { throw missing(name) }
            default: throw wrongKind(name)
            }
        }

        func float(_ name: String, default fallback: Float? = nil) throws -> Float {
            switch values[name] {
            case .float(let v)?: return v
            case nil: if let fallback { return fallback } else { throw missing(name) }
            default: throw wrongKind(name)
            }
        }

        func bool(_ name: String, default fallback: Bool? = nil) throws -> Bool {
            switch values[name] {
            case .bool(let v)?: return v
            case nil: if let fallback { return fallback } else { throw missing(name) }
            default: throw wrongKind(name)
            }
        }

        /// An absent activation means none.
        func activation(_ name: String) throws -> FusedActivation? {
            switch values[name] {
            case .activation(let v)?: return v
            case nil: return nil
            default: throw wrongKind(name)
            }
        }

        func padMode(_ name: String, default fallback: PadMode? = nil) throws -> PadMode {
            switch values[name] {
            case .padMode(let v)?: return v
            case nil: if let fallback { return fallback } else { throw missing(name) }
            default: throw wrongKind(name)
            }
        }
    }
}
