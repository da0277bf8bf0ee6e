// StagedExactnessTests: every exit of staged real models equals the masked static model, and batching is exact.

import XCTest
import IR
import ONNX
import Passes
import Runtime
import TestSupport

final class StagedExactnessTests: XCTestCase {
    static func canonical(_ path: String) throws -> Graph {
        var graph = try ONNXLoader.load(path: path)
        try PassManager(pipeline: "canonicalize").run(&graph)
        return graph
    }

    static func staged(_ graph: Graph, _ options: String) throws -> Graph {
        var g = graph
        try PassManager(pipeline: "split-stages{\(options)},insert-exits", verifyEach: true).run(&g)
        return g
    }

    var defaultModel: String { TestSupport.repoRoot.appendingPathComponent("models/default.onnx").path }

    /// The default model for S = 2, 3, 4, reuse on and off: each exit equals the masked model.
    func testDefaultModelEveryExitEqualsMaskedReference() throws {
        let source = try Self.canonical(defaultModel)
        let input = stagedTestInput([3, 1, 28, 28])
        for s in 2...4 {
            for reuse in [true, false] {
                let staged = try Self.staged(source, "stages=\(s) reuse=\(reuse)")
                try assertStagedMatchesReference(source: source, staged: staged, reuse: reuse, input: input,
                                                 label: "default S=\(s) reuse=\(reuse)")
            }
        }
        // Uneven fractions too.
        let staged = try Self.staged(source, "fractions=[0.25,0.5]")
        try assertStagedMatchesReference(source: source, staged: staged, reuse: true, input: input, label: "default [0.25,0.5]")
    }

    /// With one stage every output and figure equals the static model's.
    func testOneStageEqualsStatic() throws {
        let source = try Self.canonical(defaultModel)
        let staged = try Self.staged(source, "stages=1")
        let input = stagedTestInput([2, 1, 28, 28])
        let want = try Interpreter(graph: source).run([source.inputs[0].name: input])[source.outputs[0]]
        let result = try StagedInterpreter(graph: staged).run([source.inputs[0].name: input])
        let have = result.outputs[source.outputs[0]]
        XCTAssertEqual(have?.shape, want?.shape)
        let diff = zip(have?.scalars ?? [], want?.scalars ?? []).map { abs($0 - $1) }.max() ?? 1
        XCTAssertLessThanOrEqual(diff, 1e-5)
        XCTAssertEqual(result.macs, Array(repeating: try CostModel.report(source).totals.macs, count: 2))
        let report = try CostModel.stageReport(staged)
        XCTAssertEqual(report.stages[0].parameters, try CostModel.report(source).totals.parameters)
    }

    /// At batch N only the samples still running continue, and each sample's exit, logits and
    /// MACs equal its batch-1 run.
    func testBatchedEarlyExitEqualsBatchOne() throws {
        let source = try Self.canonical(defaultModel)
        let staged = try Self.staged(source, "fractions=[0.25,0.5]")
        let runner = try StagedInterpreter(graph: staged)
        let n = 8
        let input = stagedTestInput([n, 1, 28, 28], seed: 11)
        let name = source.inputs[0].name, out = source.outputs[0]
        // Thresholds that send some samples out at each exit: between the middle exit-1 scores, and 0.
        let all1 = try runner.run([name: input], exitAt: 1).outputs[out]
        let scores1 = (0..<n).map { StagedInterpreter.score(Array(all1!.scalars[($0 * 10)..<($0 * 10 + 10)]), .softmax) }.sorted()
        let thresholds: [Float] = [TestSupport.threshold(between: scores1, at: n / 2), 0]
        let batched = try runner.run([name: input], thresholds: thresholds)
        XCTAssertEqual(Set(batched.exitStage), [1, 2], "the thresholds should split the batch between exits 1 and 2")
        for i in 0..<n {
            let one = StagedInterpreter.gather(input, rows: [i], of: n)
            let single = try runner.run([name: one], thresholds: thresholds)
            XCTAssertEqual(single.exitStage[0], batched.exitStage[i], "sample \(i)")
            XCTAssertEqual(single.macs[0], batched.macs[i], "sample \(i)")
            XCTAssertEqual(single.macs[0], runner.exitMACs[single.exitStage[0] - 1])
            let a = single.outputs[out]!.scalars, b = Array(batched.outputs[out]!.scalars[(i * 10)..<(i * 10 + 10)])
            let diff = zip(a, b).map { abs($0 - $1) }.max() ?? 1
            XCTAssertLessThanOrEqual(diff, 1e-5 * max(1, a.map(abs).max() ?? 1), "sample \(i)")
        }
    }
}

/// VGG/AlexNet's shape: a Flatten of a spatial map into fully connected layers, the hidden one
/// split (its features are a class) and its input columns sliced per channel's H·W block.
final class StagedFlattenTests: XCTestCase {
    func testFlattenOfSpatialMapIntoHiddenLayersMatchesMaskedReference() throws {
        var graph = try TextParser.parse("""
            graph @vgg(%x: f32[N,3,8,8]) -> (%y) {
              const %w1: f32[8,3,3,3] = dense<elided>
              const %b1: f32[8] = dense<elided>
              const %w2: f32[12,8,3,3] = dense<elided>
              const %f1: f32[24,48] = dense<elided>
              const %g1: f32[24] = dense<elided>
              const %f2: f32[192,10] = dense<elided>
              const %g2: f32[10] = dense<elided>
              %c1 = conv(%x, %w1, %b1) {kernel = [3, 3], pads = [1, 1, 1, 1], activation = relu}
              %p1 = max_pool(%c1) {kernel = [2, 2], strides = [2, 2]}
              %c2 = conv(%p1, %w2) {kernel = [3, 3], pads = [1, 1, 1, 1], activation = relu}
              %p2 = max_pool(%c2) {kernel = [2, 2], strides = [2, 2]}
              %f = flatten(%p2) {axis = 1}
              %h = gemm(%f, %f1, %g1) {trans_b = true}
              %r = relu(%h)
              %h2 = gemm(%r, %f2, %g2) {trans_b = true}
              %d = dropout(%h2) {ratio = 0.5}
              %y = softmax(%d) {axis = 1}
              return %y
            }
            """.replacingOccurrences(of: "%f2: f32[192,10]", with: "%f2: f32[10,24]"))
        var state: UInt64 = 5
        for name in graph.constantNames {
            guard let t = graph.constants[name] else { continue }
            let scalars = (0..<t.count).map { _ -> Float in
                state = state &* 6364136223846793005 &+ 1442695040888963407
                return Float(state >> 40) / Float(1 << 23) - 1
            }
            try graph.replaceConstant(name, with: Tensor(shape: t.shape, scalars: scalars))
        }
        let input = stagedTestInput([2, 3, 8, 8])
        for (s, reuse) in [(2, true), (3, true), (3, false)] {
            var staged = graph
            try PassManager(pipeline: "split-stages{stages=\(s) reuse=\(reuse)},insert-exits", verifyEach: true).run(&staged)
            try assertStagedMatchesReference(source: graph, staged: staged, reuse: reuse, input: input, label: "vgg S=\(s) reuse=\(reuse)")
        }
    }
}
