// TextFormatTests: the exact printed form, and hand-written text with comments and left-out defaults.

import XCTest
import IR

final class TextFormatTests: XCTestCase {
    func testPrintsTheDocumentedForm() throws {
        var g = Graph(name: "lenet")
        try g.addInput("x", type: TensorType(dims: [.symbol("N"), .fixed(1), .fixed(4), .fixed(4)]))
        try g.addConstant("w", Tensor(shape: [2, 1, 3, 3], repeating: 0.5))
        try g.addConstant("onnx::Conv_b", Tensor(shape: [2], scalars: [0.1, -2]))
        try g.appendNode(Node(name: "Conv_0", op: .conv(ConvAttributes(kernel: [3, 3], pads: [1, 1, 1, 1])),
                              inputs: ["x", "w", "onnx::Conv_b"], outputs: ["c"]))
        try g.appendNode(Node(name: "Split_1", op: .split(axis: 1, sizes: [1, 1]), inputs: ["c"], outputs: ["s0", "s1"]))
        try g.appendNode(Node(name: "Pad_2", op: .pad(pads: [0, 0, 1, 1, 0, 0, 1, 1], mode: .edge, value: 0),
                              inputs: ["s0"], outputs: ["y"]))
        try g.setOutputs(["y", "s1"])
        let expected = """
            graph @lenet(%x: f32[N,1,4,4]) -> (%y, %s1) {
              const %w: f32[2,1,3,3] = dense<elided>
              const %"onnx::Conv_b": f32[2] = dense<[0.1, -2.0]>
              %c: f32[N,2,4,4] = conv(%x, %w, %"onnx::Conv_b") {kernel = [3, 3], strides = [1, 1], pads = [1, 1, 1, 1], dilations = [1, 1], group = 1} name = "Conv_0"
              %s0: f32[N,1,4,4], %s1: f32[N,1,4,4] = split(%c) {axis = 1, sizes = [1, 1]} name = "Split_1"
              %y: f32[N,1,6,6] = pad(%s0) {pads = [0, 0, 1, 1, 0, 0, 1, 1], mode = edge, value = 0.0} name = "Pad_2"
              return %y, %s1
            }

            """
        XCTAssertEqual(TextPrinter.print(g), expected)
        XCTAssertTrue(TextPrinter.print(g, elideConstantsAbove: nil).contains("dense<[0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5]>"))
        XCTAssertEqual(TextPrinter.print(g.nodes[1], in: g),
                       "%s0: f32[N,1,4,4], %s1: f32[N,1,4,4] = split(%c) {axis = 1, sizes = [1, 1]} name = \"Split_1\"")
    }

    func testEmptyGraph() throws {
        let text = TextPrinter.print(Graph(name: "empty"))
        XCTAssertEqual(text, "graph @empty() -> () {\n  return\n}\n")
        XCTAssertEqual(TextPrinter.print(try TextParser.parse(text)), text)
    }

    func testNameAndFloatHelpers() {
        XCTAssertEqual(TextPrinter.valueReference("475"), "%475")
        XCTAssertEqual(TextPrinter.valueReference("conv1.weight"), "%conv1.weight")
        XCTAssertEqual(TextPrinter.valueReference("onnx::Conv_123"), "%\"onnx::Conv_123\"")
        XCTAssertEqual(TextPrinter.valueReference("gpu_0/data_0"), "%\"gpu_0/data_0\"")
        XCTAssertEqual(TextPrinter.valueReference("a\"b\\c\n"), "%\"a\\\"b\\\\c\\n\"")
        XCTAssertEqual(TextPrinter.typeText(TensorType(dims: [.symbol("batch"), .fixed(3)])), "f32[batch,3]")
        XCTAssertEqual(TextPrinter.typeText(TensorType(dims: [.symbol("unk__0"), .fixed(3)])), "f32[unk__0,3]")
        XCTAssertEqual(TextPrinter.typeText(TensorType(dims: [.symbol("1x"), .fixed(3)])), "f32[\"1x\",3]")
        XCTAssertEqual(TextPrinter.typeText(TensorType(shape: [])), "f32[]")
        XCTAssertEqual(TextPrinter.floatText(1), "1.0")
        XCTAssertEqual(TextPrinter.floatText(-0.0), "-0.0")
        XCTAssertEqual(TextPrinter.floatText(.infinity), "inf")
        XCTAssertEqual(TextPrinter.floatText(-.infinity), "-inf")
        XCTAssertEqual(TextPrinter.floatText(.nan), "nan")
        XCTAssertEqual(TextPrinter.floatText(-.nan), "-nan")
        XCTAssertEqual(TextPrinter.floatText(.signalingNaN), "nan(0x7fa00000)")
        XCTAssertEqual(TextPrinter.floatText(1e20), "1e+20")
    }

    func testParsesHandWrittenTextWithDefaultsLeftOut() throws {
        let text = """
            // Hand-written: result types, node names and defaulted attributes left out.
            graph @hand(%x: f32[N,3,8,8]) -> (%y) {  // the header
              const %w: f32[4,3,1,1] = dense<elided>
              %c = conv(%x, %w) {kernel = [1, 1]}
              %p: f32[N,4,4,4] = max_pool(%c) {strides = [2, 2], kernel = [2, 2]}   // any order
              const %"late const": f32[1] = dense<[ 2 ]>
              %y = mul(%p, %"late const") {} name = "Scale"
              return %y
            }
            """
        let g = try TextParser.parse(text)
        XCTAssertEqual(g.nodes.map(\.name), ["c", "p", "Scale"])
        XCTAssertEqual(g.nodes[0].op, .conv(ConvAttributes(kernel: [1, 1])))
        XCTAssertEqual(g.nodes[1].op, .maxPool(PoolAttributes(kernel: [2, 2], strides: [2, 2])))
        XCTAssertEqual(g.types["y"], TensorType(dims: [.symbol("N"), .fixed(4), .fixed(4), .fixed(4)]))
        XCTAssertEqual(g.constantNames, ["w", "late const"])
        XCTAssertEqual(g.constants["late const"], Tensor(shape: [1], scalars: [2]))
        XCTAssertEqual(g.outputs, ["y"])
        // Printing writes everything out, and that text is stable.
        let printed = TextPrinter.print(g)
        XCTAssertEqual(TextPrinter.print(try TextParser.parse(printed)), printed)
    }

    func testLeftOutAttributesTakeTheOnnxDefaults() throws {
        let cases: [(String, Op)] = [
            ("leaky_relu(%x)", .leakyRelu(alpha: 0.01)),
            ("clip(%x)", .clip(min: -.infinity, max: .infinity)),
            ("clip(%x) {max = 6}", .clip(min: -.infinity, max: 6)),
            ("hard_sigmoid(%x)", .hardSigmoid(alpha: 0.2, beta: 0.5)),
            ("reduce_mean(%x)", .reduceMean(axes: [], keepDims: true)),
            ("lrn(%x) {size = 3}", .lrn(size: 3, alpha: 1e-4, beta: 0.75, bias: 1)),
            ("flatten(%x)", .flatten(axis: 1)),
            ("reshape(%x) {shape = [4, -1]}", .reshape(shape: [4, -1], allowZero: false)),
            ("split(%x) {sizes = [4]}", .split(axis: 0, sizes: [4])),
            ("slice(%x) {starts = [0, 1], ends = [2, 3]}", .slice(starts: [0, 1], ends: [2, 3], axes: [0, 1], steps: [1, 1])),
            ("pad(%x) {pads = [0, 0, 0, 1, 0, 0, 0, 1]}", .pad(pads: [0, 0, 0, 1, 0, 0, 0, 1], mode: .constant, value: 0)),
            ("softmax(%x)", .softmax(axis: -1)),
            ("dropout(%x)", .dropout(ratio: 0.5)),
            ("average_pool(%x) {kernel = [2, 2]}", .averagePool(PoolAttributes(kernel: [2, 2]))),
            ("gemm(%m, %m) {trans_b = true}", .gemm(GemmAttributes(transB: true))),
        ]
        for (call, op) in cases {
            let text = "graph @g(%x: f32[4,3,8,8], %m: f32[2,2]) -> (%y) {\n  %y = \(call)\n  return %y\n}\n"
            let g = try TextParser.parse(text)
            XCTAssertEqual(g.nodes.first?.op, op, call)
        }
    }

    func testParsesFloatSpellings() throws {
        let text = "graph @g() -> (%c) { const %c: f32[9] = dense<[1, -0, 2.50, 1E3, 7e-1, 0.000001, inf, -inf, nan(0x7f800001)]> return %c }"
        let c = try XCTUnwrap(try TextParser.parse(text).constants["c"])
        XCTAssertEqual(Array(c.scalars.prefix(8)), [1, -0.0, 2.5, 1000, 0.7, 0.000001, .infinity, -.infinity])
        XCTAssertEqual(c.scalars[1].sign, .minus)
        XCTAssertEqual(c.scalars[8].bitPattern, 0x7f80_0001)
    }
}
