// ExporterTests: IR → ONNX: decodes back, passes onnx.checker full_check, runs in onnxruntime, writes atomically.

import Foundation
import XCTest
import IR
import ONNX
import TestSupport

/// Every op the exporter maps, chained in one graph with a symbolic batch; elided constants are
/// filled with seeded data by `ExportSamples.filled`.
enum ExportSamples {
    static let everyOp = """
        graph @every_op(%x: f32[N,3,8,8], %v: f32[N,6]) -> (%y, %z, %s1) {
          const %w: f32[4,3,3,3] = dense<elided>
          const %b: f32[4] = dense<elided>
          const %scale: f32[4] = dense<elided>
          const %shift: f32[4] = dense<elided>
          const %mean: f32[4] = dense<elided>
          const %var: f32[4] = dense<[1.0, 2.0, 0.5, 3.0]>
          const %dw: f32[4,1,3,3] = dense<elided>
          const %cw: f32[4,1,1] = dense<elided>
          const %fcw: f32[5,32] = dense<elided>
          const %fcb: f32[5] = dense<elided>
          const %mw: f32[6,5] = dense<elided>
          %c = conv(%x, %w, %b) {kernel = [3, 3], pads = [1, 1, 1, 1]}
          %n = batch_norm(%c, %scale, %shift, %mean, %var) {epsilon = 0.001}
          %r = relu(%n)
          %d = conv(%r, %dw) {kernel = [3, 3], strides = [2, 2], pads = [1, 1, 1, 1], group = 4, activation = clip(0.0, 6.0)}
          %e = conv(%d, %dw) {kernel = [3, 3], pads = [2, 2, 2, 2], dilations = [2, 2], group = 4, activation = hard_swish}
          %f = conv(%e, %dw) {kernel = [3, 3], pads = [1, 1, 1, 1], group = 4, activation = leaky_relu(0.1)}
          %g = conv(%f, %dw) {kernel = [3, 3], pads = [1, 1, 1, 1], group = 4, activation = relu}
          %g2 = conv(%g, %dw) {kernel = [3, 3], pads = [1, 1, 1, 1], group = 4, activation = clip(-inf, 0.5)}
          %a1 = add(%g2, %cw)
          %a2 = mul(%a1, %cw)
          %a3 = sub(%a2, %g)
          %a4 = div(%a3, %var)
          %l = leaky_relu(%a4) {alpha = 0.2}
          %cl = clip(%l) {min = -1.0}
          %sg = sigmoid(%cl)
          %hs = hard_sigmoid(%sg) {alpha = 0.3, beta = 0.4}
          %hw = hard_swish(%hs)
          %lr = lrn(%hw) {size = 3}
          %mp = max_pool(%lr) {kernel = [2, 2], strides = [1, 1], pads = [0, 0, 1, 1]}
          %ap = average_pool(%mp) {kernel = [3, 3], pads = [1, 1, 1, 1], count_include_pad = true, ceil_mode = true}
          %pd = pad(%ap) {pads = [0, 0, 1, 0, 0, 0, 0, 1], mode = reflect}
          %pc = pad(%pd) {pads = [0, 0, 0, 1, 0, 0, 1, 0], value = 0.5}
          %sl = slice(%pc) {starts = [0, 0], ends = [4, 2], axes = [2, 3]}
          %tr = transpose(%sl) {perm = [0, 1, 3, 2]}
          %fl = flatten(%tr) {axis = 1}
          %fc = gemm(%fl, %fcw, %fcb) {trans_b = true, alpha = 0.5}
          %gp = global_average_pool(%g)
          %rm = reduce_mean(%g) {axes = [2, 3], keep_dims = false}
          %rs = reshape(%gp) {shape = [0, -1]}
          %cat = concat(%rs, %rm) {axis = 1}
          %s0, %s1 = split(%cat) {axis = 1, sizes = [3, 5]}
          %mm = matmul(%v, %mw)
          %sum = add(%fc, %mm)
          %dr = dropout(%sum) {ratio = 0.3}
          %id = identity(%dr)
          %y = softmax(%id) {axis = 1}
          %z = relu(%s0)
          return %y, %z, %s1
        }
        """

    /// The graph with its elided constants filled with seeded values in [-1, 1).
    static func filled(_ text: String, seed: UInt64 = 1) throws -> Graph {
        var g = try TextParser.parse(text)
        var state = seed
        for name in g.constantNames where g.constants[name]!.isElided {
            let shape = g.constants[name]!.shape
            let values = (0..<shape.elementCount).map { _ -> Float in
                state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                return Float(Int(state >> 40) % 2000) / 1000 - 1
            }
            try g.replaceConstant(name, with: Tensor(shape: shape, scalars: values))
        }
        return g
    }
}

/// A fresh temporary directory for one test.
func temporaryDirectory() throws -> URL {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("s2dc-export-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    return dir
}

/// Runs scripts/compare-onnx-models.py; fails the test with its output unless every check passes.
func assertONNXModelsAgree(reference: String, candidates: [String], file: StaticString = #filePath, line: UInt = #line) {
    let script = TestSupport.repoRoot.appendingPathComponent("scripts/compare-onnx-models.py").path
    guard let result = TestSupport.run(TestSupport.python, [script, reference] + candidates) else {
        return XCTFail("cannot run \(TestSupport.python)", file: file, line: line)
    }
    XCTAssertEqual(result.status, 0, "compare-onnx-models failed:\n\(result.out)\(result.err)", file: file, line: line)
    let reports = result.out.split(separator: "\n").filter { $0.hasPrefix("{") }
    XCTAssertEqual(reports.count, candidates.count, result.out + result.err, file: file, line: line)
}

final class ExporterTests: XCTestCase {
    func testEveryOpPassesFullCheckAndRunsInOnnxruntime() throws {
        guard TestSupport.requireONNXPackage() != nil else { return }
        let graph = try ExportSamples.filled(ExportSamples.everyOp)
        try Verifier.verify(graph)
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("every_op.onnx").path
        try ONNXExporter.export(graph, to: path)
        assertONNXModelsAgree(reference: path, candidates: [path])
    }

    func testDecodesBackWithTheProtobufCDecoder() throws {
        let graph = try ExportSamples.filled(ExportSamples.everyOp)
        let model = try ONNXDecoder.decodeModel(bytes: try ONNXExporter.modelBytes(graph), file: "every_op", baseDirectory: nil)
        XCTAssertEqual(model.irVersion, 8)
        XCTAssertEqual(model.defaultOpset, 17)
        XCTAssertEqual(model.producerName, "s2dc")
        XCTAssertEqual(model.graph.name, "every_op")
        XCTAssertEqual(model.graph.inputs.map(\.name), ["x", "v"])
        XCTAssertEqual(model.graph.inputs[0].dims, [.param("N"), .value(3), .value(8), .value(8)])
        XCTAssertEqual(model.graph.outputs.map(\.name), ["y", "z", "s1"])
        XCTAssertEqual(model.graph.outputs[1].dims, [.param("N"), .value(3)])
        // Five fused activations add five nodes.
        XCTAssertEqual(model.graph.nodes.count, graph.nodes.count + 5)
        let types = model.graph.nodes.map(\.opType)
        XCTAssertEqual(Array(types.prefix(6)), ["Conv", "BatchNormalization", "Relu", "Conv", "Clip", "Conv"])
        let clip = model.graph.nodes[4]
        XCTAssertEqual(clip.inputs.count, 3)
        XCTAssertEqual(clip.outputs, ["d"])
        XCTAssertEqual(model.graph.nodes[3].outputs, ["d_preact"])
        // A clip without min skips the optional input with "".
        let upperOnly = model.graph.nodes.first { $0.name == "g2/activation" }
        XCTAssertEqual(upperOnly?.inputs.count, 3)
        XCTAssertEqual(upperOnly?.inputs[1], "")
        let w = try XCTUnwrap(model.graph.initializers.first { $0.name == "w" })
        XCTAssertEqual(w.dims, [4, 3, 3, 3])
        guard case .floats(let data) = w.data else { return XCTFail("weights are not float") }
        XCTAssertEqual(data.map(\.bitPattern), graph.constants["w"]!.scalars.map(\.bitPattern))
        let shape = try XCTUnwrap(model.graph.initializers.first { $0.name == "rs_shape" })
        guard case .ints(let target) = shape.data else { return XCTFail("reshape target is not int64") }
        XCTAssertEqual(target, [0, -1])
        guard case .ints(let kernel)? = model.graph.nodes[0].attributes["kernel_shape"] else { return XCTFail("no kernel_shape") }
        XCTAssertEqual(kernel, [3, 3])
    }

    func testFailureLeavesNoFile() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("out.onnx").path
        // A previous good export stays as it was when a later one fails.
        try ONNXExporter.export(try ExportSamples.filled(ExportSamples.everyOp), to: path)
        let before = try Data(contentsOf: URL(fileURLWithPath: path))
        let elided = try TextParser.parse(ExportSamples.everyOp)
        XCTAssertThrowsError(try ONNXExporter.export(elided, to: path)) { error in
            XCTAssertTrue("\(error)".contains("constant 'w' has no data (elided)"), "\(error)")
        }
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: path)), before)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path), ["out.onnx"])
        // An unwritable destination is an error naming the file.
        let missing = dir.appendingPathComponent("no/such/dir/out.onnx").path
        XCTAssertThrowsError(try ONNXExporter.export(try ExportSamples.filled(ExportSamples.everyOp), to: missing)) {
            XCTAssertTrue("\($0)".hasPrefix(missing + ": cannot create"), "\($0)")
        }
    }

    func testOpsetSeventeenLimitsAreErrors() throws {
        let pool = try TextParser.parse("""
            graph @g(%x: f32[1,1,5,5]) -> (%y) {
              %y = average_pool(%x) {kernel = [2, 2], dilations = [2, 2]}
              return %y
            }
            """)
        XCTAssertThrowsError(try ONNXExporter.modelBytes(pool)) { XCTAssertTrue("\($0)".contains("needs opset 19"), "\($0)") }
        let pad = try TextParser.parse("""
            graph @g(%x: f32[1,1,5,5]) -> (%y) {
              %y = pad(%x) {pads = [0, 0, 1, 1, 0, 0, 1, 1], mode = wrap}
              return %y
            }
            """)
        XCTAssertThrowsError(try ONNXExporter.modelBytes(pad)) { XCTAssertTrue("\($0)".contains("wrap mode"), "\($0)") }
    }
}
