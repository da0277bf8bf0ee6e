// TrainingStep: one node's forward (keeping what its gradient needs) and backward, per op.
import IR

/// What one step's forward pass keeps for its backward pass, beyond the input and output values.
enum SavedState {
    case none
    /// Normalized input and 1/sqrt(var + eps) per channel; the batch mean and (biased) variance.
    case batchNorm(xhat: Tensor, invStd: [Float], mean: [Float], variance: [Float])
    /// For each output element, the input index (within its plane) that won, or -1.
    case maxPool(argmax: [Int32])
    /// The dropout multiplier of each element (0 or 1/(1 − ratio)).
    case dropout(mask: [Float])
    /// A conv's output before its fused activation.
    case preActivation(Tensor)
}

/// A compiled node for training: slots of its inputs and output, and the output's type.
struct TrainingStep {
    var name: String
    var op: Op
    var inputs: [Int]
    var output: Int
    var outputType: TensorType

    /// Throws unless the engine can run `node` forward and backward.
    static func checkSupported(_ node: Node, graph: Graph) throws {
        let rank = (try? graph.type(of: node.inputs[0]).rank) ?? 0
        if node.op.activation != nil, !{ if case .conv = node.op { return true } else { return false } }() {
            // Only canonicalize's form (activations fused into convs) is trained; `lower` output is for executors.
            throw RuntimeError.node(node.name, "a fused activation on \(node.op.name) is not supported by the training engine "
                                    + "(train the graph before the `lower` pipeline)")
        }
        switch node.op {
        case .conv, .maxPool, .averagePool:
            guard rank == 4 || rank == 3 else {
                throw RuntimeError.node(node.name, "\(node.op.name) is trainable over 1-D and 2-D inputs only (this input has rank \(rank))")
            }
        case .batchNormalization, .relu, .leakyRelu, .clip, .sigmoid, .hardSigmoid, .hardSwish, .add, .sub, .mul, .div,
             .globalAveragePool, .gemm, .matMul, .flatten, .reshape, .concat, .dropout, .identity, .slice:
            break
        default:
            throw RuntimeError.node(node.name, "op \(node.op.name) is not supported by the training engine")
        }
    }

    func forward(_ x: [Tensor], outputShape: [Int], mode: TrainableGraph.Mode, rng: inout TrainingRNG,
                 momentum: Float) -> (Tensor, SavedState) {
        switch op {
        case .conv(let a):
            var plain = a
            plain.activation = nil
            let z = Kernels.conv(x[0], weight: x[1], bias: x.count > 2 ? x[2] : nil, attributes: plain, outputShape: outputShape)
            guard let f = a.activation else { return (z, .none) }
            return (Kernels.activation(z, f), .preActivation(z))
        case .batchNormalization(let epsilon, _):
            if mode != .inference {
                let r = BatchNormTraining.forward(x[0], scale: x[1], bias: x[2], epsilon: epsilon)
                return (r.y, .batchNorm(xhat: r.xhat, invStd: r.invStd, mean: r.mean, variance: r.variance))
            }
            return (Kernels.batchNormalization(x[0], scale: x[1], bias: x[2], mean: x[3], variance: x[4], epsilon: epsilon), .none)
        case .maxPool(let a):
            let r = PoolGradients.maxPoolForward(x[0], a, outputShape: outputShape)
            return (r.y, .maxPool(argmax: r.argmax))
        case .dropout(let ratio):
            guard mode == .training, ratio > 0 else { return (x[0], .none) }
            let keep = 1 - ratio
            let scale = keep > 0 ? 1 / keep : 0
            var mask = [Float](repeating: 0, count: x[0].count)
            for i in mask.indices { mask[i] = rng.nextUnitFloat() < ratio ? 0 : scale }
            var y = x[0]
            for i in mask.indices { y.scalars[i] *= mask[i] }
            return (y, .dropout(mask: mask))
        case .flatten, .reshape, .identity:
            return (Tensor(shape: outputShape, scalars: x[0].scalars), .none)
        default:
            return (Kernels.execute(op, x, outputShapes: [outputShape])[0], .none)
        }
    }

    /// The gradient of each input (nil where `needs` is false or the input is not differentiable).
    /// `activationMask` (training-mode BatchNormalization only): `dy` is the gradient of the
    /// output's only reader, that activation, whose mask the backward applies.
    func backward(_ x: [Tensor], y: Tensor, dy: Tensor, saved: SavedState, needs: [Bool],
                  activationMask: ActivationMask? = nil) -> [Tensor?] {
        switch op {
        case .conv(let a):
            var d = dy
            if let f = a.activation, case .preActivation(let z) = saved {
                d = ElementwiseGradients.activation(f.op, x: z, y: y, dy: dy)
            }
            let r = ConvGradients.backward(x: x[0], weight: x[1], dy: d, attributes: a, needInput: needs[0],
                                           needWeight: needs[1], needBias: x.count > 2 && needs[2])
            return x.count > 2 ? [r.dx, r.dw, r.db] : [r.dx, r.dw]
        case .batchNormalization(let epsilon, _):
            if case .batchNorm(let xhat, let invStd, _, _) = saved {
                let r = BatchNormTraining.backward(dy: dy, xhat: xhat, invStd: invStd, scale: x[1], bias: x[2],
                                                   activation: activationMask)
                return [r.dx, r.dscale, r.dbias, nil, nil]
            }
            let r = BatchNormTraining.inferenceBackward(dy: dy, x: x[0], scale: x[1], mean: x[3], variance: x[4], epsilon: epsilon)
            return [r.dx, r.dscale, r.dbias, nil, nil]
        case .relu, .leakyRelu, .clip, .sigmoid, .hardSigmoid, .hardSwish:
            return [ElementwiseGradients.activation(op, x: x[0], y: y, dy: dy)]
        case .identity:
            return [dy]
        case .dropout:
            guard case .dropout(let mask) = saved else { return [dy] }
            var d = dy
            for i in mask.indices { d.scalars[i] *= mask[i] }
            return [d]
        case .flatten, .reshape:
            return [Tensor(shape: x[0].shape, scalars: dy.scalars)]
        case .add, .sub, .mul, .div:
            let r = ElementwiseGradients.binary(op, x[0], x[1], dy: dy, needs: needs)
            return [r.0, r.1]
        case .maxPool:
            guard case .maxPool(let argmax) = saved else { return [nil] }
            return [PoolGradients.maxPoolBackward(dy: dy, argmax: argmax, inputShape: x[0].shape)]
        case .averagePool(let a):
            return [PoolGradients.averagePoolBackward(dy: dy, a, inputShape: x[0].shape)]
        case .globalAveragePool:
            return [PoolGradients.globalAveragePoolBackward(dy: dy, inputShape: x[0].shape)]
        case .gemm(let a):
            let r = LinearGradients.gemm(x[0], x[1], x.count > 2 ? x[2] : nil, a, dy: dy, needs: needs)
            return x.count > 2 ? [r.da, r.db, r.dc] : [r.da, r.db]
        case .matMul:
            let r = LinearGradients.matMul(x[0], x[1], dy: dy, needs: needs)
            return [r.da, r.db]
        case .slice(let starts, let ends, let axes, let steps):
            return [SliceGradients.backward(dy: dy, inputShape: x[0].shape, starts: starts, ends: ends, axes: axes, steps: steps)]
        case .concat(let axis):
            let rank = dy.shape.count
            let a = resolvedAxis(axis, rank: rank)
            return Kernels.split(dy, axis: a, sizes: x.map { $0.shape[a] }).map { Optional($0) }
        default:
            return x.map { _ in nil }
        }
    }
}
