// CostModelTests: hand-computed MACs, other ops and parameters per op, and ResNet-18 as a whole.
import XCTest
@testable import IR

private func T(_ dims: Int...) -> TensorType { TensorType(shape: dims) }
private func NT(_ dims: Int...) -> TensorType { TensorType(dims: [.symbol("N")] + dims.map { .fixed($0) }) }

/// A graph of one node reading input "x" (and "x2" when given) and the listed constants.
private func single(_ op: Op, x: TensorType, x2: TensorType? = nil, constants: [(String, [Int])] = []) throws -> Graph {
    var g = Graph()
    try g.addInput("x", type: x)
    var inputs = ["x"]
    if let x2 {
        try g.addInput("x2", type: x2)
        inputs.append("x2")
    }
    for (name, shape) in constants {
        try g.addConstant(name, Tensor(shape: shape, repeating: 0.5))
        inputs.append(name)
    }
    let y = try g.append(op, inputs, name: "node")
    try g.setOutputs([y])
    return g
}

private func cost(_ g: Graph, batch: Int = 1) throws -> NodeCost {
    try CostModel.report(g, batch: batch).totals
}

final class CostModelTests: XCTestCase {
    // MARK: MACs

    func testConvWithGroupsStridesPadsDilation() throws {
        // 10×10, pad 1, dilation 2 (span 5), stride 2: floor((10 + 2 - 5) / 2) + 1 = 4.
        // MACs = N·Cout·Hout·Wout·(Cin/group)·kh·kw = 1·16·4·4·(8/2)·3·3 = 9216.
        let a = ConvAttributes(kernel: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], dilations: [2, 2], group: 2)
        let g = try single(.conv(a), x: T(1, 8, 10, 10), constants: [("w", [16, 4, 3, 3]), ("b", [16])])
        XCTAssertEqual(try g.type(of: "node"), T(1, 16, 4, 4))
        // The bias add is not counted; parameters are weight + bias.
        XCTAssertEqual(try cost(g), NodeCost(macs: 9216, parameters: 16 * 4 * 9 + 16, otherOps: 0))
    }

    func testDepthwiseAndOneDimensionalConv() throws {
        // Depthwise 3×3 pad 1 on 56×56: 32·56·56·1·9.
        let dw = try single(.conv(ConvAttributes(kernel: [3, 3], pads: [1, 1, 1, 1], group: 32)),
                            x: T(1, 32, 56, 56), constants: [("w", [32, 1, 3, 3])])
        XCTAssertEqual(try cost(dw), NodeCost(macs: 903_168, parameters: 288))
        // 1-D: [2, 4, 11] stride 2 kernel 3 → [2, 8, 5]; 2·8·5·4·3.
        let c1 = try single(.conv(ConvAttributes(kernel: [3], strides: [2])), x: T(2, 4, 11), constants: [("w", [8, 4, 3])])
        XCTAssertEqual(try cost(c1).macs, 960)
    }

    func testSymbolicBatchIsCountedAsTheBatchArgument() throws {
        let g = try single(.conv(ConvAttributes(kernel: [1, 1])), x: NT(4, 5, 5), constants: [("w", [6, 4, 1, 1])])
        XCTAssertEqual(try cost(g).macs, 6 * 25 * 4)
        XCTAssertEqual(try cost(g, batch: 8), NodeCost(macs: 8 * 6 * 25 * 4, parameters: 24))
        XCTAssertThrowsError(try CostModel.report(g, batch: 0)) { error in
            XCTAssertEqual((error as? IRError)?.message, "batch size must be >= 1, got 0")
        }
    }

    func testGemm() throws {
        // Classifier: M = batch, N = 1000, K = 512 with transB; bias not counted as ops.
        let fc = try single(.gemm(GemmAttributes(transB: true)), x: NT(512), constants: [("w", [1000, 512]), ("b", [1000])])
        XCTAssertEqual(try cost(fc), NodeCost(macs: 512_000, parameters: 513_000))
        XCTAssertEqual(try cost(fc, batch: 3).macs, 1_536_000)
        // transA: A is [K = 6, M = 4], B is [6, 5]: 4·5·6.
        let ta = try single(.gemm(GemmAttributes(transA: true)), x: T(6, 4), x2: T(6, 5))
        XCTAssertEqual(try cost(ta), NodeCost(macs: 120))
    }

    func testMatMul() throws {
        // Batch dims [2, 1] and [5] broadcast to [2, 5]: 2·5 · M 3 · N 6 · K 4.
        XCTAssertEqual(try cost(single(.matMul, x: T(2, 1, 3, 4), x2: T(5, 4, 6))).macs, 2 * 5 * 3 * 6 * 4)
        // 1-D operands: a dot product is K MACs; matrix·vector is M·K; vector·batched matrix 2·N·K.
        XCTAssertEqual(try cost(single(.matMul, x: T(4), x2: T(4))).macs, 4)
        XCTAssertEqual(try cost(single(.matMul, x: T(3, 4), x2: T(4))).macs, 12)
        XCTAssertEqual(try cost(single(.matMul, x: T(4), x2: T(2, 4, 5))).macs, 2 * 5 * 4)
        let sym = try single(.matMul, x: NT(3, 4), constants: [("b", [4, 6])])
        XCTAssertEqual(try cost(sym, batch: 2), NodeCost(macs: 2 * 3 * 6 * 4, parameters: 24))
    }

    // MARK: Other ops

    func testElementwiseAndNormalizationCountOutputElements() throws {
        let x = NT(64, 56, 56)
        let n = 64 * 56 * 56
        for op: Op in [.relu, .leakyRelu(alpha: 0.1), .clip(min: 0, max: 6), .sigmoid, .hardSigmoid(alpha: 0.2, beta: 0.5),
                       .hardSwish, .softmax(axis: 1), .lrn(size: 5, alpha: 1e-4, beta: 0.75, bias: 1)] {
            XCTAssertEqual(try cost(single(op, x: x)), NodeCost(otherOps: n), op.name)
        }
        for op: Op in [.add, .sub, .mul, .div] {
            // Broadcast [3,1,1] against [1,3,8,8]: one op per output element; the constant is a parameter.
            XCTAssertEqual(try cost(single(op, x: T(1, 3, 8, 8), constants: [("c", [3, 1, 1])])),
                           NodeCost(parameters: 3, otherOps: 192), op.name)
        }
        let bn = try single(.batchNormalization(epsilon: 1e-5), x: T(1, 16, 4, 4),
                            constants: [("s", [16]), ("b", [16]), ("m", [16]), ("v", [16])])
        XCTAssertEqual(try cost(bn), NodeCost(parameters: 64, otherOps: 256))
    }

    func testPoolsAndReductions() throws {
        // Max pool 3×3 stride 2 pad 1, 112 → 56: output elements × 9.
        let mp = try single(.maxPool(PoolAttributes(kernel: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1])), x: T(1, 64, 112, 112))
        XCTAssertEqual(try cost(mp), NodeCost(otherOps: 64 * 56 * 56 * 9))
        let ap = try single(.averagePool(PoolAttributes(kernel: [2, 2], strides: [2, 2])), x: T(1, 8, 7, 7))
        XCTAssertEqual(try cost(ap), NodeCost(otherOps: 8 * 3 * 3 * 4))
        // Global pool and reduce-mean: one op per input element.
        XCTAssertEqual(try cost(single(.globalAveragePool, x: T(1, 512, 7, 7))), NodeCost(otherOps: 25_088))
        XCTAssertEqual(try cost(single(.reduceMean(axes: [2, 3], keepDims: false), x: T(1, 512, 7, 7))), NodeCost(otherOps: 25_088))
    }

    func testDataMovementIsFree() throws {
        let x = NT(4, 6, 6)
        let ops: [Op] = [.flatten(axis: 1), .reshape(shape: [0, -1], allowZero: false), .transpose(perm: [0, 2, 3, 1]),
                         .concat(axis: 1), .split(axis: 1, sizes: [1, 3]),
                         .slice(starts: [1], ends: [5], axes: [2], steps: [2]),
                         .pad(pads: [0, 0, 1, 1, 0, 0, 1, 1], mode: .reflect, value: 0), .dropout(ratio: 0.5), .identity]
        for op in ops { XCTAssertEqual(try cost(single(op, x: x)), NodeCost(), op.name) }
    }

    // MARK: Parameters

    func testSharedConstantsCountOnceInTheTotal() throws {
        var g = Graph()
        try g.addInput("x", type: NT(3, 4, 4))
        try g.addConstant("s", Tensor(shape: [3, 1, 1], repeating: 2))
        try g.addConstant("unused", Tensor(shape: [100], repeating: 0))
        try g.addConstant("w", .elided(shape: [5, 3, 1, 1]))
        let a = try g.append(.mul, ["x", "s"], name: "scale_a")
        let b = try g.append(.mul, [a, "s"], name: "scale_b")
        let c = try g.append(.add, ["s", "s"], name: "double")   // reads s twice: counted once
        let d = try g.append(.conv(ConvAttributes(kernel: [1, 1])), [b, "w"], name: "proj")
        try g.setOutputs([c, d])
        let report = try CostModel.report(g, batch: 2)
        XCTAssertEqual(report.batch, 2)
        XCTAssertEqual(report.rows.map(\.node), ["scale_a", "scale_b", "double", "proj"])
        XCTAssertEqual(report.rows.map(\.op), ["mul", "mul", "add", "conv"])
        XCTAssertEqual(report.rows.map(\.outputTypes), [[NT(3, 4, 4)], [NT(3, 4, 4)], [T(3, 1, 1)], [NT(5, 4, 4)]])
        XCTAssertEqual(report.rows.map(\.cost.parameters), [3, 3, 3, 15])
        // s (3) and the elided w (15) once each; "unused" is read by no node.
        XCTAssertEqual(report.totals, NodeCost(macs: 2 * 5 * 16 * 3, parameters: 18, otherOps: 2 * 48 + 2 * 48 + 3))
        XCTAssertEqual(try CostModel.cost(of: g.nodes[3], in: g, batch: 2), report.rows[3].cost)
    }

    // MARK: ResNet-18

    /// torchvision's resnet18 at 224×224 and 1000 classes, weights elided.
    ///
    /// MACs (conv + fc) are 1,814,073,344, the 1.81 G usually quoted. torchvision reports
    /// 11,689,512 parameters: trainable ones only, so each BatchNorm adds its scale and bias. The
    /// cost model counts every constant element, so the running mean and variance of the 20
    /// BatchNorms (4,800 channels in all) add 2 · 4,800 = 9,600: 11,699,112.
    func testResNet18() throws {
        var net = ResNetBuilder()
        let g = try net.resnet18()
        XCTAssertEqual(Verifier.diagnostics(g), [])
        XCTAssertEqual(try g.type(of: g.outputs[0]), NT(1000))
        XCTAssertEqual(net.batchNormChannels, 4_800)

        let report = try CostModel.report(g)
        XCTAssertEqual(report.totals.macs, 1_814_073_344)
        XCTAssertEqual(Double(report.totals.macs), 1.814e9, accuracy: 0.005 * 1.814e9)
        XCTAssertEqual(report.totals.parameters, 11_689_512 + 2 * 4_800)
        // BatchNorm and Relu per element, the adds, the stem max pool (× 9) and the global pool:
        // worked out independently from the layer sizes.
        XCTAssertEqual(report.totals.otherOps, 7_375_872)
        XCTAssertEqual(report.rows.count, g.nodes.count)
        XCTAssertEqual(try CostModel.report(g, batch: 4).totals.macs, 4 * 1_814_073_344)
    }
}

/// Builds torchvision-layout ResNets through the Graph API.
private struct ResNetBuilder {
    var g = Graph(name: "resnet18")
    var batchNormChannels = 0

    mutating func resnet18() throws -> Graph {
        try g.addInput("input", type: NT(3, 224, 224))
        var x = try conv("input", cout: 64, k: 7, stride: 2, name: "conv1")
        x = try g.append(.relu, [try bn(x, name: "bn1")], name: "relu")
        x = try g.append(.maxPool(PoolAttributes(kernel: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1])), [x], name: "maxpool")
        for (stage, (width, stride)) in [(64, 1), (128, 2), (256, 2), (512, 2)].enumerated() {
            x = try basicBlock(x, cout: width, stride: stride, name: "layer\(stage + 1).0")
            x = try basicBlock(x, cout: width, stride: 1, name: "layer\(stage + 1).1")
        }
        x = try g.append(.globalAveragePool, [x], name: "avgpool")
        x = try g.append(.flatten(axis: 1), [x], name: "flatten")
        try g.addConstant("fc.weight", .elided(shape: [1000, 512]))
        try g.addConstant("fc.bias", .elided(shape: [1000]))
        x = try g.append(.gemm(GemmAttributes(transB: true)), [x, "fc.weight", "fc.bias"], name: "fc")
        try g.setOutputs([x])
        return g
    }

    private mutating func conv(_ x: String, cout: Int, k: Int, stride: Int, name: String) throws -> String {
        guard let cin = try g.type(of: x).dims[1].value else { throw IRError("symbolic channels") }
        try g.addConstant("\(name).weight", .elided(shape: [cout, cin, k, k]))
        let p = k / 2
        return try g.append(.conv(ConvAttributes(kernel: [k, k], strides: [stride, stride], pads: [p, p, p, p])),
                            [x, "\(name).weight"], name: name)
    }

    private mutating func bn(_ x: String, name: String) throws -> String {
        guard let c = try g.type(of: x).dims[1].value else { throw IRError("symbolic channels") }
        let params = ["weight", "bias", "running_mean", "running_var"].map { "\(name).\($0)" }
        for p in params { try g.addConstant(p, .elided(shape: [c])) }
        batchNormChannels += c
        return try g.append(.batchNormalization(epsilon: 1e-5), [x] + params, name: name)
    }

    private mutating func basicBlock(_ x: String, cout: Int, stride: Int, name: String) throws -> String {
        guard let cin = try g.type(of: x).dims[1].value else { throw IRError("symbolic channels") }
        var y = try bn(try conv(x, cout: cout, k: 3, stride: stride, name: "\(name).conv1"), name: "\(name).bn1")
        y = try g.append(.relu, [y], name: "\(name).relu1")
        y = try bn(try conv(y, cout: cout, k: 3, stride: 1, name: "\(name).conv2"), name: "\(name).bn2")
        var shortcut = x
        if stride != 1 || cin != cout {
            shortcut = try bn(try conv(x, cout: cout, k: 1, stride: stride, name: "\(name).downsample.0"),
                              name: "\(name).downsample.1")
        }
        let sum = try g.append(.add, [y, shortcut], name: "\(name).add")
        return try g.append(.relu, [sum], name: "\(name).relu2")
    }
}
