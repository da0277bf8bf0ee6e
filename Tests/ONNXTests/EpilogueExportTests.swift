// EpilogueExportTests: every op's fused activation is written back as its own ONNX node, computing what separate nodes compute.

import Foundation
import XCTest
import IR
import ONNX
import TestSupport

final class EpilogueExportTests: XCTestCase {
    private let fused = """
        graph @epilogues(%x: f32[N,4], %m: f32[4,4]) -> (%d) {
          const %w: f32[4,4] = dense<elided>
          const %s: f32[4] = dense<elided>
          const %v: f32[4] = dense<[1.0, 2.0, 3.0, 4.0]>
          %g = gemm(%x, %w) {trans_b = true, activation = relu}
          %n = batch_norm(%g, %s, %s, %s, %v) {activation = clip(0.0, 6.0)}
          %a = matmul(%n, %m) {activation = hard_swish}
          %b = add(%a, %x) {activation = leaky_relu(0.1)}
          %c = sub(%b, %x) {activation = relu}
          %e = mul(%c, %x) {activation = relu}
          %d = div(%e, %v) {activation = clip(-inf, 1.0)}
          return %d
        }
        """

    /// The same function with every activation a node of its own.
    private let separate = """
        graph @epilogues(%x: f32[N,4], %m: f32[4,4]) -> (%d) {
          const %w: f32[4,4] = dense<elided>
          const %s: f32[4] = dense<elided>
          const %v: f32[4] = dense<[1.0, 2.0, 3.0, 4.0]>
          %g0 = gemm(%x, %w) {trans_b = true}
          %g = relu(%g0)
          %n0 = batch_norm(%g, %s, %s, %s, %v)
          %n = clip(%n0) {min = 0.0, max = 6.0}
          %a0 = matmul(%n, %m)
          %a = hard_swish(%a0)
          %b0 = add(%a, %x)
          %b = leaky_relu(%b0) {alpha = 0.1}
          %c0 = sub(%b, %x)
          %c = relu(%c0)
          %e0 = mul(%c, %x)
          %e = relu(%e0)
          %d0 = div(%e, %v)
          %d = clip(%d0) {max = 1.0}
          return %d
        }
        """

    func testEpiloguesExpandIntoSeparateNodes() throws {
        let graph = try ExportSamples.filled(fused)
        let model = try ONNXDecoder.decodeModel(bytes: try ONNXExporter.modelBytes(graph), file: "epilogues", baseDirectory: nil)
        XCTAssertEqual(model.graph.nodes.map(\.opType), ["Gemm", "Relu", "BatchNormalization", "Clip", "MatMul", "HardSwish",
                                                         "Add", "LeakyRelu", "Sub", "Relu", "Mul", "Relu", "Div", "Clip"])
        XCTAssertEqual(model.graph.nodes[6].outputs, ["b_preact"])
        XCTAssertEqual(model.graph.nodes[7].inputs, ["b_preact"])
        XCTAssertEqual(model.graph.nodes[7].outputs, ["b"])
        XCTAssertEqual(model.graph.nodes[7].name, "b/activation")
    }

    func testExpandedModelAgreesWithSeparateNodesInOnnxruntime() throws {
        guard TestSupport.requireONNXPackage() != nil else { return }
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let reference = dir.appendingPathComponent("separate.onnx").path, candidate = dir.appendingPathComponent("fused.onnx").path
        try ONNXExporter.export(try ExportSamples.filled(separate), to: reference)
        try ONNXExporter.export(try ExportSamples.filled(fused), to: candidate)
        assertONNXModelsAgree(reference: reference, candidates: [candidate])
    }
}
