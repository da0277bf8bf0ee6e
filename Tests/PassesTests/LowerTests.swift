// LowerTests: the `lower` pipeline's IR (every epilogue op, graph outputs, merged names) and its function, by the interpreter and onnxruntime.

import Foundation
import XCTest
import IR
import ONNX
import Passes
import Runtime
import TestSupport

final class LowerTests: XCTestCase {
    func testFoldsAndFusesIntoEveryEpilogueOpAndAtGraphOutputs() throws {
        try assertPipeline("lower", """
            graph @g(%x: f32[N,2], %m: f32[2,2]) -> (%y, %o) {
              const %w: f32[2,2] = dense<[1.0, 2.0, 3.0, 4.0]>
              const %scale: f32[2] = dense<[4.0, 2.0]>
              const %shift: f32[2] = dense<[1.0, 0.0]>
              const %mean: f32[2] = dense<[0.5, 1.0]>
              const %var: f32[2] = dense<[3.0, 15.0]>
              %g = gemm(%x, %w) {trans_b = true} name = "fc"
              %n = batch_norm(%g, %scale, %shift, %mean, %var) {epsilon = 1.0} name = "bn"
              %r = relu(%n) name = "relu"
              %a = matmul(%r, %m) name = "mm"
              %c = clip(%a) {min = 0.0, max = 6.0} name = "relu6"
              %s = sub(%c, %x) name = "sub"
              %l = leaky_relu(%s) {alpha = 0.5} name = "leaky"
              %d = div(%l, %x) name = "div"
              %y = hard_swish(%d) name = "hswish"
              %b = batch_norm(%x, %scale, %shift, %mean, %var) {epsilon = 1.0} name = "bn2"
              %o = relu(%b) name = "out"
              return %y, %o
            }
            """, """
            graph @g(%x: f32[N,2], %m: f32[2,2]) -> (%y, %o) {
              const %scale: f32[2] = dense<[4.0, 2.0]>
              const %shift: f32[2] = dense<[1.0, 0.0]>
              const %mean: f32[2] = dense<[0.5, 1.0]>
              const %var: f32[2] = dense<[3.0, 15.0]>
              const %w_bn: f32[2,2] = dense<[2.0, 4.0, 1.5, 2.0]>
              const %"fc.bias_bn": f32[2] = dense<[0.0, -0.5]>
              %r = gemm(%x, %w_bn, %"fc.bias_bn") {trans_b = true, activation = relu} name = "fc+bn+relu"
              %c = matmul(%r, %m) {activation = clip(0.0, 6.0)} name = "mm+relu6"
              %l = sub(%c, %x) {activation = leaky_relu(0.5)} name = "sub+leaky"
              %y = div(%l, %x) {activation = hard_swish} name = "div+hswish"
              %o = batch_norm(%x, %scale, %shift, %mean, %var) {epsilon = 1.0, activation = relu} name = "bn2+out"
              return %y, %o
            }
            """)
    }

    func testLeavesWhatCannotFuse() throws {
        // Sigmoid is no epilogue; a shared result and a pool are no producers to fuse into.
        try assertUnchanged("lower", """
            graph @g(%x: f32[N,1,2,2]) -> (%y, %z) {
              const %w: f32[2,1,1,1] = dense<[1.0, 2.0]>
              %c = conv(%x, %w) {kernel = [1, 1]}
              %s = sigmoid(%c)
              %a = add(%s, %s)
              %r = relu(%a)
              %y = add(%r, %a)
              %p = max_pool(%x) {kernel = [1, 1]}
              %z = relu(%p)
              return %y, %z
            }
            """)
    }

    /// Interpreter on the lowered graph (every fused kernel) against the unlowered graph run node by
    /// node, and the lowered graph exported (epilogues expanded) against the original in onnxruntime.
    func testKeepsTheFunctionOnRealModels() throws {
        let defaultModel = try ONNXLoader.load(path: TestSupport.repoRoot.appendingPathComponent("models/default.onnx").path)
        // The ResNet-8's residual additions take their Relu as an epilogue.
        XCTAssertTrue(try Lower.lowered(defaultModel).nodes.contains { node in
            if case .add(.relu?) = node.op { return true } else { return false }
        })
        var graphs = [defaultModel]
        if let dir = TestSupport.requireONNXPackage() {
            for name in ["squeezenet", "shufflenet"] {
                graphs.append(try randomizedWeights(try ONNXLoader.load(path: "\(dir)/backend/test/data/light/light_\(name).onnx")))
            }
        }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("s2dc-lower-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        for graph in graphs {
            var lowered = graph
            try PassManager(pipeline: "canonicalize,lower", verifyEach: true).run(&lowered)
            XCTAssertLessThan(lowered.nodes.count, graph.nodes.count, graph.name)
            var rng = SeededUniform(state: 5)
            var feeds: [String: Tensor] = [:]
            for input in graph.inputs {
                let shape = input.type.shape(batch: 2)
                feeds[input.name] = Tensor(shape: shape, scalars: (0..<shape.elementCount).map { _ in rng.next(-2, 2) })
            }
            let want = try Interpreter(graph: graph, options: .init(fuseOperators: false)).run(feeds)
            let have = try Interpreter(graph: lowered, options: .init(fuseOperators: false)).run(feeds)
            for name in graph.outputs {
                let w = try XCTUnwrap(want[name]), h = try XCTUnwrap(have[name])
                let scale = w.scalars.map(abs).max() ?? 0
                let diff = zip(w.scalars, h.scalars).map { abs($0 - $1) }.max() ?? .infinity
                XCTAssertLessThanOrEqual(diff, 1e-4 * scale, "\(graph.name): \(name)")
            }
            guard TestSupport.requireONNXPackage() != nil else { continue }
            let reference = dir.appendingPathComponent("\(graph.name)-reference.onnx").path
            let candidate = dir.appendingPathComponent("\(graph.name)-lowered.onnx").path
            try ONNXExporter.export(graph, to: reference)
            try ONNXExporter.export(lowered, to: candidate)
            let script = TestSupport.repoRoot.appendingPathComponent("scripts/compare-onnx-models.py").path
            let result = try XCTUnwrap(TestSupport.run(TestSupport.python, [script, reference, candidate]))
            XCTAssertEqual(result.status, 0, "\(graph.name): \(result.out)\(result.err)")
        }
    }
}
