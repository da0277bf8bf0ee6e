// TextFixtures: a small CNN with real-world value names and awkward float data, for the text tests.

import IR

enum TextFixtures {
    /// Sixteen floats whose text is easy to get wrong: signed zero, NaNs with sign and payload
    /// (a signaling one too), infinities, the extremes, and values with no short decimal form.
    static let specialFloats: [Float] = [
        0.1, -2, 3.5e-7, .infinity, -.infinity, .nan, -.nan, Float(bitPattern: 0x7fc0_0001),
        Float(bitPattern: 0xffa0_0000), -0.0, .leastNonzeroMagnitude, .greatestFiniteMagnitude,
        -.leastNormalMagnitude, 1.0 / 3, 16_777_216, 0,
    ]

    /// conv → relu → split → (global pool → flatten → gemm → softmax, and the split's other half).
    static func model() throws -> Graph {
        var g = Graph(name: "tiny-net v1")
        try g.addInput("gpu_0/data_0", type: TensorType(dims: [.symbol("N"), .fixed(1), .fixed(8), .fixed(8)]))
        try g.addConstant("onnx::Conv_1", TextOpSamples.tensor([16, 1, 3, 3]))
        try g.addConstant("conv.bias", Tensor(shape: [16], scalars: specialFloats))
        try g.addConstant("fc.weight", TextOpSamples.tensor([3, 10], seed: 5))
        try g.addConstant("fc.bias", Tensor(shape: [3], scalars: [1e-8, -1e8, 0.5]))
        try g.appendNode(Node(name: "Conv_0", op: .conv(ConvAttributes(kernel: [3, 3], pads: [1, 1, 1, 1])),
                              inputs: ["gpu_0/data_0", "onnx::Conv_1", "conv.bias"], outputs: ["/layer1/conv/Conv_output_0"]))
        try g.appendNode(Node(name: "Relu_1", op: .relu, inputs: ["/layer1/conv/Conv_output_0"], outputs: ["475"]))
        try g.appendNode(Node(name: "Split_2", op: .split(axis: 1, sizes: [10, 6]), inputs: ["475"], outputs: ["s0", "s1"]))
        try g.appendNode(Node(name: "GlobalAveragePool_3", op: .globalAveragePool, inputs: ["s0"], outputs: ["pooled"]))
        try g.appendNode(Node(name: "Flatten_4", op: .flatten(axis: 1), inputs: ["pooled"], outputs: ["flat"]))
        try g.appendNode(Node(name: "Gemm_5", op: .gemm(GemmAttributes(transB: true)),
                              inputs: ["flat", "fc.weight", "fc.bias"], outputs: ["logits"]))
        try g.appendNode(Node(name: "Softmax_6", op: .softmax(axis: 1), inputs: ["logits"], outputs: ["probs"]))
        try g.setOutputs(["probs", "s1"])
        return g
    }

    /// A graph holding one constant `c` with these values, which is also its output.
    static func constantGraph(_ values: [Float]) throws -> Graph {
        var g = Graph(name: "floats")
        try g.addConstant("c", Tensor(shape: [values.count], scalars: values))
        try g.setOutputs(["c"])
        return g
    }
}
