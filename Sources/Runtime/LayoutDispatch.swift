// LayoutDispatch: runs IR ops on CNHW data where the kernel can, converting to NCHW where it cannot.
import IR

/// A tensor as the interpreter holds it: logical shape N×C×… in `tensor.shape`, stored in `layout`.
struct StoredTensor {
    var tensor: Tensor
    var layout: DataLayout

    /// The tensor in NCHW order (a copy when it is stored CNHW).
    var nchw: Tensor { layout == .nchw ? tensor : Kernels.swapLeadingDimensions(tensor, toLogical: true) }

    /// The tensor in CNHW order (rank-4 tensors only; a copy when it is stored NCHW).
    var cnhw: Tensor { layout == .cnhw ? tensor : Kernels.swapLeadingDimensions(tensor, toLogical: false) }

}

extension Kernels {
    /// Moves the first two dimensions: NCHW data to CNHW (`toLogical` false), or CNHW data back to
    /// NCHW (`toLogical` true). `x.shape` is the logical N×C×… shape either way.
    static func swapLeadingDimensions(_ x: Tensor, toLogical: Bool) -> Tensor {
        let n = x.shape[0], c = x.shape[1], plane = x.shape.dropFirst(2).reduce(1, *)
        let (outer, inner) = toLogical ? (c, n) : (n, c)   // source is outer×inner planes
        return Tensor.filled(shape: x.shape) { out in
            x.scalars.withUnsafeBufferPointer { xb in
                guard let src = xb.baseAddress, let dst = out.baseAddress, plane > 0 else { return }
                for o in 0..<outer {
                    for i in 0..<inner {
                        (dst + (i * outer + o) * plane).update(from: src + (o * inner + i) * plane, count: plane)
                    }
                }
            }
        }
    }

    /// Runs `op` on inputs stored in either layout. At batch > 1, a 2-D convolution writes CNHW,
    /// and the ops that only see planes or channels (BatchNormalization, activations, pools,
    /// broadcasting arithmetic, channel Concat) keep it; GlobalAveragePool and every other op
    /// read NCHW, converting first when needed.
    static func execute(_ op: Op, _ inputs: [StoredTensor], outputShapes: [[Int]]) -> ([Tensor], DataLayout) {
        let activation = op.activation
        let x = inputs[0]
        let shape = outputShapes[0]
        let imageBatch = x.tensor.shape.count == 4 && x.tensor.shape[0] > 1
        if op.isBinaryElementwise, inputs.contains(where: { $0.layout == .cnhw }), shape.count == 4 {
            // Broadcast on the physical C×N×H×W shapes. An operand whose batch dimension is 1 (or
            // absent) has the same memory in both orders; an NCHW one with a batch is converted.
            let operands = inputs.map { t -> Tensor in
                var padded = Array(repeating: 1, count: 4 - t.tensor.shape.count) + t.tensor.shape
                let data = t.layout == .cnhw || padded[0] == 1 ? t.tensor : t.cnhw
                padded.swapAt(0, 1)
                return data.reshaped(padded)
            }
            var physicalShape = shape
            physicalShape.swapAt(0, 1)
            let y = Kernels.activation(binary(BinaryOperator(op) ?? .add, operands[0], operands[1], shape: physicalShape), activation)
            return ([y.reshaped(shape)], .cnhw)
        }
        switch op {
        case .conv(let a) where imageBatch:
            let y = conv(x.tensor, weight: inputs[1].tensor, bias: inputs.count > 2 ? inputs[2].tensor : nil, attributes: a,
                         outputShape: shape, activation: activation,
                         input: x.layout, output: .cnhw)
            return ([y], .cnhw)
        case .batchNormalization(let epsilon, _) where x.layout == .cnhw:
            let y = batchNormalization(x.tensor, scale: inputs[1].tensor, bias: inputs[2].tensor, mean: inputs[3].tensor,
                                       variance: inputs[4].tensor, epsilon: epsilon, activation: activation, layout: .cnhw)
            return ([y], .cnhw)
        case .relu, .leakyRelu, .clip, .sigmoid, .hardSigmoid, .hardSwish, .dropout, .identity:
            return ([unary(op, x.tensor)], x.layout)
        case .maxPool(let a) where x.layout == .cnhw:
            // Pools work plane by plane and CNHW keeps the plane order from input to output.
            return ([maxPool(x.tensor, attributes: a, outputShape: shape)], .cnhw)
        case .averagePool(let a) where x.layout == .cnhw:
            return ([averagePool(x.tensor, attributes: a, outputShape: shape)], .cnhw)
        case .globalAveragePool where x.layout == .cnhw:
            return ([globalAveragePool(x.tensor, outputShape: shape, layout: .cnhw)], .nchw)
        case .concat(let axis) where x.layout == .cnhw && shape.count == 4 && (axis == 1 || axis == -3):
            // Along C, CNHW buffers simply follow one another.
            let parts = inputs.map(\.cnhw)
            let y = Tensor.filled(shape: shape) { out in
                guard let base = out.baseAddress else { return }
                var offset = 0
                for p in parts {
                    p.scalars.withUnsafeBufferPointer { pb in
                        if let src = pb.baseAddress { (base + offset).update(from: src, count: pb.count) }
                    }
                    offset += p.count
                }
            }
            return ([y], .cnhw)
        default:
            return (execute(op, inputs.map(\.nchw), outputShapes: outputShapes), .nchw)
        }
    }
}
