// VerifierTests: well-formed graphs pass; each broken invariant is reported, naming the node.
import XCTest
@testable import IR

private func NT(_ dims: Int...) -> TensorType { TensorType(dims: [.symbol("N")] + dims.map { .fixed($0) }) }

/// x → conv0 → bn0 → relu0 → gap → flat → fc, with a symbolic batch.
private func smallNet() throws -> Graph {
    var g = Graph(name: "small")
    try g.addInput("x", type: NT(3, 8, 8))
    try g.addConstant("w", Tensor(shape: [4, 3, 3, 3], repeating: 0.1))
    for p in ["scale", "bias", "mean", "var"] { try g.addConstant(p, Tensor(shape: [4], repeating: 1)) }
    try g.addConstant("fcw", Tensor(shape: [10, 4], repeating: 0.1))
    try g.addConstant("fcb", Tensor(shape: [10], repeating: 0))
    let c = try g.append(.conv(ConvAttributes(kernel: [3, 3], pads: [1, 1, 1, 1])), ["x", "w"], name: "conv0")
    let b = try g.append(.batchNormalization(epsilon: 1e-5), [c, "scale", "bias", "mean", "var"], name: "bn0")
    let r = try g.append(.relu, [b], name: "relu0")
    let p = try g.append(.globalAveragePool, [r], name: "gap")
    let f = try g.append(.flatten(axis: 1), [p], name: "flat")
    let y = try g.append(.gemm(GemmAttributes(transB: true)), [f, "fcw", "fcb"], name: "fc")
    try g.setOutputs([y])
    return g
}

/// The messages of all diagnostics, with the node they name.
private func problems(_ g: Graph) -> [String] { Verifier.diagnostics(g).map(\.description) }
private func problems(_ p: Verifier.Parts) -> [String] { Verifier.diagnostics(p).map(\.description) }

private func assertReports(_ found: [String], _ fragment: String, file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertTrue(found.contains { $0.contains(fragment) }, "no diagnostic mentions '\(fragment)': \(found)", file: file, line: line)
}

final class VerifierTests: XCTestCase {
    func testWellFormedGraphPasses() throws {
        let g = try smallNet()
        XCTAssertEqual(problems(g), [])
        XCTAssertNoThrow(try Verifier.verify(g))
    }

    func testElidedConstantsAreAllowed() throws {
        var g = Graph()
        try g.addInput("x", type: NT(3, 8, 8))
        try g.addConstant("w", .elided(shape: [4, 3, 3, 3]))
        let y = try g.append(.conv(ConvAttributes(kernel: [3, 3])), ["x", "w"], name: "conv0")
        try g.setOutputs([y])
        XCTAssertEqual(problems(g), [])
    }

    func testVerifyThrowsTheFirstDiagnostic() throws {
        var g = try smallNet()
        try g.append(.clip(min: 6, max: 0), ["x"], name: "bad_clip")
        let all = Verifier.diagnostics(g)
        XCTAssertEqual(all.count, 1)
        XCTAssertThrowsError(try Verifier.verify(g)) { XCTAssertEqual($0 as? IRError, all.first) }
        XCTAssertEqual(all.first?.node, "bad_clip")
    }

    // MARK: Graph-level rules

    func testMissingOutputs() throws {
        var g = Graph()
        try g.addInput("x", type: NT(3))
        try g.append(.relu, ["x"], name: "relu0")
        XCTAssertEqual(problems(g), ["the graph has no outputs"])
    }

    func testOutputsUndefinedOrRepeated() throws {
        var p = Verifier.Parts(try smallNet())
        p.outputs = ["fc", "nowhere", "fc"]
        let found = problems(p)
        assertReports(found, "graph output 'nowhere' is not defined")
        assertReports(found, "graph output 'fc' is listed twice")
    }

    func testOnlyTheLeadingDimensionMayBeSymbolic() throws {
        let x = TensorType(dims: [.fixed(1), .symbol("C"), .fixed(4)]), z = TensorType(dims: [.fixed(-2)])
        // Built from parts: the mutation API refuses both inputs (below).
        var p = Verifier.Parts(Graph())
        p.inputs = [GraphInput(name: "x", type: x), GraphInput(name: "z", type: z)]
        p.types = ["x": x, "z": z]
        p.outputs = ["x", "z"]
        let found = problems(p)
        assertReports(found, "'x' has symbolic dimension 'C' at position 1")
        assertReports(found, "'z' has negative size -2")
        var g = Graph()
        XCTAssertThrowsError(try g.addInput("x", type: x)) { XCTAssertTrue("\($0)".contains("symbolic dimension 'C' at position 1"), "\($0)") }
        XCTAssertThrowsError(try g.addInput("z", type: z)) { XCTAssertTrue("\($0)".contains("negative size -2"), "\($0)") }
        XCTAssertTrue(g.inputs.isEmpty)
    }

    func testConstantWhoseDataDoesNotFitItsShape() throws {
        var g = try smallNet()
        var bad = Tensor(shape: [2], repeating: 0)
        bad.shape = [3]
        try g.addConstant("bad", bad)
        var elided = Tensor.elided(shape: [2])
        elided.scalars = [1]
        try g.addConstant("half", elided)
        let found = problems(g)
        assertReports(found, "constant 'bad' of shape [3] holds 2 scalars")
        assertReports(found, "constant 'half' is elided but holds 1 scalars")
    }

    func testConstantTableAndInputTypesMustAgree() throws {
        var p = Verifier.Parts(try smallNet())
        p.constantNames.append("ghost")
        p.constants["stray"] = Tensor(scalar: 1)
        p.types["stray"] = TensorType(shape: [])
        p.types["x"] = NT(3, 8, 9)
        p.types["w"] = TensorType(shape: [4, 3, 3, 2])
        let found = problems(p)
        assertReports(found, "constant 'ghost' is listed but has no tensor")
        assertReports(found, "constant 'stray' has a tensor but is not listed")
        assertReports(found, "graph input 'x' is f32[N,3,8,8] but its recorded type is f32[N,3,8,9]")
        assertReports(found, "constant 'w' is f32[4,3,3,3] but its recorded type is f32[4,3,3,2]")
        assertReports(found, "a type is recorded for 'stray', which nothing defines")
    }

    // MARK: Definitions and order

    func testNodesOutOfTopologicalOrder() throws {
        var p = Verifier.Parts(try smallNet())
        p.nodes.swapAt(0, 1)   // bn0 now reads conv0 before conv0 runs
        assertReports(problems(p), "node 'bn0': input 'conv0' is defined after this node")
    }

    func testUndefinedInput() throws {
        var p = Verifier.Parts(try smallNet())
        p.nodes[2].inputs = ["missing"]
        assertReports(problems(p), "node 'relu0': input 'missing' is not defined")
    }

    func testValueDefinedTwice() throws {
        var p = Verifier.Parts(try smallNet())
        p.nodes[2].outputs = ["conv0"]   // relu0 redefines conv0's output
        assertReports(problems(p), "node 'relu0': value 'conv0' is defined twice")
        p = Verifier.Parts(try smallNet())
        p.nodes[0].outputs = ["x"]       // a node output collides with a graph input
        assertReports(problems(p), "node 'conv0': value 'x' is defined twice")
        p = Verifier.Parts(try smallNet())
        p.constantNames.append("w")      // a constant listed twice
        assertReports(problems(p), "value 'w' is defined twice (again as constant)")
    }

    func testEmptyNames() throws {
        var g = Graph()
        try g.addInput("x", type: NT(3))
        try g.appendNode(Node(name: "", op: .relu, inputs: ["x"], outputs: ["y"]))
        try g.setOutputs(["y"])
        XCTAssertEqual(problems(g), ["node #0 (relu) has an empty name"])
        var p = Verifier.Parts(g)
        p.nodes[0].outputs = [""]
        assertReports(problems(p), "has an empty name")
    }

    // MARK: Arity and types

    func testArityAndOutputCount() throws {
        var p = Verifier.Parts(try smallNet())
        p.nodes[1].inputs.removeLast()
        assertReports(problems(p), "node 'bn0': batch_norm takes 5 inputs, node lists 4")
        p = Verifier.Parts(try smallNet())
        p.nodes[2].outputs.append("extra")
        p.types["extra"] = NT(4, 8, 8)
        assertReports(problems(p), "node 'relu0': relu produces 1 outputs, node lists 2")
    }

    func testRecordedTypeMustMatchInference() throws {
        var p = Verifier.Parts(try smallNet())
        p.types["relu0"] = NT(4, 8, 9)
        assertReports(problems(p), "node 'relu0': output 'relu0' is recorded as f32[N,4,8,9] but inference gives f32[N,4,8,8]")
        p = Verifier.Parts(try smallNet())
        p.types["gap"] = nil
        assertReports(problems(p), "node 'gap': output 'gap' has no recorded type")
    }

    /// Replacing a weight through the Graph API does not re-infer its users; the verifier notices.
    func testStaleTypesAfterReplacingAConstant() throws {
        var g = try smallNet()
        try g.replaceConstant("fcw", with: Tensor(shape: [7, 4], repeating: 0.1))
        assertReports(problems(g), "node 'fc': gemm bias f32[10] does not broadcast to f32[N,7]")
        g = try smallNet()
        try g.replaceConstant("fcb", with: Tensor(shape: [1, 10], repeating: 0))
        XCTAssertEqual(problems(g), [])
        try g.replaceConstant("w", with: Tensor(shape: [4, 3, 1, 1], repeating: 0.1))
        assertReports(problems(g), "node 'conv0': kernel [3, 3] does not match weight f32[4,3,1,1]")
    }

    // MARK: Attributes

    func testAttributeSanity() throws {
        var g = try smallNet()
        try g.append(.clip(min: 6, max: 0), ["x"], name: "clip_swapped")
        try g.append(.clip(min: .nan, max: 6), ["x"], name: "clip_nan")
        try g.append(.dropout(ratio: 1), ["x"], name: "drop_one")
        try g.append(.dropout(ratio: -0.1), ["x"], name: "drop_neg")
        try g.append(.batchNormalization(epsilon: -1), ["conv0", "scale", "bias", "mean", "var"], name: "bn_neg")
        try g.append(.leakyRelu(alpha: .infinity), ["x"], name: "leaky_inf")
        try g.append(.hardSigmoid(alpha: .nan, beta: 0.5), ["x"], name: "hs_nan")
        try g.append(.lrn(size: 5, alpha: .nan, beta: 0.75, bias: 1), ["x"], name: "lrn_nan")
        try g.append(.gemm(GemmAttributes(alpha: .infinity, transB: true)), ["flat", "fcw"], name: "gemm_inf")
        try g.append(.pad(pads: [0, 0, 0, 0, 0, 0, 0, 0], mode: .constant, value: .nan), ["x"], name: "pad_nan")
        try g.append(.pad(pads: [0, 0, 8, 0, 0, 0, 0, 0], mode: .reflect, value: 0), ["x"], name: "pad_reflect")
        let found = problems(g)
        for fragment in ["node 'clip_swapped': clip min 6.0 is greater than max 0.0",
                         "node 'clip_nan': clip bounds must not be NaN",
                         "node 'drop_one': dropout ratio must be in [0, 1), got 1.0",
                         "node 'drop_neg': dropout ratio",
                         "node 'bn_neg': batch_norm epsilon must be finite and >= 0",
                         "node 'leaky_inf': leaky_relu alpha must be finite",
                         "node 'hs_nan': hard_sigmoid alpha must be finite",
                         "node 'lrn_nan': lrn alpha must be finite",
                         "node 'gemm_inf': gemm alpha must be finite",
                         "node 'pad_nan': pad value must not be NaN",
                         "node 'pad_reflect': reflect pad 8 on dimension 2 needs more than 8 elements, input has 8"] {
            assertReports(found, fragment)
        }
        XCTAssertEqual(found.count, 11, "\(found)")
    }

    func testAcceptableAttributes() throws {
        var g = try smallNet()
        // Infinite clip bounds, an even LRN size (ONNX allows it), dropout 0, reflect pad n - 1,
        // edge pad wider than the input, a -inf pad value: all legal.
        try g.append(.clip(min: -.infinity, max: .infinity), ["x"], name: "clip_open")
        try g.append(.clip(min: 0, max: 0), ["x"], name: "clip_point")
        try g.append(.lrn(size: 4, alpha: 1e-4, beta: 0.75, bias: 2), ["x"], name: "lrn_even")
        try g.append(.dropout(ratio: 0), ["x"], name: "drop_zero")
        try g.append(.pad(pads: [0, 0, 7, 7, 0, 0, 7, 7], mode: .reflect, value: 0), ["x"], name: "pad_reflect")
        try g.append(.pad(pads: [0, 0, 20, 0, 0, 0, 20, 0], mode: .edge, value: 0), ["x"], name: "pad_edge")
        try g.append(.pad(pads: [0, 0, 1, 1, 0, 0, 1, 1], mode: .constant, value: -.infinity), ["x"], name: "pad_neg_inf")
        try g.append(.batchNormalization(epsilon: 0), ["conv0", "scale", "bias", "mean", "var"], name: "bn_zero")
        XCTAssertEqual(problems(g), [])
    }
}
