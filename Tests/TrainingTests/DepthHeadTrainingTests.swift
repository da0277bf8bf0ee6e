// DepthHeadTrainingTests: the depth exits' heads train on a frozen backbone (SDN's setting) through TrainableGraph.
import Foundation
import IR
import ONNX
import Passes
import Runtime
import TestSupport
import XCTest

final class DepthHeadTrainingTests: XCTestCase {
    /// The default model with depth exits: only the heads' constants train (gradients reach them
    /// from each exit's loss), the backbone and the final classifier stay bit for bit, and a few
    /// SGD steps lower every head's loss on a fixed batch.
    func testHeadsTrainOnAFrozenBackbone() throws {
        var graph = try ONNXLoader.load(path: TestSupport.repoRoot.appendingPathComponent("models/default.onnx").path)
        try PassManager(pipeline: "canonicalize,insert-exits{at=blocks seed=2}", verifyEach: true).run(&graph)
        let info = try XCTUnwrap(graph.stageInfo)
        let heads = graph.depthHeadConstants()
        XCTAssertEqual(heads, ["exit1.fc.weight", "exit1.fc.bias", "exit2.fc.weight", "exit2.fc.bias"])
        let net = try TrainableGraph(graph: graph, trainingOnly: Set(heads))
        XCTAssertEqual(net.parameterNames, heads)
        XCTAssertThrowsError(try TrainableGraph(graph: graph, trainingOnly: ["exit1.pool"])) {
            XCTAssertTrue("\($0)".contains("'exit1.pool' is not a trainable constant"), "\($0)")
        }

        let n = 16
        var rng = TrainingRNG(seed: 4)
        // Images whose brightness and left-right balance encode the label, so pooled features tell
        // the classes apart.
        let labels = (0..<n).map { $0 % 10 }
        let x = Tensor(shape: [n, 1, 28, 28], scalars: (0..<(n * 784)).map { i in
            let label = Float(labels[i / 784]), column = Float(i % 28)
            return 0.2 * rng.nextUnitFloat() + 0.08 * label * (column < 14 ? 1 : 0.3)
        })
        let early = info.exits.dropLast().map(\.value)
        func losses() throws -> ([Float], [String: Tensor]) {
            let tape = try net.forward([graph.inputs[0].name: x], mode: .inference, rng: &rng)
            var out: [Float] = []
            var gradients: [String: Tensor] = [:]
            for v in early {
                let l = try Losses.softmaxCrossEntropy(logits: try net.value(v, on: tape), labels: labels)
                out.append(l.loss)
                gradients[v] = l.gradient
            }
            return (out, try net.backward(tape, outputGradients: gradients))
        }
        var sgd = SGD(momentum: 0.9, nesterov: false, weightDecay: 0)
        let (before, firstGradients) = try losses()
        XCTAssertEqual(Set(firstGradients.keys), Set(heads))
        XCTAssertTrue(heads.allSatisfy { (firstGradients[$0]?.scalars.map(abs).max() ?? 0) > 0 }, "every head gets a gradient")
        var gradients = firstGradients
        var after = before
        for _ in 0..<30 {
            sgd.step(&net.parameters, gradients: gradients, lr: 0.5)
            (after, gradients) = try losses()
        }
        for (a, b) in zip(after, before) { XCTAssertLessThan(a, b * 0.9, "head losses \(before) → \(after)") }
        let trained = try net.exportGraph()
        for name in graph.constantNames where !heads.contains(name) {
            XCTAssertEqual(trained.constants[name], graph.constants[name], "'\(name)' is frozen")
        }
        for name in heads { XCTAssertNotEqual(trained.constants[name], graph.constants[name], "'\(name)' trained") }
    }

    /// The same through `Trainer` (what `s2dc train --heads-only` runs): a loss at each early exit
    /// (`lossValues`), forward passes in inference mode; `Evaluation.evaluateExits` sees every
    /// early exit's held-out loss fall while the last exit, the frozen model, keeps its loss.
    func testTrainerTrainsHeadsWithALossAtEachEarlyExit() throws {
        var graph = try ONNXLoader.load(path: TestSupport.repoRoot.appendingPathComponent("models/default.onnx").path)
        try PassManager(pipeline: "canonicalize,insert-exits{at=blocks seed=2}", verifyEach: true).run(&graph)
        let info = try XCTUnwrap(graph.stageInfo)
        let data = syntheticQuadrants(64)
        let trainer = try Trainer(network: try TrainableGraph(graph: graph, trainingOnly: Set(graph.depthHeadConstants())),
                                  configuration: TrainingConfiguration(epochs: 4, batchSize: 16, schedule: .constant(base: 0.05, warmupSteps: 0),
                                                                       weightDecay: 0))
        XCTAssertEqual(trainer.lossValues, [graph.outputs[0]])
        trainer.lossValues = info.exits.dropLast().map(\.value)
        trainer.forwardMode = .inference
        let before = try Evaluation.evaluateExits(graph, on: data, preprocessing: Preprocessing())
        XCTAssertEqual(before.count, 3)
        let ckpt = FileManager.default.temporaryDirectory.appendingPathComponent("heads-\(UUID().uuidString).ckpt").path
        defer { try? FileManager.default.removeItem(atPath: ckpt) }
        XCTAssertEqual(try trainer.fit(data, options: FitOptions(checkpoint: ckpt)), .finished)
        let trained = try trainer.network.exportGraph()
        let after = try Evaluation.evaluateExits(trained, on: data, preprocessing: Preprocessing())
        for e in 0..<2 { XCTAssertLessThan(after[e].loss, before[e].loss * 0.9, "exit \(e + 1): \(before[e].loss) → \(after[e].loss)") }
        XCTAssertEqual(after[2].loss, before[2].loss, accuracy: 1e-6)
        let heads = Set(graph.depthHeadConstants())
        for name in graph.constantNames where !heads.contains(name) {
            XCTAssertEqual(trained.constants[name], graph.constants[name], "'\(name)' is frozen")
        }
    }
}
