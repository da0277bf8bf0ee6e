// TextRoundTripTests: print → parse → print gives identical text and the same graph, for every op.

import XCTest
import IR

/// Asserts two graphs hold the same definitions, comparing constant data bit by bit (NaN included)
/// and ignoring `changeCount`, which counts how a graph was built rather than what it is.
func assertSameGraph(_ a: Graph, _ b: Graph, file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(a.name, b.name, file: file, line: line)
    XCTAssertEqual(a.inputs, b.inputs, file: file, line: line)
    XCTAssertEqual(a.outputs, b.outputs, file: file, line: line)
    XCTAssertEqual(a.constantNames, b.constantNames, file: file, line: line)
    XCTAssertEqual(a.nodes, b.nodes, file: file, line: line)
    XCTAssertEqual(a.types, b.types, file: file, line: line)
    for name in a.constantNames {
        guard let x = a.constants[name], let y = b.constants[name] else {
            XCTFail("constant '\(name)' missing", file: file, line: line)
            continue
        }
        XCTAssertEqual(x.shape, y.shape, name, file: file, line: line)
        XCTAssertEqual(x.isElided, y.isElided, name, file: file, line: line)
        XCTAssertEqual(x.scalars.map(\.bitPattern), y.scalars.map(\.bitPattern), name, file: file, line: line)
    }
}

/// Prints (all data), parses, prints again; asserts identical text and the same graph. Returns the text.
@discardableResult
func assertRoundTrip(_ graph: Graph, elideConstantsAbove limit: Int? = nil,
                     file: StaticString = #filePath, line: UInt = #line) throws -> String {
    let text = TextPrinter.print(graph, elideConstantsAbove: limit)
    let parsed = try TextParser.parse(text)
    XCTAssertEqual(TextPrinter.print(parsed, elideConstantsAbove: limit), text, file: file, line: line)
    if limit == nil { assertSameGraph(parsed, graph, file: file, line: line) }
    return text
}

final class TextRoundTripTests: XCTestCase {
    func testEveryOpKindHasASampleOfThatKind() {
        for kind in OpKind.allCases {
            XCTAssertEqual(OpKind(of: TextOpSamples.sample(kind).op), kind)
        }
        let names = Set(OpKind.allCases.map { TextOpSamples.sample($0).op.name })
        XCTAssertEqual(names.count, OpKind.allCases.count, "op names must be distinct")
    }

    func testEveryOpRoundTrips() throws {
        for kind in OpKind.allCases {
            let sample = TextOpSamples.sample(kind)
            let graph = try sample.graph()
            let text = try assertRoundTrip(graph)
            XCTAssertTrue(text.contains("= \(sample.op.name)("), text)
        }
    }

    /// Every op in one graph that chains them, each reading the previous result where it can.
    func testAllSamplesInOneGraphRoundTrip() throws {
        var g = Graph(name: "all ops")
        for kind in OpKind.allCases {
            let sample = try TextOpSamples.sample(kind).graph()
            let prefix = "\(kind)/"
            for input in sample.inputs { try g.addInput(prefix + input.name, type: input.type) }
            for name in sample.constantNames { try g.addConstant(prefix + name, sample.constants[name]!) }
            for node in sample.nodes {
                try g.appendNode(Node(name: node.name, op: node.op, inputs: node.inputs.map { prefix + $0 },
                                      outputs: node.outputs.map { prefix + $0 }))
            }
        }
        // A conv with a fused activation too, which no plain sample has.
        var fused = try TextOpSamples.sample(.conv).graph()
        guard case .conv(var a) = fused.nodes[0].op else { return XCTFail("conv sample is not a conv") }
        a.activation = .clip(min: 0, max: 6)
        try fused.setOp(.conv(a), ofNodeAt: 0)
        try g.appendNode(Node(name: "fused conv", op: fused.nodes[0].op, inputs: g.nodes[0].inputs, outputs: ["fused"]))
        try g.setOutputs(g.nodes.flatMap(\.outputs))
        try assertRoundTrip(g)
        try assertRoundTrip(g, elideConstantsAbove: 16)
        try assertRoundTrip(g, elideConstantsAbove: 0)
    }

    func testModelRoundTripsWithAndWithoutElision() throws {
        let g = try TextFixtures.model()
        try assertRoundTrip(g)
        let elided = try assertRoundTrip(g, elideConstantsAbove: 16)
        XCTAssertTrue(elided.contains("dense<elided>"))
        XCTAssertTrue(elided.contains("dense<[0.1, -2.0, 3.5e-07, inf, -inf, nan, -nan, nan(0x7fc00001), nan(0xffa00000), -0.0"), elided)
    }

    func testFullDataParsesBitIdentically() throws {
        let g = try TextFixtures.model()
        let parsed = try TextParser.parse(TextPrinter.print(g, elideConstantsAbove: nil))
        for name in g.constantNames {
            XCTAssertEqual(parsed.constants[name]?.scalars.map(\.bitPattern), g.constants[name]?.scalars.map(\.bitPattern), name)
            XCTAssertEqual(parsed.constants[name]?.isElided, false)
        }
        let special = try XCTUnwrap(parsed.constants["conv.bias"])
        XCTAssertEqual(special.scalars.map(\.bitPattern), TextFixtures.specialFloats.map(\.bitPattern))
    }

    func testFloatTextReadsBackBitExactly() throws {
        var values = TextFixtures.specialFloats
        var state: UInt32 = 12345
        for _ in 0..<2000 {
            state = state &* 1_664_525 &+ 1_013_904_223
            values.append(Float(bitPattern: state))
        }
        let g = try TextFixtures.constantGraph(values)
        let parsed = try TextParser.parse(TextPrinter.print(g, elideConstantsAbove: nil))
        XCTAssertEqual(parsed.constants["c"]?.scalars.map(\.bitPattern), values.map(\.bitPattern))
    }

    func testElidedConstantsStayElided() throws {
        let g = try TextFixtures.model()
        let parsed = try TextParser.parse(TextPrinter.print(g))
        let weight = try XCTUnwrap(parsed.constants["onnx::Conv_1"])
        XCTAssertTrue(weight.isElided)
        XCTAssertEqual(weight.shape, [16, 1, 3, 3])
        XCTAssertEqual(parsed.types["onnx::Conv_1"], TensorType(shape: [16, 1, 3, 3]))
        // Asking for all data cannot bring back what was elided.
        let again = TextPrinter.print(parsed, elideConstantsAbove: nil)
        XCTAssertTrue(again.contains("const %\"onnx::Conv_1\": f32[16,1,3,3] = dense<elided>"), again)
        XCTAssertEqual(try TextParser.parse(again).constants["onnx::Conv_1"], weight)
    }

    func testParsedGraphEqualsBuiltGraphWhenBuiltTheSameWay() throws {
        // The parser goes through the same mutation API, so even changeCount agrees here.
        let g = try TextOpSamples.sample(.conv).graph()
        XCTAssertEqual(try TextParser.parse(TextPrinter.print(g, elideConstantsAbove: nil)), g)
    }

    func testOddNamesRoundTrip() throws {
        var g = Graph(name: "")
        let names = ["", "a\"b", "back\\slash", "new\nline\ttab\r", "bell\u{7}", "del\u{7f}", "λ-ünï", "\u{301}combining",
                     "emoji 🙂", "//not a comment", "%", "@", "x y"]
        try g.addInput("x", type: TensorType(dims: [.symbol("batch size"), .fixed(2)]))
        var last = "x"
        for (i, n) in names.enumerated() {
            let out = n.isEmpty ? "v\(i)" : n
            try g.appendNode(Node(name: n, op: .relu, inputs: [last], outputs: [out]))
            last = out
        }
        try g.setOutputs([last])
        let text = try assertRoundTrip(g)
        XCTAssertTrue(text.hasPrefix("graph @\"\"(%x: f32[\"batch size\",2]) -> (%\"x y\") {\n"), text)
        XCTAssertTrue(text.contains("name = \"new\\nline\\ttab\\r\""), text)
        XCTAssertTrue(text.contains("%\"bell\\u{7}\""), text)
        XCTAssertEqual(text.split(separator: "\n").count, names.count + 3)
    }
}
