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

    /// The same through `DepthHeadTrainer` (what `s2dc train --heads-only` and convert's SDN
    /// baseline run): a loss at each early exit, forward passes in inference mode, each head's
    /// step scaled by 2(1 + μ) / E‖[f, 1]‖² of its features on the probe batch;
    /// `Evaluation.evaluateExits` sees every early exit's held-out loss fall while the last exit,
    /// the frozen model, keeps its loss; a run stopped after an epoch and resumed ends with the
    /// uninterrupted run's heads.
    func testDepthHeadTrainerTrainsHeadsWithALossAtEachEarlyExit() throws {
        var graph = try ONNXLoader.load(path: TestSupport.repoRoot.appendingPathComponent("models/default.onnx").path)
        try PassManager(pipeline: "canonicalize,insert-exits{at=blocks seed=2}", verifyEach: true).run(&graph)
        let data = syntheticQuadrants(64)
        let configuration = TrainingConfiguration(epochs: 4, batchSize: 16, schedule: .constant(base: 0.5, warmupSteps: 0),
                                                  momentum: 0.9, weightDecay: 0)
        let probe = DepthHeadTrainer.probeBatch(data, Preprocessing())
        XCTAssertEqual(probe.shape[0], 64)
        let heads = try DepthHeadTrainer(graph: graph, configuration: configuration, probe: probe)
        XCTAssertEqual(heads.exits.count, 2)
        XCTAssertEqual(Set(heads.stepScale.keys), Set(graph.depthHeadConstants()))
        for (name, factor) in heads.stepScale { XCTAssertTrue(factor > 0 && factor.isFinite, "\(name): \(factor)") }

        // The step rule, computed independently: the features the first head's Gemm reads, on the probe.
        let net = try TrainableGraph(graph: graph)
        var rng = TrainingRNG(seed: 0)
        let tape = try net.forward([graph.inputs[0].name: probe], mode: .inference, rng: &rng)
        let reader = try XCTUnwrap(graph.nodes.first { $0.inputs.contains("exit1.fc.weight") })
        let f = try net.value(try XCTUnwrap(reader.inputs.first { graph.constants[$0] == nil }), on: tape)
        let meanSquare = f.scalars.reduce(0.0) { $0 + Double($1) * Double($1) } / Double(f.shape[0]) + 1
        XCTAssertEqual(Double(try XCTUnwrap(heads.stepScale["exit1.fc.weight"])), 2 * 1.9 / meanSquare, accuracy: 1e-6 * (2 * 1.9 / meanSquare))

        let before = try Evaluation.evaluateExits(graph, on: data, preprocessing: Preprocessing())
        XCTAssertEqual(before.count, 3)
        let ckpt = FileManager.default.temporaryDirectory.appendingPathComponent("heads-\(UUID().uuidString).ckpt").path
        defer { try? FileManager.default.removeItem(atPath: ckpt) }
        XCTAssertEqual(try heads.runEpochs(data, options: FitOptions(checkpoint: ckpt)), .finished)
        let trained = try heads.trainedGraph()
        let after = try Evaluation.evaluateExits(trained, on: data, preprocessing: Preprocessing())
        for e in 0..<2 { XCTAssertLessThan(after[e].loss, before[e].loss * 0.9, "exit \(e + 1): \(before[e].loss) → \(after[e].loss)") }
        XCTAssertEqual(after[2].loss, before[2].loss, accuracy: 1e-6)
        let headNames = Set(graph.depthHeadConstants())
        for name in graph.constantNames where !headNames.contains(name) {
            XCTAssertEqual(trained.constants[name], graph.constants[name], "'\(name)' is frozen")
        }

        // Stopped after the first epoch, resumed from its checkpoint by a new trainer: the same heads.
        let stopped = try DepthHeadTrainer(graph: graph, configuration: configuration, probe: probe)
        var steps = 0
        XCTAssertEqual(try stopped.runEpochs(data, options: FitOptions(checkpoint: ckpt, shouldStop: { steps > 4 }), step: { _ in steps += 1 }),
                       .stopped(epochsDone: 1))
        let resumed = try DepthHeadTrainer(graph: graph, configuration: configuration, probe: probe)
        XCTAssertEqual(try resumed.runEpochs(data, options: FitOptions(checkpoint: ckpt, resume: true)), .finished)
        let again = try resumed.trainedGraph()
        for name in headNames { XCTAssertEqual(again.constants[name], trained.constants[name], "'\(name)' after resume") }
    }

    /// A model without depth exits is refused with the command that makes them.
    func testDepthHeadTrainerRefusesAModelWithoutDepthExits() throws {
        var graph = try ONNXLoader.load(path: TestSupport.repoRoot.appendingPathComponent("models/default.onnx").path)
        try PassManager(pipeline: "canonicalize").run(&graph)
        let data = syntheticQuadrants(16)
        XCTAssertThrowsError(try DepthHeadTrainer(graph: graph, configuration: TrainingConfiguration(epochs: 1, batchSize: 16),
                                                  probe: DepthHeadTrainer.probeBatch(data, Preprocessing()))) {
            XCTAssertTrue("\($0)".contains("insert-exits{at=blocks}"), "\($0)")
        }
    }
}
