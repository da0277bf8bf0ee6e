// Kernels: picks the kernel generator for each step's op.

import IR

extension KernelBuilder {
    /// Fills `body` with the step's kernel, or throws naming the node and op when unsupported.
    func generate() throws {
        switch step.op {
        case .conv(let a): try conv(a)
        case .batchNormalization(let eps, _): batchNorm(epsilon: eps)
        case .relu, .leakyRelu, .clip, .sigmoid, .hardSigmoid, .hardSwish:
            unary(step.op)
        case .add, .sub, .mul, .div: binary(step.op)
        case .maxPool(let a): pool(a, max: true)
        case .averagePool(let a): pool(a, max: false)
        case .globalAveragePool: globalAveragePool()
        case .reduceMean(let axes, _): reduceMean(axes: axes)
        case .lrn(let size, let alpha, let beta, let bias): lrn(size: size, alpha: alpha, beta: beta, bias: bias)
        case .gemm(let a): gemm(a)
        case .matMul: matMul()
        case .transpose(let perm): transpose(perm: perm)
        case .concat(let axis): concat(axis: axis)
        case .split(let axis, _): split(axis: axis)
        case .slice(let starts, let ends, let axes, let steps): slice(starts: starts, ends: ends, axes: axes, steps: steps)
        case .pad(let pads, let mode, let value): pad(pads: pads, mode: mode, value: value)
        case .softmax(let axis): softmax(axis: axis)
        case .flatten, .reshape, .identity, .dropout:
            // Views are aliases (Lowering); one reaching here copies.
            emit(.loop("i", ys().elementCount, [.set("\(y())[i]", "\(x(0))[i]")]))
        }
    }
}
