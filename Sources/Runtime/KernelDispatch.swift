// KernelDispatch: runs any IR op on concrete tensors by calling the kernel of its family.
import IR

extension Kernels {
    /// Runs `op` on `inputs`. The input shapes are checked by the IR's shape inference first, so
    /// a wrong shape is an error, never a crash.
    public static func execute(_ op: Op, _ inputs: [Tensor]) throws -> [Tensor] {
        let types: [TensorType]
        do {
            types = try ShapeInference.outputTypes(op: op, inputs: inputs.map(\.type))
        } catch let error as IRError {
            throw RuntimeError(error.message)
        }
        return execute(op, inputs, outputShapes: types.map { $0.shape(batch: 0) })
    }

    /// Runs `op` on inputs whose shapes shape inference accepted, giving `outputShapes`. An op's
    /// fused activation (`op.activation`) runs inside its kernel.
    static func execute(_ op: Op, _ inputs: [Tensor], outputShapes: [[Int]]) -> [Tensor] {
        let x = inputs[0]
        let shape = outputShapes[0]
        let activation = op.activation
        switch op {
        case .conv(let a):
            return [conv(x, weight: inputs[1], bias: inputs.count > 2 ? inputs[2] : nil, attributes: a,
                         outputShape: shape, activation: activation)]
        case .batchNormalization(let epsilon, _):
            return [batchNormalization(x, scale: inputs[1], bias: inputs[2], mean: inputs[3], variance: inputs[4],
                                       epsilon: epsilon, activation: activation)]
        case .relu, .leakyRelu, .clip, .sigmoid, .hardSigmoid, .hardSwish, .dropout, .identity:
            return [unary(op, x)]
        case .add, .sub, .mul, .div:
            return [Kernels.activation(binary(BinaryOperator(op) ?? .add, x, inputs[1], shape: shape), activation)]
        case .maxPool(let a):
            return [maxPool(x, attributes: a, outputShape: shape)]
        case .averagePool(let a):
            return [averagePool(x, attributes: a, outputShape: shape)]
        case .globalAveragePool:
            return [globalAveragePool(x, outputShape: shape)]
        case .reduceMean(let axes, let keepDims):
            return [reduceMean(x, axes: axes, keepDims: keepDims, outputShape: shape)]
        case .lrn(let size, let alpha, let beta, let bias):
            return [lrn(x, size: size, alpha: alpha, beta: beta, bias: bias)]
        case .gemm(let a):
            return [gemm(x, inputs[1], inputs.count > 2 ? inputs[2] : nil, attributes: a, outputShape: shape,
                         activation: activation)]
        case .matMul:
            return [Kernels.activation(matMul(x, inputs[1], outputShape: shape), activation)]
        case .flatten, .reshape:
            return [x.reshaped(shape)]
        case .transpose(let perm):
            return [transpose(x, perm: perm)]
        case .concat(let axis):
            return [concat(inputs, axis: axis, outputShape: shape)]
        case .split(let axis, let sizes):
            return split(x, axis: axis, sizes: sizes)
        case .slice(let starts, let ends, let axes, let steps):
            return [slice(x, starts: starts, ends: ends, axes: axes, steps: steps, outputShape: shape)]
        case .pad(let pads, let mode, let value):
            return [pad(x, pads: pads, mode: mode, value: value, outputShape: shape)]
        case .softmax(let axis):
            return [softmax(x, axis: axis)]
        }
    }
}
