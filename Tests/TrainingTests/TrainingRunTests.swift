// TrainingRunTests: a short real Fashion-MNIST run, seeded determinism, checkpoint round trips and export.
import Foundation
import IR
import ONNX
import Runtime
import XCTest

/// A small CNN for 1×28×28 inputs with He-initialized weights from `seed`: conv-BN-ReLU (stride 2),
/// conv-BN-ReLU (stride 2), max pool, global average pool, dropout, linear.
func smallCNN(seed: UInt64) throws -> Graph {
    var rng = TrainingRNG(seed: seed)
    func he(_ shape: [Int], fanIn: Int) -> Tensor {
        let s = (2 / Float(fanIn)).squareRoot()
        return Tensor(shape: shape, scalars: (0..<shape.reduce(1, *)).map { _ in rng.nextNormal() * s })
    }
    var g = Graph(name: "small_cnn")
    try g.addInput("x", type: TensorType(dims: [.symbol("N"), .fixed(1), .fixed(28), .fixed(28)]))
    var x = "x", cin = 1
    for (i, cout) in [8, 16].enumerated() {
        try g.addConstant("w\(i)", he([cout, cin, 3, 3], fanIn: cin * 9))
        try g.addConstant("s\(i)", Tensor(shape: [cout], repeating: 1))
        try g.addConstant("b\(i)", Tensor(shape: [cout], repeating: 0))
        try g.addConstant("m\(i)", Tensor(shape: [cout], repeating: 0))
        try g.addConstant("v\(i)", Tensor(shape: [cout], repeating: 1))
        x = try g.append(.conv(ConvAttributes(kernel: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1])), [x, "w\(i)"], name: "conv\(i)")
        x = try g.append(.batchNormalization(epsilon: 1e-5), [x, "s\(i)", "b\(i)", "m\(i)", "v\(i)"], name: "bn\(i)")
        x = try g.append(.relu, [x], name: "relu\(i)")
        cin = cout
    }
    x = try g.append(.maxPool(PoolAttributes(kernel: [2, 2], strides: [2, 2])), [x], name: "pool")
    x = try g.append(.globalAveragePool, [x], name: "gap")
    x = try g.append(.flatten(axis: 1), [x], name: "flatten")
    x = try g.append(.dropout(ratio: 0.1), [x], name: "dropout")
    try g.addConstant("fw", he([10, 16], fanIn: 16))
    try g.addConstant("fb", Tensor(shape: [10], repeating: 0))
    x = try g.append(.gemm(GemmAttributes(transB: true)), [x, "fw", "fb"], name: "fc")
    try g.setOutputs([x])
    return g
}

final class TrainingRunTests: XCTestCase {
    private func fashionMNIST() throws -> DatasetSplits {
        guard FileManager.default.fileExists(atPath: "/usr/share/datasets/fashion-mnist") else {
            throw XCTSkip("the Debian package dataset-fashion-mnist is not installed")
        }
        return try Dataset.load("fashion-mnist")
    }

    private func config(epochs: Int = 1, seed: UInt64 = 1) -> TrainingConfiguration {
        TrainingConfiguration(epochs: epochs, batchSize: 32, schedule: .cosine(base: 0.1, minimum: 0, warmupSteps: 5),
                              labelSmoothing: 0.1, preprocessing: Preprocessing(cropPadding: 2, horizontalFlip: true), seed: seed)
    }

    func testShortRunOnASubsetBeatsChanceByAWideMargin() throws {
        let data = try fashionMNIST()
        let trainer = try Trainer(network: try TrainableGraph(graph: try smallCNN(seed: 3)), configuration: config(epochs: 3))
        for _ in 0..<3 {
            let report = try XCTUnwrap(try trainer.trainEpoch(data.train.prefix(2000)))
            XCTAssertEqual(report.images, 2000 / 32 * 32)
        }
        let r = try Evaluation.evaluate(try trainer.network.exportGraph(), on: data.test.prefix(1000), preprocessing: Preprocessing())
        // Chance is 10%.
        XCTAssertGreaterThan(r.accuracy, 0.5, "accuracy after three epochs of 2000 images: \(r.accuracy)")
        XCTAssertLessThan(r.loss, 1.8)
    }

    /// Synthetic data: a bright square whose position encodes the label, so runs need no dataset.
    private func synthetic(_ n: Int) -> Dataset { syntheticQuadrants(n) }

    func testSameSeedGivesIdenticalWeights() throws {
        let data = synthetic(96)
        func run(_ seed: UInt64) throws -> [String: Tensor] {
            let t = try Trainer(network: try TrainableGraph(graph: try smallCNN(seed: 3)), configuration: config(epochs: 2, seed: seed))
            _ = try t.trainEpoch(data)
            _ = try t.trainEpoch(data)
            return t.network.parameters.merging(t.network.buffers) { a, _ in a }
        }
        let a = try run(5), b = try run(5), c = try run(6)
        XCTAssertEqual(a, b)
        XCTAssertNotEqual(a, c)
    }

    func testResumeFromCheckpointContinuesExactly() throws {
        let data = synthetic(96)
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("s2dc-ckpt-\(UUID().uuidString).npz").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let straight = try Trainer(network: try TrainableGraph(graph: try smallCNN(seed: 3)), configuration: config(epochs: 2))
        _ = try straight.trainEpoch(data)
        _ = try straight.trainEpoch(data)

        let first = try Trainer(network: try TrainableGraph(graph: try smallCNN(seed: 3)), configuration: config(epochs: 2))
        _ = try first.trainEpoch(data)
        try Checkpoint.save(first, to: path)
        let resumed = try Trainer(network: try TrainableGraph(graph: try smallCNN(seed: 3)), configuration: config(epochs: 2))
        try Checkpoint.load(path, into: resumed)
        XCTAssertEqual(resumed.epochsDone, 1)
        XCTAssertEqual(resumed.stepsDone, first.stepsDone)
        _ = try resumed.trainEpoch(data)
        XCTAssertEqual(resumed.network.parameters, straight.network.parameters)
        XCTAssertEqual(resumed.network.buffers, straight.network.buffers)

        // A checkpoint of another seed or another model is refused.
        let other = try Trainer(network: try TrainableGraph(graph: try smallCNN(seed: 3)), configuration: config(epochs: 2, seed: 9))
        XCTAssertThrowsError(try Checkpoint.load(path, into: other)) { XCTAssertTrue("\($0)".contains("seed"), "\($0)") }
    }

    func testInterruptStopsBetweenStepsWithoutCountingTheEpoch() throws {
        let t = try Trainer(network: try TrainableGraph(graph: try smallCNN(seed: 3)), configuration: config())
        var steps = 0
        let r = try t.trainEpoch(synthetic(96), progress: { _ in steps += 1 }, shouldStop: { steps >= 1 })
        XCTAssertNil(r)
        XCTAssertEqual(t.epochsDone, 0)
        XCTAssertEqual(steps, 1)
    }

    func testExportedModelMatchesInferenceModeAndRoundTripsThroughONNX() throws {
        let data = synthetic(64)
        let t = try Trainer(network: try TrainableGraph(graph: try smallCNN(seed: 3)), configuration: config())
        _ = try t.trainEpoch(data)
        var rng = TrainingRNG(seed: 0)
        let batch = data.batch(Array(0..<8), Preprocessing(), rng: &rng)
        let tape = try t.network.forward(["x": batch.images], mode: .inference, rng: &rng)
        let engine = try t.network.value(t.network.graph.outputs[0], on: tape)
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("s2dc-trained-\(UUID().uuidString).onnx").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try ONNXExporter.export(try t.network.exportGraph(), to: path)
        let reloaded = try ONNXLoader.load(path: path)
        let y = try Interpreter(graph: reloaded).run(batch.images)
        XCTAssertEqual(y.shape, engine.shape)
        for (a, b) in zip(y.scalars, engine.scalars) { XCTAssertEqual(a, b, accuracy: 1e-4 * max(1, abs(b))) }
        XCTAssertNotEqual(reloaded.constants["m0"], Tensor(shape: [8], repeating: 0), "running statistics were exported")
    }
}
