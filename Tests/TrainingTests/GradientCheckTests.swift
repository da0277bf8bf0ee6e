// GradientCheckTests: every trainable op and attribute combination against float64 finite differences.
import IR
import Runtime
import XCTest

final class GradientCheckTests: XCTestCase {
    // MARK: Conv

    private func convCase(x: [Int], w: [Int], bias: Bool = true, _ a: ConvAttributes) throws -> GradientCase {
        var consts = [("w", values(w, seed: 2))]
        if bias { consts.append(("b", values([w[0]], seed: 3))) }
        let xs = values(x, seed: 1)
        let g = try singleOpGraph(.conv(a), inputs: [("x", xs)], constants: consts)
        let out = try g.type(of: "y").fixedShape ?? []
        return GradientCase(graph: g, inputs: ["x": xs]) { v in Ref.conv(v["x"]!, v["w"]!, v["b"], a, out: out) }
    }

    func testConvPlain() throws { try checkGradients(try convCase(x: [2, 3, 5, 5], w: [4, 3, 3, 3], ConvAttributes(kernel: [3, 3]))) }
    func testConvPadded() throws {
        try checkGradients(try convCase(x: [2, 3, 5, 5], w: [4, 3, 3, 3], ConvAttributes(kernel: [3, 3], pads: [1, 1, 1, 1])))
    }
    func testConvAsymmetricPadsAndStride() throws {
        try checkGradients(try convCase(x: [2, 2, 6, 7], w: [3, 2, 3, 2],
                                        ConvAttributes(kernel: [3, 2], strides: [2, 3], pads: [0, 1, 2, 1])))
    }
    func testConvDilation() throws {
        try checkGradients(try convCase(x: [1, 2, 7, 7], w: [2, 2, 3, 3],
                                        ConvAttributes(kernel: [3, 3], pads: [2, 2, 2, 2], dilations: [2, 2])))
    }
    func testConvGroups() throws {
        try checkGradients(try convCase(x: [2, 4, 5, 5], w: [6, 2, 3, 3], ConvAttributes(kernel: [3, 3], pads: [1, 1, 1, 1], group: 2)))
    }
    func testConvDepthwiseStrided() throws {
        try checkGradients(try convCase(x: [2, 3, 6, 6], w: [3, 1, 3, 3],
                                        ConvAttributes(kernel: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], group: 3)))
    }
    func testConvDepthwiseWidePlanes() throws {
        // Planes wide enough for the flat kernel's eight-lane loops, stride 1 and 2.
        try checkGradients(try convCase(x: [2, 2, 9, 11], w: [2, 1, 3, 3],
                                        ConvAttributes(kernel: [3, 3], pads: [1, 1, 1, 1], group: 2)))
        try checkGradients(try convCase(x: [1, 2, 12, 13], w: [2, 1, 3, 3],
                                        ConvAttributes(kernel: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], group: 2)))
    }
    func testConvPointwiseLargePlanes() throws {
        // 14×14 planes: the in-place pointwise backward (no im2col), grouped and not.
        try checkGradients(try convCase(x: [1, 2, 14, 14], w: [3, 2, 1, 1], ConvAttributes(kernel: [1, 1])))
        try checkGradients(try convCase(x: [1, 2, 14, 14], w: [2, 1, 1, 1], bias: false, ConvAttributes(kernel: [1, 1], group: 2)))
    }
    func testConvPointwiseNoBias() throws {
        try checkGradients(try convCase(x: [3, 4, 3, 3], w: [5, 4, 1, 1], bias: false, ConvAttributes(kernel: [1, 1])))
    }
    func testConvFusedActivation() throws {
        // Fused ReLU: the kink at 0 is reached with probability ~0 for random data.
        try checkGradients(try convCase(x: [1, 2, 4, 4], w: [3, 2, 3, 3],
                                        ConvAttributes(kernel: [3, 3], pads: [1, 1, 1, 1], activation: .leakyRelu(alpha: 0.2))))
    }
    func testConv1D() throws {
        try checkGradients(try convCase(x: [2, 3, 9], w: [4, 3, 3], ConvAttributes(kernel: [3], strides: [2], pads: [1, 2])))
    }
    func testConvLargeBatchUsesChunkedGEMM() throws {
        // 3×3 outputs: several images share one GEMM in the backward pass.
        try checkGradients(try convCase(x: [5, 2, 3, 3], w: [3, 2, 3, 3], ConvAttributes(kernel: [3, 3], pads: [1, 1, 1, 1])))
    }

    // MARK: BatchNormalization

    func testBatchNormTraining() throws {
        let x = values([3, 2, 3, 3], seed: 4, lo: -2, hi: 3)
        let g = try singleOpGraph(.batchNormalization(epsilon: 1e-5), inputs: [("x", x)],
                                  constants: [("s", values([2], seed: 5, lo: 0.5, hi: 1.5)), ("b", values([2], seed: 6)),
                                              ("m", Tensor(shape: [2], repeating: 0)), ("v", Tensor(shape: [2], repeating: 1))])
        try checkGradients(GradientCase(graph: g, inputs: ["x": x]) { v in
            Ref.batchNormTraining(v["x"]!, v["s"]!, v["b"]!, eps: 1e-5)
        })
    }

    func testBatchNormInferenceMode() throws {
        let x = values([2, 3, 2, 2], seed: 4)
        let g = try singleOpGraph(.batchNormalization(epsilon: 1e-3), inputs: [("x", x)],
                                  constants: [("s", values([3], seed: 5)), ("b", values([3], seed: 6)),
                                              ("m", values([3], seed: 8)), ("v", values([3], seed: 9, lo: 0.5, hi: 2))])
        var c = GradientCase(graph: g, inputs: ["x": x]) { v in
            Ref.batchNormInference(v["x"]!, v["s"]!, v["b"]!, v["m"]!, v["v"]!, eps: 1e-3)
        }
        c.mode = .inference
        try checkGradients(c)
    }

    func testBatchNormRunningStatisticsUpdate() throws {
        let x = values([4, 2, 2, 2], seed: 4)
        let g = try singleOpGraph(.batchNormalization(epsilon: 1e-5), inputs: [("x", x)],
                                  constants: [("s", Tensor(shape: [2], repeating: 1)), ("b", Tensor(shape: [2], repeating: 0)),
                                              ("m", Tensor(shape: [2], repeating: 0)), ("v", Tensor(shape: [2], repeating: 1))])
        let net = try TrainableGraph(graph: g)
        XCTAssertEqual(net.parameterNames, ["s", "b"])
        XCTAssertEqual(net.bufferNames, ["m", "v"])
        var rng = TrainingRNG(seed: 1)
        _ = try net.forward(["x": x], mode: .training, rng: &rng)
        for ch in 0..<2 {
            var vals: [Double] = []
            for i in 0..<4 { for p in 0..<4 { vals.append(Double(x.scalars[(i * 2 + ch) * 4 + p])) } }
            let mean = vals.reduce(0, +) / 16
            let unbiased = vals.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / 15
            XCTAssertEqual(Double(net.buffers["m"]!.scalars[ch]), 0.1 * mean, accuracy: 1e-6)
            XCTAssertEqual(Double(net.buffers["v"]!.scalars[ch]), 0.9 + 0.1 * unbiased, accuracy: 1e-6)
        }
        // Inference mode leaves the statistics alone.
        let before = net.buffers
        _ = try net.forward(["x": x], mode: .inference, rng: &rng)
        XCTAssertEqual(net.buffers["m"], before["m"])
    }

    // MARK: Activations

    private func activationCase(_ op: Op, kinks: [Float], lo: Float = -4, hi: Float = 4) throws -> GradientCase {
        let x = values([2, 3, 4], seed: 11, lo: lo, hi: hi, avoiding: kinks)
        let g = try singleOpGraph(op, inputs: [("x", x)], constants: [])
        return GradientCase(graph: g, inputs: ["x": x]) { v in R64(v["x"]!.shape, v["x"]!.v.map { Ref.act(op, $0) }) }
    }

    func testRelu() throws { try checkGradients(try activationCase(.relu, kinks: [0])) }
    func testLeakyRelu() throws { try checkGradients(try activationCase(.leakyRelu(alpha: 0.1), kinks: [0])) }
    func testClip() throws { try checkGradients(try activationCase(.clip(min: -1, max: 2), kinks: [-1, 2])) }
    func testRelu6() throws { try checkGradients(try activationCase(.clip(min: 0, max: 6), kinks: [0, 6], lo: -3, hi: 9)) }
    func testSigmoid() throws { try checkGradients(try activationCase(.sigmoid, kinks: [])) }
    func testHardSigmoid() throws { try checkGradients(try activationCase(.hardSigmoid(alpha: 0.2, beta: 0.5), kinks: [-2.5, 2.5])) }
    func testHardSwish() throws { try checkGradients(try activationCase(.hardSwish, kinks: [-3, 3], lo: -5, hi: 5)) }

    // MARK: Pools

    private func poolCase(_ op: Op, x shape: [Int]) throws -> GradientCase {
        // Distinct, well-separated values so that no max ties under a perturbation.
        var rng = TrainingRNG(seed: 12)
        let n = shape.reduce(1, *)
        let x = Tensor(shape: shape, scalars: rng.permutation(n).map { Float($0) * 0.1 })
        let g = try singleOpGraph(op, inputs: [("x", x)], constants: [])
        let out = try g.type(of: "y").fixedShape ?? []
        return GradientCase(graph: g, inputs: ["x": x]) { v in
            switch op {
            case .maxPool(let a): return Ref.pool(v["x"]!, a, out: out, average: false)
            case .averagePool(let a): return Ref.pool(v["x"]!, a, out: out, average: true)
            default: return Ref.globalAveragePool(v["x"]!)
            }
        }
    }

    func testMaxPool2x2() throws { try checkGradients(try poolCase(.maxPool(PoolAttributes(kernel: [2, 2], strides: [2, 2])), x: [2, 2, 4, 4])) }
    func testMaxPool3x3PaddedStrided() throws {
        try checkGradients(try poolCase(.maxPool(PoolAttributes(kernel: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1])), x: [1, 2, 5, 6]))
    }
    func testMaxPoolCeilMode() throws {
        try checkGradients(try poolCase(.maxPool(PoolAttributes(kernel: [2, 2], strides: [2, 2], ceilMode: true)), x: [1, 1, 5, 5]))
    }
    func testAveragePoolExcludingPad() throws {
        try checkGradients(try poolCase(.averagePool(PoolAttributes(kernel: [3, 3], pads: [1, 1, 1, 1])), x: [2, 2, 4, 4]))
    }
    func testAveragePoolIncludingPadStrided() throws {
        try checkGradients(try poolCase(.averagePool(PoolAttributes(kernel: [3, 2], strides: [2, 1], pads: [1, 0, 1, 1],
                                                                    countIncludePad: true)), x: [1, 2, 5, 4]))
    }
    func testAveragePoolCeilMode() throws {
        try checkGradients(try poolCase(.averagePool(PoolAttributes(kernel: [2, 2], strides: [2, 2], ceilMode: true)), x: [1, 1, 5, 5]))
    }
    func testGlobalAveragePool() throws { try checkGradients(try poolCase(.globalAveragePool, x: [2, 3, 3, 4])) }

    // MARK: Gemm and MatMul

    func testGemmAllTransposes() throws {
        for transA in [false, true] {
            for transB in [false, true] {
                let attr = GemmAttributes(alpha: 0.7, beta: 1.3, transA: transA, transB: transB)
                let a = values(transA ? [4, 3] : [3, 4], seed: 20), b = values(transB ? [5, 4] : [4, 5], seed: 21)
                let g = try singleOpGraph(.gemm(attr), inputs: [("a", a)], constants: [("b", b), ("c", values([5], seed: 22))])
                try checkGradients(GradientCase(graph: g, inputs: ["a": a]) { v in Ref.gemm(v["a"]!, v["b"]!, v["c"], attr, out: [3, 5]) })
            }
        }
    }

    func testGemmFullBiasAndNoBias() throws {
        let attr = GemmAttributes(transB: true)
        let a = values([3, 4], seed: 20), b = values([2, 4], seed: 21)
        var g = try singleOpGraph(.gemm(attr), inputs: [("a", a)], constants: [("b", b), ("c", values([3, 2], seed: 22))])
        try checkGradients(GradientCase(graph: g, inputs: ["a": a]) { v in Ref.gemm(v["a"]!, v["b"]!, v["c"], attr, out: [3, 2]) })
        g = try singleOpGraph(.gemm(attr), inputs: [("a", a)], constants: [("b", b)])
        try checkGradients(GradientCase(graph: g, inputs: ["a": a]) { v in Ref.gemm(v["a"]!, v["b"]!, nil, attr, out: [3, 2]) })
    }

    private func matMulCase(_ a: [Int], _ b: [Int]) throws -> GradientCase {
        let x = values(a, seed: 30), w = values(b, seed: 31)
        let g = try singleOpGraph(.matMul, inputs: [("a", x)], constants: [("b", w)])
        let out = try g.type(of: "y").fixedShape ?? []
        return GradientCase(graph: g, inputs: ["a": x]) { v in Ref.matMul(v["a"]!, v["b"]!, out: out) }
    }

    func testMatMul2D() throws { try checkGradients(try matMulCase([3, 4], [4, 2])) }
    func testMatMulBatchedBroadcastRight() throws { try checkGradients(try matMulCase([2, 3, 4], [4, 5])) }
    func testMatMulBatchedBroadcastBoth() throws { try checkGradients(try matMulCase([2, 1, 3, 4], [3, 4, 2])) }
    func testMatMulVectors() throws {
        try checkGradients(try matMulCase([4], [4, 3]))
        try checkGradients(try matMulCase([2, 3, 4], [4]))
    }

    // MARK: Broadcasting arithmetic

    private func binaryCase(_ op: Op, _ a: [Int], _ b: [Int], constantB: Bool = true) throws -> GradientCase {
        let x = values(a, seed: 40), y = values(b, seed: 41, lo: 0.5, hi: 2)
        let g = constantB ? try singleOpGraph(op, inputs: [("a", x)], constants: [("b", y)])
                          : try singleOpGraph(op, inputs: [("a", x), ("b", y)], constants: [])
        let out = try g.type(of: "y").fixedShape ?? []
        var inputs = ["a": x]
        if !constantB { inputs["b"] = y }
        return GradientCase(graph: g, inputs: inputs) { v in Ref.binary(op, v["a"]!, v["b"]!, out: out) }
    }

    func testAddSameShape() throws { try checkGradients(try binaryCase(.add, [2, 3, 2, 2], [2, 3, 2, 2], constantB: false)) }
    func testAddPerChannel() throws { try checkGradients(try binaryCase(.add, [2, 3, 2, 2], [3, 1, 1])) }
    func testMulBroadcastBothWays() throws { try checkGradients(try binaryCase(.mul, [2, 1, 3], [4, 1], constantB: false)) }
    func testMulScalar() throws { try checkGradients(try binaryCase(.mul, [2, 3], [])) }
    func testSubBroadcast() throws { try checkGradients(try binaryCase(.sub, [3, 4], [4], constantB: false)) }
    func testDivBroadcast() throws { try checkGradients(try binaryCase(.div, [2, 3, 2], [3, 1], constantB: false)) }

    // MARK: Data movement and dropout

    func testConcat() throws {
        let a = values([2, 1, 2, 2], seed: 50), b = values([2, 3, 2, 2], seed: 51), c = values([2, 2, 2, 2], seed: 52)
        let g = try singleOpGraph(.concat(axis: 1), inputs: [("a", a), ("b", b), ("c", c)], constants: [])
        try checkGradients(GradientCase(graph: g, inputs: ["a": a, "b": b, "c": c]) { v in
            Ref.concat([v["a"]!, v["b"]!, v["c"]!], axis: 1, out: [2, 6, 2, 2])
        })
    }

    func testFlattenAndReshape() throws {
        let x = values([2, 3, 2, 2], seed: 53)
        var g = try singleOpGraph(.flatten(axis: 1), inputs: [("x", x)], constants: [])
        try checkGradients(GradientCase(graph: g, inputs: ["x": x]) { v in R64([2, 12], v["x"]!.v) })
        g = try singleOpGraph(.reshape(shape: [0, -1, 4], allowZero: false), inputs: [("x", x)], constants: [])
        try checkGradients(GradientCase(graph: g, inputs: ["x": x]) { v in R64([2, 3, 4], v["x"]!.v) })
    }

    func testDropoutWithItsMask() throws {
        let x = values([4, 8], seed: 54, lo: 0.5, hi: 1)
        let g = try singleOpGraph(.dropout(ratio: 0.5), inputs: [("x", x)], constants: [])
        // The mask the engine draws with the harness's seed, recovered from one forward pass.
        let net = try TrainableGraph(graph: g)
        var rng = TrainingRNG(seed: 7)
        let y = try net.value("y", on: try net.forward(["x": x], mode: .training, rng: &rng))
        let mask = zip(y.scalars, x.scalars).map { Double($0 / $1) }
        XCTAssertTrue(mask.allSatisfy { abs($0) < 1e-6 || abs($0 - 2) < 1e-5 }, "mask entries are 0 or 1/(1-ratio)")
        XCTAssertTrue(mask.contains(0) && mask.contains { $0 > 1 })
        let rounded = mask.map { $0 > 1 ? 2.0 : 0 }
        try checkGradients(GradientCase(graph: g, inputs: ["x": x]) { v in R64(v["x"]!.shape, zip(v["x"]!.v, rounded).map { $0 * $1 }) })
        var inference = GradientCase(graph: g, inputs: ["x": x]) { v in v["x"]! }
        inference.mode = .inference
        try checkGradients(inference)
    }

    // MARK: A small network end to end

    func testConvBatchNormReluPoolGemmChain() throws {
        var g = Graph()
        let x = values([3, 2, 6, 6], seed: 60)
        try g.addInput("x", type: x.type)
        try g.addConstant("w", values([4, 2, 3, 3], seed: 61))
        try g.addConstant("s", values([4], seed: 62, lo: 0.5, hi: 1.5))
        try g.addConstant("b", values([4], seed: 63))
        try g.addConstant("m", Tensor(shape: [4], repeating: 0))
        try g.addConstant("v", Tensor(shape: [4], repeating: 1))
        try g.addConstant("fw", values([5, 4], seed: 64))
        try g.addConstant("fb", values([5], seed: 65))
        let c = try g.append(.conv(ConvAttributes(kernel: [3, 3], pads: [1, 1, 1, 1])), ["x", "w"], name: "conv")
        let bn = try g.append(.batchNormalization(epsilon: 1e-5), [c, "s", "b", "m", "v"], name: "bn")
        let r = try g.append(.hardSwish, [bn], name: "act")
        let skip = try g.append(.add, [r, bn], name: "skip")
        let p = try g.append(.globalAveragePool, [skip], name: "gap")
        let f = try g.append(.flatten(axis: 1), [p], name: "flat")
        let y = try g.append(.gemm(GemmAttributes(transB: true)), [f, "fw", "fb"], name: "fc")
        try g.setOutputs([y])
        try checkGradients(GradientCase(graph: g, inputs: ["x": x]) { v in
            let c = Ref.conv(v["x"]!, v["w"]!, nil, ConvAttributes(kernel: [3, 3], pads: [1, 1, 1, 1]), out: [3, 4, 6, 6])
            let bn = Ref.batchNormTraining(c, v["s"]!, v["b"]!, eps: 1e-5)
            let r = R64(bn.shape, bn.v.map { Ref.act(.hardSwish, $0) })
            let s = Ref.binary(.add, r, bn, out: bn.shape)
            let p = Ref.globalAveragePool(s)
            return Ref.gemm(R64([3, 4], p.v), v["fw"]!, v["fb"], GemmAttributes(transB: true), out: [3, 5])
        })
    }

    // MARK: BatchNormalization with the activation it alone feeds (masked in its backward)

    /// x → BatchNormalization → `op` (→ Identity first when `identity`, so nothing is fused).
    private func batchNormActivationGraph(_ op: Op, identity: Bool = false, plane: Int = 5) throws -> (Graph, Tensor) {
        var g = Graph()
        // 5×5 planes: 25 elements, three vectors of eight and a scalar tail per plane.
        let x = values([3, 2, plane, plane], seed: 70, lo: -2, hi: 3)
        try g.addInput("x", type: x.type)
        try g.addConstant("s", values([2], seed: 71, lo: 0.5, hi: 1.5))
        try g.addConstant("b", values([2], seed: 72, lo: -0.3, hi: 0.3))
        try g.addConstant("m", Tensor(shape: [2], repeating: 0))
        try g.addConstant("v", Tensor(shape: [2], repeating: 1))
        var bn = try g.append(.batchNormalization(epsilon: 1e-5), ["x", "s", "b", "m", "v"], name: "bn")
        if identity { bn = try g.append(.identity, [bn], name: "id") }
        let y = try g.append(op, [bn], name: "act")
        try g.setOutputs([y])
        return (g, x)
    }

    func testBatchNormReluGradients() throws {
        let (g, x) = try batchNormActivationGraph(.relu)
        try checkGradients(GradientCase(graph: g, inputs: ["x": x]) { v in
            let bn = Ref.batchNormTraining(v["x"]!, v["s"]!, v["b"]!, eps: 1e-5)
            return R64(bn.shape, bn.v.map { Ref.act(.relu, $0) })
        })
    }

    func testBatchNormClipGradients() throws {
        let clip = Op.clip(min: -0.5, max: 0.8)
        let (g, x) = try batchNormActivationGraph(clip)
        try checkGradients(GradientCase(graph: g, inputs: ["x": x]) { v in
            let bn = Ref.batchNormTraining(v["x"]!, v["s"]!, v["b"]!, eps: 1e-5)
            return R64(bn.shape, bn.v.map { Ref.act(clip, $0) })
        })
    }

    /// The activation's mask applied inside BatchNormalization's backward gives the very floats
    /// of the activation's own backward followed by BatchNormalization's.
    func testMaskedBatchNormBackwardEqualsSeparateBackward() throws {
        for op in [Op.relu, .clip(min: -0.5, max: 0.8)] {
            for plane in [5, 8] {
                var grads: [[String: Tensor]] = []
                for identity in [false, true] {
                    let (g, x) = try batchNormActivationGraph(op, identity: identity, plane: plane)
                    let net = try TrainableGraph(graph: g)
                    var rng = TrainingRNG(seed: 1)
                    let tape = try net.forward(["x": x], mode: .training, rng: &rng)
                    let y = try net.value(g.outputs[0], on: tape)
                    let dy = values(y.shape, seed: 73)
                    grads.append(try net.backward(tape, outputGradients: [g.outputs[0]: dy], inputs: ["x"]))
                }
                for name in ["x", "s", "b"] {
                    XCTAssertEqual(grads[0][name]?.scalars, grads[1][name]?.scalars, "\(op) \(plane)×\(plane): gradient of \(name)")
                }
            }
        }
    }

    func testUnsupportedOpIsNamed() throws {
        let x = values([2, 3], seed: 1)
        let g = try singleOpGraph(.softmax(axis: 1), inputs: [("x", x)], constants: [])
        XCTAssertThrowsError(try TrainableGraph(graph: g)) { error in
            XCTAssertTrue("\(error)".contains("softmax") && "\(error)".contains("'op'"), "\(error)")
        }
    }
}
