// Op: the closed set of IR operations, each with its attributes as typed fields.

/// Attributes of a convolution over N spatial dimensions (2 for NCHW images).
public struct ConvAttributes: Hashable, Sendable {
    /// Kernel size per spatial dimension (taken from the weight when the file omits it).
    public var kernel: [Int]
    public var strides: [Int]
    /// Explicit pads: all begins, then all ends (ONNX order: top, left, bottom, right for 2-D).
    public var pads: [Int]
    public var dilations: [Int]
    public var group: Int
    /// The epilogue: an activation applied to every output element after the bias, fused in by
    /// the fuse-activation pass (ONNX has no such attribute; the exporter writes it back as a
    /// separate node). nil: none.
    public var activation: FusedActivation?

    public init(kernel: [Int], strides: [Int]? = nil, pads: [Int]? = nil, dilations: [Int]? = nil, group: Int = 1,
                activation: FusedActivation? = nil) {
        self.kernel = kernel
        self.strides = strides ?? Array(repeating: 1, count: kernel.count)
        self.pads = pads ?? Array(repeating: 0, count: 2 * kernel.count)
        self.dilations = dilations ?? Array(repeating: 1, count: kernel.count)
        self.group = group
        self.activation = activation
    }
}

/// An elementwise activation folded into the op that produces its input, so that a runtime applies
/// it while the output is still in registers (or in cache) instead of in a second sweep. It is the
/// one activation type of the whole toolchain: the IR, the interpreter and the backends all use it.
/// Which ops may carry one is `Op.acceptsActivation`.
public enum FusedActivation: Hashable, Sendable {
    case relu
    case leakyRelu(alpha: Float)
    /// Clamps to [min, max]; Relu6 is clip(0, 6). An absent bound is -infinity / +infinity.
    case clip(min: Float, max: Float)
    case hardSwish

    /// The standalone op that computes the same function (what the fused form expands back to).
    public var op: Op {
        switch self {
        case .relu: return .relu
        case .leakyRelu(let alpha): return .leakyRelu(alpha: alpha)
        case .clip(let min, let max): return .clip(min: min, max: max)
        case .hardSwish: return .hardSwish
        }
    }

    /// The fused form of a standalone activation op, or nil when the op cannot be fused.
    public init?(_ op: Op) {
        switch op {
        case .relu: self = .relu
        case .leakyRelu(let alpha): self = .leakyRelu(alpha: alpha)
        case .clip(let min, let max): self = .clip(min: min, max: max)
        case .hardSwish: self = .hardSwish
        default: return nil
        }
    }

    /// Applies the activation to one value (the reference semantics, shared by passes and runtimes).
    public func apply(_ x: Float) -> Float {
        switch self {
        case .relu: return x > 0 ? x : 0
        case .leakyRelu(let alpha): return x >= 0 ? x : alpha * x
        case .clip(let lo, let hi): return Swift.min(Swift.max(x, lo), hi)
        case .hardSwish: return x * Swift.min(Swift.max(x / 6 + 0.5, 0), 1)
        }
    }
}

/// Attributes of MaxPool and AveragePool over N spatial dimensions.
public struct PoolAttributes: Hashable, Sendable {
    public var kernel: [Int]
    public var strides: [Int]
    /// Explicit pads: all begins, then all ends.
    public var pads: [Int]
    public var dilations: [Int]
    /// Output size rounds up instead of down.
    public var ceilMode: Bool
    /// AveragePool only: padded cells count in the divisor.
    public var countIncludePad: Bool

    public init(kernel: [Int], strides: [Int]? = nil, pads: [Int]? = nil, dilations: [Int]? = nil,
                ceilMode: Bool = false, countIncludePad: Bool = false) {
        self.kernel = kernel
        self.strides = strides ?? Array(repeating: 1, count: kernel.count)
        self.pads = pads ?? Array(repeating: 0, count: 2 * kernel.count)
        self.dilations = dilations ?? Array(repeating: 1, count: kernel.count)
        self.ceilMode = ceilMode
        self.countIncludePad = countIncludePad
    }
}

/// Attributes of Gemm: Y = act(alpha · op(A) · op(B) + beta · C).
public struct GemmAttributes: Hashable, Sendable {
    public var alpha: Float
    public var beta: Float
    public var transA: Bool
    public var transB: Bool
    /// The epilogue fused in by a pass, as for `ConvAttributes.activation`.
    public var activation: FusedActivation?

    public init(alpha: Float = 1, beta: Float = 1, transA: Bool = false, transB: Bool = false,
                activation: FusedActivation? = nil) {
        self.alpha = alpha
        self.beta = beta
        self.transA = transA
        self.transB = transB
        self.activation = activation
    }
}

/// How Pad fills the border.
public enum PadMode: String, Hashable, Sendable, CaseIterable {
    case constant, reflect, edge, wrap
}

/// An IR operation. Inputs are positional, as listed per case; every value is float32.
///
/// Integer-valued ONNX inputs (Reshape's shape, Slice's starts, Pad's pads, Clip's bounds, axes)
/// are attributes here: the importer folds them, so every graph has static shapes.
///
/// The ops a backend fuses an activation into (conv, gemm, matmul, batch_norm and the binary
/// arithmetic ops) carry an optional `FusedActivation` epilogue, set only by the fuse-activation
/// pass; `Op.add` (and `.sub`, `.mul`, `.div`, `.matMul`) without arguments is the op without one.
public enum Op: Hashable, Sendable {
    /// Inputs: x, weight [Cout, Cin/group, k...], optional bias [Cout].
    case conv(ConvAttributes)
    /// Inference-mode batch normalization. Inputs: x, scale, bias, mean, variance.
    case batchNormalization(epsilon: Float, activation: FusedActivation? = nil)
    case relu
    case leakyRelu(alpha: Float)
    /// Clamps to [min, max]; an absent bound is -infinity / +infinity. Relu6 is clip(0, 6).
    case clip(min: Float, max: Float)
    case sigmoid
    case hardSigmoid(alpha: Float, beta: Float)
    case hardSwish
    /// Elementwise with ONNX (NumPy) broadcasting. Inputs: a, b.
    case add(activation: FusedActivation?), sub(activation: FusedActivation?), mul(activation: FusedActivation?),
         div(activation: FusedActivation?)
    case maxPool(PoolAttributes)
    case averagePool(PoolAttributes)
    case globalAveragePool
    case reduceMean(axes: [Int], keepDims: Bool)
    /// Local response normalization across channels.
    case lrn(size: Int, alpha: Float, beta: Float, bias: Float)
    /// Inputs: a, b, optional c (unidirectionally broadcast to the output).
    case gemm(GemmAttributes)
    /// NumPy matmul: batched, broadcasting leading dimensions. Inputs: a, b.
    case matMul(activation: FusedActivation?)
    /// Collapses to 2-D: [d0·…·d(axis-1), d(axis)·…].
    case flatten(axis: Int)
    /// ONNX Reshape with the target given statically: 0 copies the input dimension (unless
    /// `allowZero`), -1 is inferred.
    case reshape(shape: [Int], allowZero: Bool)
    case transpose(perm: [Int])
    /// Variadic inputs, joined along `axis`.
    case concat(axis: Int)
    /// One input, one output per entry of `sizes`.
    case split(axis: Int, sizes: [Int])
    /// ONNX Slice with static starts, ends, axes and steps (same length).
    case slice(starts: [Int], ends: [Int], axes: [Int], steps: [Int])
    /// Pads: all begins then all ends, one per input dimension.
    case pad(pads: [Int], mode: PadMode, value: Float)
    /// Softmax over one axis (ONNX opset 13 semantics; the importer rewrites older forms).
    case softmax(axis: Int)
    /// Identity at inference; `ratio` kept for training.
    case dropout(ratio: Float)
    case identity

    /// The binary ops and MatMul without an epilogue (what every importer and pass writes).
    public static var add: Op { .add(activation: nil) }
    public static var sub: Op { .sub(activation: nil) }
    public static var mul: Op { .mul(activation: nil) }
    public static var div: Op { .div(activation: nil) }
    public static var matMul: Op { .matMul(activation: nil) }

    /// The op's name in textual IR, which is also the ONNX op type spelled in lower camel case.
    public var name: String {
        switch self {
        case .conv: return "conv"
        case .batchNormalization: return "batch_norm"
        case .relu: return "relu"
        case .leakyRelu: return "leaky_relu"
        case .clip: return "clip"
        case .sigmoid: return "sigmoid"
        case .hardSigmoid: return "hard_sigmoid"
        case .hardSwish: return "hard_swish"
        case .add: return "add"
        case .sub: return "sub"
        case .mul: return "mul"
        case .div: return "div"
        case .maxPool: return "max_pool"
        case .averagePool: return "average_pool"
        case .globalAveragePool: return "global_average_pool"
        case .reduceMean: return "reduce_mean"
        case .lrn: return "lrn"
        case .gemm: return "gemm"
        case .matMul: return "matmul"
        case .flatten: return "flatten"
        case .reshape: return "reshape"
        case .transpose: return "transpose"
        case .concat: return "concat"
        case .split: return "split"
        case .slice: return "slice"
        case .pad: return "pad"
        case .softmax: return "softmax"
        case .dropout: return "dropout"
        case .identity: return "identity"
        }
    }

    /// True for the ops that may carry a fused activation epilogue.
    public var acceptsActivation: Bool {
        switch self {
        case .conv, .gemm, .matMul, .batchNormalization, .add, .sub, .mul, .div: return true
        default: return false
        }
    }

    /// The fused activation epilogue, nil when there is none or the op takes none.
    public var activation: FusedActivation? {
        switch self {
        case .conv(let a): return a.activation
        case .gemm(let a): return a.activation
        case .batchNormalization(_, let act), .add(let act), .sub(let act), .mul(let act), .div(let act),
             .matMul(let act):
            return act
        default: return nil
        }
    }

    /// The same op with its epilogue replaced by `activation`, or nil when the op takes none.
    public func withActivation(_ activation: FusedActivation?) -> Op? {
        switch self {
        case .conv(var a): a.activation = activation; return .conv(a)
        case .gemm(var a): a.activation = activation; return .gemm(a)
        case .batchNormalization(let eps, _): return .batchNormalization(epsilon: eps, activation: activation)
        case .add: return .add(activation: activation)
        case .sub: return .sub(activation: activation)
        case .mul: return .mul(activation: activation)
        case .div: return .div(activation: activation)
        case .matMul: return .matMul(activation: activation)
        default: return nil
        }
    }

    /// The op without its epilogue (what a kernel computes before the activation).
    public var withoutActivation: Op { withActivation(nil) ?? self }

    /// True for the broadcasting binary arithmetic ops.
    public var isBinaryElementwise: Bool {
        switch self {
        case .add, .sub, .mul, .div: return true
        default: return false
        }
    }

    /// The accepted number of inputs, as a closed range.
    public var inputArity: ClosedRange<Int> {
        switch self {
        case .conv: return 2...3
        case .batchNormalization: return 5...5
        case .gemm: return 2...3
        case .add, .sub, .mul, .div, .matMul: return 2...2
        case .concat: return 1...Int.max
        default: return 1...1
        }
    }

    /// The number of outputs the op produces.
    public var outputCount: Int {
        if case .split(_, let sizes) = self { return sizes.count }
        return 1
    }
}
