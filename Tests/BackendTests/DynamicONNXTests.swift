// DynamicONNXTests: the dynamic ONNX model (an If chain) in onnxruntime against the staged interpreter.

import Foundation
import IR
import ONNX
import Passes
import Runtime
import TestSupport
import XCTest

final class DynamicONNXTests: XCTestCase {
    /// The default model in three stages (a quarter, a half, all channels). Its stages are not
    /// trained as a supernet, so stage 1 is unsure (max softmax about 0.23–0.24 on these images) and
    /// stage 2 less so (about 0.90–0.95): these thresholds send about half of the images out at
    /// each early exit.
    static let pipeline = "canonicalize,split-stages{fractions=[0.25,0.5]},insert-exits{thresholds=[0.238,0.93]}"
    static let samples = 300

    /// Writes `staged` (weight slices folded into initializers, as `s2dc emit --target onnx` does)
    /// as dynamic ONNX, runs it in onnxruntime on `x` once per threshold setting (nil: the model's
    /// defaults, not fed), and checks every sample's exit stage, MACs, label and logits against the
    /// interpreter's. Returns the exits per stage of the default run.
    @discardableResult
    func check(_ staged: Graph, x: Tensor, overrides: [[Float]], work: URL) throws -> [Int] {
        var folded = staged
        _ = try PassManager(pipeline: "fold-constants", verifyEach: false).run(&folded)
        let model = work.appendingPathComponent("dynamic.onnx")
        try ONNXExporter.export(folded, to: model.path)
        let n = x.shape[0]
        try Harness.writeRaw(x.scalars, to: work.appendingPathComponent("x.raw"))
        let runs = ["default"] + overrides.enumerated().map { "t\($0.offset)=" + $0.element.map { "\($0)" }.joined(separator: ",") }
        let script = TestSupport.repoRoot.appendingPathComponent("scripts/run-dynamic-onnx.py").path
        guard let r = TestSupport.run(TestSupport.python, [script, model.path, "x.raw", "\(n)", work.path] + runs, cwd: work) else {
            throw XCTSkip("cannot start \(TestSupport.python)")
        }
        guard r.status == 0 else {
            XCTFail("run-dynamic-onnx.py failed (onnx and onnxruntime in \(TestSupport.python)?): \(r.err.suffix(3000))")
            return []
        }
        // Each stage's weights are initializers of its own scope (so onnxruntime optimizes its convs).
        let scopes = r.out.split(separator: "\n").first { $0.hasPrefix("initializers per scope:") }?
            .split(separator: " ").dropFirst(3).compactMap { Int($0) } ?? []
        XCTAssertEqual(scopes.count, try XCTUnwrap(staged.stageInfo).exits.count, r.out)
        XCTAssertTrue(scopes.allSatisfy { $0 > 0 }, "initializers per scope \(scopes)")
        let interpreter = try StagedInterpreter(graph: staged)
        let stages = try XCTUnwrap(staged.stageInfo).stageCount
        var defaultExits: [Int] = []
        for (index, thresholds) in ([nil] + overrides.map { Optional($0) }).enumerated() {
            let name = index == 0 ? "default" : "t\(index - 1)"
            let want = try interpreter.run([staged.inputs[0].name: x], thresholds: thresholds)
            let logits = try XCTUnwrap(want.outputs[staged.outputs[0]]).scalars
            let got = try Harness.readRaw(work.appendingPathComponent(name + ".logits.raw"))
            let lines = try String(contentsOf: work.appendingPathComponent(name + ".txt"), encoding: .utf8).split(separator: "\n")
            XCTAssertEqual(lines.count, n, name)
            XCTAssertEqual(got.count, logits.count, name)
            guard lines.count == n, got.count == logits.count else { continue }
            let k = logits.count / n
            var exits = Array(repeating: 0, count: stages)
            for i in 0..<n {
                let row = Array(logits[(i * k)..<((i + 1) * k)]), ours = Array(got[(i * k)..<((i + 1) * k)])
                let d = Harness.relativeDifference(ours, row)
                XCTAssertLessThanOrEqual(d, 1e-4, "\(name), sample \(i): logits differ by \(d)")
                let fields = lines[i].split(separator: " ").compactMap { Int($0) }
                let label = { (v: [Float]) in v.indices.max { v[$0] < v[$1] } ?? -1 }
                XCTAssertEqual(fields + [label(ours)], [want.exitStage[i], want.macs[i], label(row)], "\(name), sample \(i): exit, MACs, label")
                exits[want.exitStage[i] - 1] += 1
            }
            print("dynamic ONNX \(name) thresholds \(thresholds.map { "\($0)" } ?? "(defaults)"): exits per stage over \(n) samples: \(exits)")
            if index == 0 { defaultExits = exits }
        }
        return defaultExits
    }

    /// The issue's case: the default model in three stages on Fashion-MNIST test images, with the
    /// defaults, thresholds 0 (everything leaves at exit 1) and 1.01 (everything reaches the last).
    func testStagedDefaultModelMatchesInterpreter() throws {
        var g = try ONNXLoader.load(path: TestSupport.repoRoot.appendingPathComponent("models/default.onnx").path)
        _ = try PassManager(pipeline: Self.pipeline, verifyEach: false).run(&g)
        let x = try DynamicCTests.images(Self.samples)
        let work = Harness.workDir("dynamic-onnx-default")
        let exits = try check(g, x: x, overrides: [[0, 0], [1.01, 1.01], [1.01, 0]], work: work)
        // The defaults must make the test meaningful: images leave at every exit.
        XCTAssertTrue(exits.count == 3 && exits.allSatisfy { $0 > 0 }, "exits per stage \(exits)")
        // The overrides must decide as expected.
        for (name, stage) in [("t0", 1), ("t1", 3), ("t2", 2)] {
            let lines = try String(contentsOf: work.appendingPathComponent(name + ".txt"), encoding: .utf8).split(separator: "\n")
            XCTAssertEqual(Set(lines.map { $0.split(separator: " ").first.map(String.init) ?? "" }), ["\(stage)"], name)
        }
    }

    /// A torchvision export (ResNet-18, 64×64 inputs) in two stages, on seeded random inputs, with
    /// the threshold halfway between two neighbouring stage-1 confidences at their median, so half
    /// of the samples leave early and none sits on the threshold.
    func testTorchvisionResNet18InTwoStages() throws {
        var g = try ONNXLoader.load(path: TestSupport.fixtures(of: "RuntimeTests").appendingPathComponent("torchvision/resnet18.onnx").path)
        _ = try PassManager(pipeline: "canonicalize,split-stages{stages=2},insert-exits", verifyEach: false).run(&g)
        let n = 12
        let x = try randomInputs(g, batch: n)
        try setThresholdAtMedian(&g, x)
        let exits = try check(g, x: x, overrides: [[0], [1.01]], work: Harness.workDir("dynamic-onnx-resnet18"))
        XCTAssertEqual(exits, [n / 2, n / 2])
    }

    /// Width stages cut at blocks (the default model, 3 width stages × 2 blocks and the
    /// classifier: 9 exits) as an If chain of 9 scopes, thresholds at the 75th percentile of each
    /// early exit's interpreter scores (between two samples), and the overrides 0 (all leave at exit 1) and 1.01.
    func testWidthAndDepthExitsMatchInterpreter() throws {
        var g = try ONNXLoader.load(path: TestSupport.repoRoot.appendingPathComponent("models/default.onnx").path)
        _ = try PassManager(pipeline: "canonicalize,split-stages{fractions=[0.25,0.5]},insert-exits{at=blocks seed=5}", verifyEach: true).run(&g)
        let n = 100
        let x = try DynamicCTests.images(n)
        var info = try XCTUnwrap(g.stageInfo)
        XCTAssertEqual(info.stageCount, 9)
        let interpreter = try StagedInterpreter(graph: g)
        for e in info.exits.indices.dropLast() {
            let y = try XCTUnwrap(interpreter.run([g.inputs[0].name: x], exitAt: e + 1).outputs[g.outputs[0]]).scalars
            let scores = (0..<n).map { StagedInterpreter.score(Array(y[($0 * 10)..<($0 * 10 + 10)]), .softmax) }.sorted()
            info.exits[e].threshold = TestSupport.threshold(between: scores, at: n * 3 / 4)
        }
        g.setStageInfo(info)
        let exits = try check(g, x: x, overrides: [Array(repeating: 0, count: 8), Array(repeating: 1.01, count: 8)],
                              work: Harness.workDir("dynamic-onnx-width-depth"))
        XCTAssertTrue(exits.count == 9 && exits.first! > 0 && exits.last! > 0 && exits.filter { $0 > 0 }.count >= 5, "exits per stage \(exits)")
    }

    /// A model whose output is already a softmax gets `score = max` exits (no second softmax),
    /// and an exit value of rank 4 is flattened for its score.
    func testSoftmaxOutputScoresByMax() throws {
        var g = try TextParser.parse("""
            graph @small(%x: f32[N,2,4,4]) -> (%y) {
              const %w1: f32[4,2,1,1] = dense<[1.0, -2.0, 3.0, -4.0, 0.5, 1.0, -1.0, 2.0]>
              const %w2: f32[4,4,1,1] = dense<[1.0, 0.5, 0.0, 0.0, 0.0, 1.0, 0.0, -0.5, 0.0, 0.0, 1.0, 0.0, 0.25, 0.0, 0.0, 1.0]>
              const %fw: f32[3,4,1,1] = dense<[0.1, -0.2, 0.3, 0.4, -0.5, 0.6, 0.2, -0.8, -0.1, 0.05, -0.2, 0.15]>
              %c1 = conv(%x, %w1) {kernel = [1, 1], activation = relu}
              %c2 = conv(%c1, %w2) {kernel = [1, 1]}
              %a = add(%c1, %c2)
              %p = global_average_pool(%a)
              %z = conv(%p, %fw) {kernel = [1, 1]}
              %y = softmax(%z) {axis = 1}
              return %y
            }
            """)
        _ = try PassManager(pipeline: "split-stages{stages=2},insert-exits", verifyEach: false).run(&g)
        XCTAssertEqual(g.stageInfo?.exits.map(\.score), [.max, .max])
        XCTAssertEqual(g.stageInfo.flatMap { try? g.type(of: $0.exits[0].value).rank }, 4)
        let x = try randomInputs(g, batch: 40)
        try setThresholdAtMedian(&g, x)
        let exits = try check(g, x: x, overrides: [[0], [1.01]], work: Harness.workDir("dynamic-onnx-softmax"))
        XCTAssertEqual(exits, [20, 20])
    }

    /// `batch` seeded normal inputs for the graph's one input.
    func randomInputs(_ g: Graph, batch: Int) throws -> Tensor {
        let shape = try graphInputShape(g, batch: batch)
        var rng = TrainingRNG(seed: 7)
        return Tensor(shape: shape, scalars: (0..<shape.reduce(1, *)).map { _ in rng.nextNormal() })
    }

    /// Sets exit 1's threshold halfway between the two stage-1 scores around their median on `x`.
    func setThresholdAtMedian(_ g: inout Graph, _ x: Tensor) throws {
        let n = x.shape[0]
        var info = try XCTUnwrap(g.stageInfo)
        let first = try StagedInterpreter(graph: g).run([g.inputs[0].name: x], exitAt: 1)
        let y = try XCTUnwrap(first.outputs[g.outputs[0]]).scalars
        let k = y.count / n
        let scores = (0..<n).map { StagedInterpreter.score(Array(y[($0 * k)..<(($0 + 1) * k)]), info.exits[0].score) }.sorted()
        info.exits[0].threshold = TestSupport.threshold(between: scores, at: n / 2)
        g.setStageInfo(info)
    }

    /// The one input's shape with its batch set to `batch`.
    func graphInputShape(_ g: Graph, batch: Int) throws -> [Int] {
        let dims = try XCTUnwrap(g.inputs.first).type.shape(batch: 1)
        return [batch] + dims.dropFirst()
    }

    /// What cannot be written as a dynamic model fails with a message, and nothing is written.
    func testFixedBatchAboveOneIsRefused() throws {
        let text = """
            graph @small(%x: f32[2,1,4,4]) -> (%y) {
              const %w1: f32[4,1,1,1] = dense<[1.0, 2.0, 3.0, 4.0]>
              const %fw: f32[2,4] = dense<[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]>
              %c1 = conv(%x, %w1) {kernel = [1, 1], activation = relu}
              %p = global_average_pool(%c1)
              %f = flatten(%p) {axis = 1}
              %y = gemm(%f, %fw) {trans_b = true}
              return %y
            }
            """
        var g = try TextParser.parse(text)
        _ = try PassManager(pipeline: "split-stages{stages=2},insert-exits", verifyEach: false).run(&g)
        let path = Harness.workDir("dynamic-onnx-refused").appendingPathComponent("m.onnx").path
        XCTAssertThrowsError(try ONNXExporter.export(g, to: path)) { error in
            XCTAssertTrue("\(error)".contains("runs batch 1"), "\(error)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: path))
    }
}
