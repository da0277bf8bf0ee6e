// InterpreterSemanticsTests: every pass keeps the function, checked with the IR interpreter.
//
// PENDING, NOT COMPILED: Package.swift excludes Tests/PassesTests/Pending because the Runtime
// module (h-runtime's `Interpreter`) has not landed in main yet. When it has:
//   1. move this file to Tests/PassesTests/,
//   2. add "Runtime" to the PassesTests dependencies and drop "Pending" from its `exclude`,
//   3. make sure the interpreter applies `ConvAttributes.activation` (the fused activation added
//      for fuse-activation; runtimes must apply it after the bias), or fuse-activation fails here.
// Until then ONNXRuntimeSemanticsTests checks the same property with onnxruntime as the executor.

import Foundation
import XCTest
import IR
import ONNX
import Passes
import Runtime
import TestSupport

final class InterpreterSemanticsTests: XCTestCase {
    /// Seeded standard-normal-ish inputs for every graph input (a symbolic batch set to 2).
    private func randomInputs(_ graph: Graph, seed: UInt64 = 3) -> [String: Tensor] {
        var rng = SeededUniform(state: seed)
        var feeds: [String: Tensor] = [:]
        for input in graph.inputs {
            let shape = input.type.shape(batch: 2)
            feeds[input.name] = Tensor(shape: shape, scalars: (0..<shape.elementCount).map { _ in rng.next(-2, 2) })
        }
        return feeds
    }

    /// Runs `graph` before and after each pipeline (verified after every pass) on the same inputs:
    /// max|difference| ≤ 1e-5 × max|reference| for every output.
    private func assertKeepsFunction(_ graph: Graph, pipelines: [String], file: StaticString = #filePath, line: UInt = #line) throws {
        let feeds = randomInputs(graph)
        let reference = try Interpreter(graph: graph, options: .init(fuseOperators: false)).run(feeds)
        for pipeline in pipelines {
            var g = graph
            try PassManager(pipeline: pipeline, verifyEach: true).run(&g)
            let outputs = try Interpreter(graph: g, options: .init(fuseOperators: false)).run(feeds)
            XCTAssertEqual(g.outputs, graph.outputs, pipeline, file: file, line: line)
            for name in graph.outputs {
                guard let want = reference[name], let have = outputs[name] else {
                    XCTFail("\(pipeline): output '\(name)' missing", file: file, line: line)
                    continue
                }
                XCTAssertEqual(have.shape, want.shape, "\(pipeline): \(name)", file: file, line: line)
                let scale = want.scalars.map(abs).max() ?? 0
                let diff = zip(want.scalars, have.scalars).map { abs($0 - $1) }.max() ?? 0
                XCTAssertLessThanOrEqual(diff, 1e-5 * scale, "\(graph.name) \(pipeline): \(name)", file: file, line: line)
            }
        }
    }

    func testEveryPassOnTheDefaultModel() throws {
        let path = TestSupport.repoRoot.appendingPathComponent("models/default.onnx").path
        try assertKeepsFunction(try ONNXLoader.load(path: path), pipelines: functionPreservingPipelines)
    }

    func testEveryPassOnLightModelsWithRandomWeights() throws {
        guard let dir = TestSupport.requireONNXPackage() else { return }
        for name in ["squeezenet", "shufflenet", "inception_v1"] {
            let graph = try randomizedWeights(try ONNXLoader.load(path: "\(dir)/backend/test/data/light/light_\(name).onnx"))
            try assertKeepsFunction(graph, pipelines: functionPreservingPipelines)
        }
    }

    /// Node-test-sized graphs exercising each rewrite, with random data.
    func testEveryPassOnSmallRewriteCases() throws {
        let text = """
            graph @cases(%x: f32[N,3,6,6]) -> (%y, %z) {
              const %w: f32[4,3,3,3] = dense<elided>
              const %b: f32[4] = dense<elided>
              const %s: f32[4] = dense<elided>
              const %t: f32[4] = dense<elided>
              const %m: f32[4] = dense<elided>
              const %v: f32[4] = dense<elided>
              const %k: f32[4,1,1] = dense<elided>
              const %fc: f32[5,4] = dense<elided>
              %c = conv(%x, %w, %b) {kernel = [3, 3], pads = [1, 1, 1, 1]}
              %n = batch_norm(%c, %s, %t, %m, %v)
              %q = mul(%n, %k)
              %a = add(%q, %k)
              %r = clip(%a) {min = 0.0, max = 6.0}
              %d = dropout(%r)
              %p = global_average_pool(%d)
              %p2 = global_average_pool(%d)
              %f = reshape(%p) {shape = [0, -1]}
              %f2 = reshape(%p2) {shape = [0, -1]}
              %g = gemm(%f, %fc) {trans_b = true}
              %g2 = gemm(%f2, %fc) {trans_b = true}
              %y = add(%g, %g2)
              %z = hard_swish(%c)
              return %y, %z
            }
            """
        var graph = try TextParser.parse(text)
        var rng = SeededUniform(state: 11)
        for name in graph.constantNames {
            let shape = graph.constants[name]!.shape
            try graph.replaceConstant(name, with: Tensor(shape: shape, scalars: (0..<shape.elementCount).map { _ in rng.next(0.5, 1.5) }))
        }
        try assertKeepsFunction(graph, pipelines: functionPreservingPipelines)
    }
}
