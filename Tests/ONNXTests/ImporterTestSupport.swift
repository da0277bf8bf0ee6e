// ImporterTestSupport: builds small ONNXModel values in Swift for importer tests, and checks import errors.
import IR
import XCTest
@testable import ONNX

/// A small ONNX model under construction: inputs, initializers, nodes and outputs.
struct ModelBuilder {
    var opset: Int
    var opsets: [String: Int] = [:]
    var inputs: [ONNXValueInfo] = []
    var initializers: [ONNXTensor] = []
    var nodes: [ONNXNode] = []
    var outputs: [String] = []

    init(opset: Int = 13) { self.opset = opset }

    /// A float graph input; `dims` entries are Int (fixed), String (named) or nil (unknown).
    mutating func input(_ name: String, _ dims: [Any?], type: ONNXDataType = .float) {
        let d: [ONNXDim] = dims.map { x in
            if let v = x as? Int { return .value(v) }
            if let s = x as? String { return .param(s) }
            return .unknown
        }
        inputs.append(ONNXValueInfo(name: name, elementType: type, dims: d))
    }

    mutating func floats(_ name: String, _ dims: [Int], _ values: [Float]? = nil) {
        let count = dims.reduce(1, *)
        initializers.append(ONNXTensor(name: name, dims: dims, dataType: .float,
                                       data: .floats(values ?? (0..<count).map { Float($0) })))
    }

    mutating func ints(_ name: String, _ values: [Int64], dims: [Int]? = nil) {
        initializers.append(ONNXTensor(name: name, dims: dims ?? [values.count], dataType: .int64, data: .ints(values)))
    }

    mutating func node(_ op: String, _ inputs: [String], _ outputs: [String], name: String? = nil,
                       domain: String = "", _ attributes: [String: ONNXAttribute] = [:]) {
        nodes.append(ONNXNode(name: name ?? "\(op.lowercased())\(nodes.count)", opType: op, domain: domain,
                              inputs: inputs, outputs: outputs, attributes: attributes))
    }

    var model: ONNXModel {
        var all = opsets
        all[""] = opset
        let outs = outputs.map { ONNXValueInfo(name: $0, elementType: .float, dims: nil) }
        return ONNXModel(irVersion: 8, opsets: all, producerName: "test",
                         graph: ONNXGraph(name: "g", nodes: nodes, initializers: initializers, inputs: inputs, outputs: outs))
    }

    func importGraph(_ options: ImportOptions = .init()) throws -> Graph {
        try ONNXImporter.importModel(model, file: "test.onnx", options: options)
    }
}

extension ONNXTensor {
    static func int64(_ name: String, _ values: [Int64], dims: [Int]? = nil) -> ONNXTensor {
        ONNXTensor(name: name, dims: dims ?? [values.count], dataType: .int64, data: .ints(values))
    }

    static func float(_ name: String, _ values: [Float], dims: [Int]? = nil) -> ONNXTensor {
        ONNXTensor(name: name, dims: dims ?? [values.count], dataType: .float, data: .floats(values))
    }
}

/// Asserts that importing fails with an ONNXError whose description contains every fragment.
func assertImportFails(_ b: ModelBuilder, _ fragments: [String], options: ImportOptions = .init(),
                       file: StaticString = #filePath, line: UInt = #line) {
    do {
        let g = try b.importGraph(options)
        XCTFail("import succeeded: \(g.nodes.map(\.op.name))", file: file, line: line)
    } catch let e as ONNXError {
        for f in fragments where !e.description.contains(f) {
            XCTFail("error '\(e.description)' lacks '\(f)'", file: file, line: line)
        }
    } catch {
        XCTFail("not an ONNXError: \(error)", file: file, line: line)
    }
}

extension Graph {
    /// The op names of the nodes, in order.
    var opNames: [String] { nodes.map(\.op.name) }
}

/// Asserts that an imported graph passes the IR verifier and, unless `roundTrip` is false (large
/// weights), prints to text and parses back to the same graph.
func assertValidIR(_ g: Graph, _ label: String, roundTrip: Bool = true, file: StaticString = #filePath, line: UInt = #line) {
    do { try Verifier.verify(g) } catch { XCTFail("\(label): verifier: \(error)", file: file, line: line) }
    guard roundTrip else { return }
    let text = TextPrinter.print(g, elideConstantsAbove: nil)
    do {
        let parsed = try TextParser.parse(text)
        XCTAssertEqual(parsed, g, "\(label): text round trip differs", file: file, line: line)
    } catch {
        XCTFail("\(label): text does not parse back: \(error)\n\(text.prefix(2000))", file: file, line: line)
    }
}
