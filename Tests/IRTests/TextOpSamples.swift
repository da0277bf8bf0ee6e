// TextOpSamples: one small graph per Op case, with non-default attributes, for the text round-trip tests.

import IR

/// Mirrors the cases of `Op`. Two exhaustive switches tie it to `Op`: adding an `Op` case breaks
/// `kind(of:)`, adding a kind here breaks `TextOpSamples.sample(_:)`, so no op can go untested.
enum OpKind: CaseIterable {
    case conv, batchNormalization, relu, leakyRelu, clip, sigmoid, hardSigmoid, hardSwish
    case add, sub, mul, div, maxPool, averagePool, globalAveragePool, reduceMean, lrn, gemm, matMul
    case flatten, reshape, transpose, concat, split, slice, pad, softmax, dropout, identity

    init(of op: Op) {
        switch op {
        case .conv: self = .conv
        case .batchNormalization: self = .batchNormalization
        case .relu: self = .relu
        case .leakyRelu: self = .leakyRelu
        case .clip: self = .clip
        case .sigmoid: self = .sigmoid
        case .hardSigmoid: self = .hardSigmoid
        case .hardSwish: self = .hardSwish
        case .add: self = .add
        case .sub: self = .sub
        case .mul: self = .mul
        case .div: self = .div
        case .maxPool: self = .maxPool
        case .averagePool: self = .averagePool
        case .globalAveragePool: self = .globalAveragePool
        case .reduceMean: self = .reduceMean
        case .lrn: self = .lrn
        case .gemm: self = .gemm
        case .matMul: self = .matMul
        case .flatten: self = .flatten
        case .reshape: self = .reshape
        case .transpose: self = .transpose
        case .concat: self = .concat
        case .split: self = .split
        case .slice: self = .slice
        case .pad: self = .pad
        case .softmax: self = .softmax
        case .dropout: self = .dropout
        case .identity: self = .identity
        }
    }
}

/// An operand of a sample node: a graph input of some type, or a constant.
enum SampleOperand {
    case input(TensorType)
    case constant(Tensor)
}

/// One op applied to operands, turned into a graph whose outputs are the node's outputs.
struct OpSample {
    var op: Op
    var operands: [SampleOperand]

    /// Names as real ONNX files have them, most of which need quoting in text.
    static let inputNames = ["gpu_0/data_0", "onnx::Conv_123", "475", "/layer1/conv/Conv_output_0", "x.in"]

    func graph() throws -> Graph {
        var g = Graph(name: "sample_" + op.name)
        var operandNames: [String] = []
        for (i, operand) in operands.enumerated() {
            switch operand {
            case .input(let type):
                let name = Self.inputNames[i % Self.inputNames.count] + (i >= Self.inputNames.count ? "_\(i)" : "")
                try g.addInput(name, type: type)
                operandNames.append(name)
            case .constant(let tensor):
                let name = "const_\(i)"
                try g.addConstant(name, tensor)
                operandNames.append(name)
            }
        }
        let outputs = (0..<op.outputCount).map { $0 == 0 ? "y" : "y:\($0)" }
        try g.appendNode(Node(name: op.name + "_node \"0\"", op: op, inputs: operandNames, outputs: outputs))
        try g.setOutputs(outputs)
        return g
    }
}

enum TextOpSamples {
    static let n = Dim.symbol("N")

    static func batch(_ rest: Int...) -> TensorType { TensorType(dims: [n] + rest.map { .fixed($0) }) }

    /// Deterministic, non-round data so that printing has to get the digits right.
    static func tensor(_ shape: [Int], seed: Int = 1) -> Tensor {
        let count = shape.reduce(1, *)
        return Tensor(shape: shape, scalars: (0..<count).map { Float(($0 + seed) * 7919 % 1000) / 333 - 1.5 })
    }

    /// A sample of each kind, with attributes away from their defaults where the op allows it.
    static func sample(_ kind: OpKind) -> OpSample {
        switch kind {
        case .conv:
            return OpSample(op: .conv(ConvAttributes(kernel: [3, 3], strides: [2, 1], pads: [1, 0, 2, 1], dilations: [1, 2], group: 2)),
                            operands: [.input(batch(4, 9, 9)), .constant(tensor([6, 2, 3, 3])), .constant(tensor([6]))])
        case .batchNormalization:
            return OpSample(op: .batchNormalization(epsilon: 1e-3),
                            operands: [.input(batch(3, 4, 4))] + (1...4).map { .constant(tensor([3], seed: $0)) })
        case .relu: return OpSample(op: .relu, operands: [.input(batch(3))])
        case .leakyRelu: return OpSample(op: .leakyRelu(alpha: 0.1), operands: [.input(batch(3))])
        case .clip: return OpSample(op: .clip(min: -.infinity, max: 6.5), operands: [.input(batch(3))])
        case .sigmoid: return OpSample(op: .sigmoid, operands: [.input(batch(3))])
        case .hardSigmoid: return OpSample(op: .hardSigmoid(alpha: 1.0 / 6, beta: 0.25), operands: [.input(batch(3))])
        case .hardSwish: return OpSample(op: .hardSwish, operands: [.input(batch(3))])
        case .add:
            return OpSample(op: .add, operands: [.input(batch(3, 4, 4)), .constant(tensor([3, 1, 1]))])
        case .sub:
            return OpSample(op: .sub, operands: [.input(batch(3)), .input(TensorType(shape: [3]))])
        case .mul:
            return OpSample(op: .mul, operands: [.input(batch(3, 4, 4)), .input(batch(3, 1, 1))])
        case .div:
            return OpSample(op: .div, operands: [.constant(Tensor(scalar: 2)), .input(batch(2))])
        case .maxPool:
            return OpSample(op: .maxPool(PoolAttributes(kernel: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], ceilMode: true)),
                            operands: [.input(batch(3, 8, 8))])
        case .averagePool:
            return OpSample(op: .averagePool(PoolAttributes(kernel: [2, 3], strides: [1, 2], pads: [0, 1, 1, 0],
                                                            dilations: [2, 1], countIncludePad: true)),
                            operands: [.input(batch(3, 7, 7))])
        case .globalAveragePool: return OpSample(op: .globalAveragePool, operands: [.input(batch(8, 5, 5))])
        case .reduceMean:
            return OpSample(op: .reduceMean(axes: [2, -1], keepDims: false), operands: [.input(batch(8, 5, 5))])
        case .lrn:
            return OpSample(op: .lrn(size: 5, alpha: 2e-4, beta: 0.7, bias: 2), operands: [.input(batch(8, 4, 4))])
        case .gemm:
            return OpSample(op: .gemm(GemmAttributes(alpha: 0.5, beta: 2, transA: true, transB: true)),
                            operands: [.input(TensorType(shape: [5, 3])), .constant(tensor([4, 5])), .constant(tensor([4]))])
        case .matMul:
            return OpSample(op: .matMul, operands: [.input(batch(3, 4)), .constant(tensor([4, 5]))])
        case .flatten:
            return OpSample(op: .flatten(axis: 2), operands: [.input(TensorType(shape: [2, 3, 4, 4]))])
        case .reshape:
            return OpSample(op: .reshape(shape: [0, -1, 4], allowZero: false), operands: [.input(batch(3, 4, 4))])
        case .transpose:
            return OpSample(op: .transpose(perm: [0, 2, 3, 1]), operands: [.input(batch(3, 4, 5))])
        case .concat:
            return OpSample(op: .concat(axis: -3),
                            operands: [.input(batch(2, 4, 4)), .input(batch(3, 4, 4)), .input(batch(1, 4, 4))])
        case .split:
            return OpSample(op: .split(axis: 1, sizes: [2, 1, 3]), operands: [.input(batch(6, 4, 4))])
        case .slice:
            return OpSample(op: .slice(starts: [1, -1], ends: [Int.max, Int.min], axes: [2, 3], steps: [2, -1]),
                            operands: [.input(batch(3, 8, 8))])
        case .pad:
            return OpSample(op: .pad(pads: [0, 0, 1, 2, 0, 0, 3, 4], mode: .reflect, value: -1.5),
                            operands: [.input(batch(3, 8, 8))])
        case .softmax: return OpSample(op: .softmax(axis: 1), operands: [.input(batch(10, 2))])
        case .dropout: return OpSample(op: .dropout(ratio: 0.25), operands: [.input(batch(3))])
        case .identity: return OpSample(op: .identity, operands: [.input(batch(3))])
        }
    }
}
