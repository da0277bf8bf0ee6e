// SupernetTests: configurations and samplers, one sandwich step against separately computed gradients, evaluation, resume.
import Foundation
import IR
import ONNX
import Passes
import TestSupport
@testable import Runtime
import XCTest

/// A small staged CNN (conv-BN-ReLU ×2, max pool, global pool, linear; 3 stages at 0.25, 0.5).
func stagedCNN(seed: UInt64, pipeline: String = "split-stages{fractions=[0.25,0.5]},insert-exits") throws -> (static: Graph, staged: Graph) {
    var rng = TrainingRNG(seed: seed)
    func he(_ shape: [Int], fanIn: Int) -> Tensor {
        let s = (2 / Float(fanIn)).squareRoot()
        return Tensor(shape: shape, scalars: (0..<shape.reduce(1, *)).map { _ in rng.nextNormal() * s })
    }
    var g = Graph(name: "staged_cnn")
    try g.addInput("x", type: TensorType(dims: [.symbol("N"), .fixed(1), .fixed(28), .fixed(28)]))
    var x = "x", cin = 1
    for (i, cout) in [8, 16].enumerated() {
        try g.addConstant("w\(i)", he([cout, cin, 3, 3], fanIn: cin * 9))
        try g.addConstant("s\(i)", Tensor(shape: [cout], scalars: (0..<cout).map { 1 + Float($0) * 0.01 }))
        try g.addConstant("b\(i)", Tensor(shape: [cout], scalars: (0..<cout).map { Float($0) * 0.02 - 0.1 }))
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
    try g.addConstant("fw", he([10, 16], fanIn: 16))
    try g.addConstant("fb", Tensor(shape: [10], repeating: 0))
    x = try g.append(.gemm(GemmAttributes(transB: true)), [x, "fw", "fb"], name: "fc")
    try g.setOutputs([x])
    var staged = g
    try PassManager(pipeline: pipeline, verifyEach: true).run(&staged)
    return (g, staged)
}

/// Synthetic data: a bright square whose position encodes the label.
func squares(_ n: Int) -> Dataset {
    var px = [UInt8](repeating: 0, count: n * 784)
    for i in 0..<n {
        let label = i % 4, oy = (label / 2) * 14, ox = (label % 2) * 14
        for y in 0..<10 { for x in 0..<10 { px[i * 784 + (oy + 2 + y) * 28 + ox + 2 + x] = UInt8(150 + (i * 7 + y * x) % 100) } }
    }
    return Dataset(pixels: .uint8(px), imageShape: [1, 28, 28], labels: (0..<n).map { $0 % 4 })
}

final class SupernetTests: XCTestCase {
    private func options(_ distill: DistillationMode = .inplace, samples: Int = 1, lr: Float = 0.05,
                         momentum: Float = 0.9, decay: Float = 5e-4) -> SupernetTrainingOptions {
        SupernetTrainingOptions(training: TrainingConfiguration(epochs: 2, batchSize: 16, schedule: .constant(base: lr, warmupSteps: 0),
                                                                momentum: momentum, nesterov: momentum > 0, weightDecay: decay,
                                                                labelSmoothing: 0.1, seed: 5),
                                samples: samples, distillation: distill)
    }

    func testSamplersDrawOnlyLegalConfigurationsAndCoverTheCandidates() throws {
        let (_, staged) = try stagedCNN(seed: 1)
        guard var info = staged.stageInfo else { return XCTFail("not staged") }
        // One class with bins (as flops-bins gives), the others any value.
        info.classes[0].bins = [2, 3, 5, 6, 8]
        let space = try SupernetSpace(info, allClasses: true)
        XCTAssertEqual(space.choices.map(\.candidates), [[2, 3, 5, 6], Array(1..<16)])
        XCTAssertEqual(space.largest.boundaries[info.classes[0].name], [5, 6, 8])
        XCTAssertEqual(space.smallest.boundaries[info.classes[1].name], [1, 2, 16])
        var g = staged
        g.setStageInfo(info)
        let trainer = try SupernetTrainer(supernet: g, space: space, sampler: UniformSampler(options: try PassOptions(specs: [])),
                                          options: options())
        var rng = TrainingRNG(seed: 9)
        let batch = squares(8).batch(Array(0..<8), Preprocessing(), rng: &rng)
        for text in ["uniform", "attentive{candidates=3 mode=worst-up buckets=4}", "prioritized{buckets=3 pool-size=2}"] {
            let sampler = try SamplerRegistry.parse(text)
            var seen: [String: Set<Int>] = [:]
            for i in 0..<(text == "uniform" ? 400 : 12) {
                let context = trainer.samplerContext(batch, progress: Double(i) / 12)
                for c in try sampler.sample(2, context: context, rng: &rng) {
                    XCTAssertNoThrow(try space.check(c), text)
                    for (name, b) in c.boundaries { seen[name, default: []].formUnion(b.dropLast()) }
                    try sampler.observe(c, loss: Float(i % 7), context: context)
                }
            }
            if text == "uniform" {
                for choice in space.choices { XCTAssertEqual(seen[choice.name], Set(choice.candidates), "every candidate of \(choice.name) drawn") }
            }
        }
        XCTAssertThrowsError(try SamplerRegistry.parse("attentive{mode=sideways}")) { XCTAssertTrue("\($0)".contains("best-up"), "\($0)") }
        XCTAssertThrowsError(try SamplerRegistry.parse("greedy")) { XCTAssertTrue("\($0)".contains("uniform, attentive, prioritized"), "\($0)") }
        XCTAssertThrowsError(try SamplerRegistry.parse("uniform{k=1}")) { XCTAssertTrue("\($0)".contains("unknown option 'k'"), "\($0)") }
        var bad = space.largest
        bad.boundaries[info.classes[0].name] = [4, 6, 8]
        XCTAssertThrowsError(try space.check(bad)) { XCTAssertTrue("\($0)".contains("not 3 increasing values"), "\($0)") }
    }

    /// Re-resolving the supernet's slices under a configuration gives the graph split-stages builds
    /// for that configuration from the static graph.
    func testConfigurationGraphEqualsSplitStagesOfThatConfiguration() throws {
        let (plain, staged) = try stagedCNN(seed: 1)
        guard let info = staged.stageInfo else { return XCTFail("not staged") }
        let space = try SupernetSpace(info, allClasses: true)
        var rng = TrainingRNG(seed: 3)
        for config in [space.largest, space.smallest, space.random(&rng)] {
            let path = FileManager.default.temporaryDirectory.appendingPathComponent("s2dc-config-\(UUID().uuidString).json").path
            defer { try? FileManager.default.removeItem(atPath: path) }
            try config.save(to: path)
            XCTAssertEqual(try SupernetConfiguration.load(path), config)
            var direct = plain
            try PassManager(pipeline: "split-stages{config=\"\(path)\"},insert-exits", verifyEach: true).run(&direct)
            let resolved = try space.graph(staged, config)
            try Verifier.verify(resolved)
            XCTAssertEqual(TextPrinter.print(resolved), TextPrinter.print(direct))
        }
    }

    /// `eval --configuration FILE` reads through the one configuration reader: the search's
    /// informational keys are ignored and a misspelt key is an error naming the file and the key.
    func testConfigurationLoadUsesTheOneReader() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("s2dc-cfg-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let good = dir.appendingPathComponent("config.json").path
        try Data(#"{"stages": 2, "boundaries": {"c": [3, 8]}, "thresholds": [0.9], "accuracy": 0.5}"#.utf8).write(to: URL(fileURLWithPath: good))
        XCTAssertEqual(try SupernetConfiguration.load(good), SupernetConfiguration(stages: 2, boundaries: ["c": [3, 8]]))
        let typo = dir.appendingPathComponent("typo.json").path
        try Data(#"{"stages": 2, "boundries": {"c": [3, 8]}}"#.utf8).write(to: URL(fileURLWithPath: typo))
        XCTAssertThrowsError(try SupernetConfiguration.load(typo)) { error in
            XCTAssertTrue("\(error)".contains("typo.json: unknown key 'boundries'; did you mean 'boundaries'?"), "\(error)")
        }
    }

    /// One sandwich step (SGD with lr 1, no momentum or decay: the update is minus the summed
    /// gradient) equals the sum of the gradients of the largest (labels at every exit, summed), the smallest and the
    /// sampled configuration (distilled from the largest's last exit), each computed on its own
    /// graph built by split-stages from the static model.
    func testOneStepEqualsTheSumOfItsConfigurationsGradients() throws {
        let (plain, staged) = try stagedCNN(seed: 2)
        guard let info = staged.stageInfo else { return XCTFail("not staged") }
        let space = try SupernetSpace(info, allClasses: true)
        let trainer = try SupernetTrainer(supernet: staged, space: space, sampler: try SamplerRegistry.parse("uniform"),
                                          options: options(samples: 1, lr: 1, momentum: 0, decay: 0))
        var rng = TrainingRNG(seed: 11)
        let batch = squares(16).batch(Array(0..<16), Preprocessing(), rng: &rng)
        var copy = rng
        let sampled = space.random(&copy)
        let before = trainer.parameters
        _ = try trainer.step(batch, learningRate: 1, progress: 0, rng: &rng)

        var expected: [String: [Float]] = [:]
        var teacher: Tensor?
        for (config, labels) in [(space.largest, true), (space.smallest, false), (sampled, false)] {
            let path = FileManager.default.temporaryDirectory.appendingPathComponent("s2dc-config-\(UUID().uuidString).json").path
            defer { try? FileManager.default.removeItem(atPath: path) }
            try config.save(to: path)
            var g = plain
            try PassManager(pipeline: "split-stages{config=\"\(path)\"},insert-exits", verifyEach: true).run(&g)
            let net = try TrainableGraph(graph: g)
            var r = TrainingRNG(seed: 0)
            let tape = try net.forward(["x": batch.images], mode: .training, rng: &r)
            let exits = try info.exits.map { try net.value($0.value, on: tape) }
            var grads: [String: Tensor] = [:]
            for (e, logits) in zip(info.exits, exits) {
                let l = labels ? try Losses.softmaxCrossEntropy(logits: logits, labels: batch.labels, smoothing: 0.1)
                               : try Losses.distillation(student: logits, teacher: teacher ?? logits)
                grads[e.value] = l.gradient  // each exit's loss counts in full (a sum over exits)
            }
            if labels { teacher = exits.last }
            for (name, g) in try net.backward(tape, outputGradients: grads) {
                expected[name] = zip(expected[name] ?? Array(repeating: 0, count: g.count), g.scalars).map { $0 + $1 }
            }
        }
        XCTAssertEqual(Set(expected.keys), Set(trainer.parameters.keys))
        for (name, g) in expected {
            guard let a = before[name], let b = trainer.parameters[name] else { return XCTFail(name) }
            let step = zip(a.scalars, b.scalars).map { $0 - $1 }
            let scale = max(1e-3, g.map(abs).max() ?? 0)
            for (x, y) in zip(step, g) { XCTAssertEqual(x, y, accuracy: 1e-4 * scale + 1e-6, name) }
            XCTAssertTrue(g.contains { $0 != 0 }, "\(name) got a gradient")
        }
    }

    /// IEB as DS-Net does it: the teacher is the EMA network run without dropout or statistics
    /// updates, each configuration on its own statistics (this batch's: one set of running
    /// statistics serves every configuration here); the sampled configuration distils from the
    /// EMA's largest, the smallest from the mean probability of the EMA's largest and sampled.
    /// Every target and gradient is recomputed here from split-stages of each configuration, and
    /// the EMA and running statistics after the step are checked. (Running the teacher on the
    /// running statistics, as before, fails this: they describe no configuration.)
    func testIEBStepDistilsFromTheEMANetworkOnBatchStatistics() throws {
        let (plain, staged) = try stagedCNN(seed: 6)
        guard let info = staged.stageInfo else { return XCTFail("not staged") }
        let space = try SupernetSpace(info, allClasses: true)
        var o = options(.ieb, samples: 1, lr: 1, momentum: 0, decay: 0)
        o.emaDecay = 0.5
        o.emaWarmup = false
        let trainer = try SupernetTrainer(supernet: staged, space: space, sampler: try SamplerRegistry.parse("uniform"), options: o)
        var rng = TrainingRNG(seed: 12)
        let data = squares(32)
        // A first step moves the weights away from the EMA and the running statistics away from 0 and 1.
        _ = try trainer.step(data.batch(Array(0..<16), Preprocessing(), rng: &rng), learningRate: 0.5, progress: 0, rng: &rng)
        XCTAssertNotEqual(trainer.ema, trainer.parameters)
        let batch = data.batch(Array(16..<32), Preprocessing(), rng: &rng)
        var copy = rng
        let sampled = space.random(&copy)
        let before = trainer.parameters, ema = trainer.ema
        var buffers = trainer.buffers
        _ = try trainer.step(batch, learningRate: 1, progress: 0, rng: &rng)

        func network(_ config: SupernetConfiguration) throws -> TrainableGraph {
            let path = FileManager.default.temporaryDirectory.appendingPathComponent("s2dc-config-\(UUID().uuidString).json").path
            defer { try? FileManager.default.removeItem(atPath: path) }
            try config.save(to: path)
            var g = plain
            try PassManager(pipeline: "split-stages{config=\"\(path)\"},insert-exits", verifyEach: true).run(&g)
            return try TrainableGraph(graph: g)
        }
        /// The EMA network's last exit of `config` on the batch, with batch statistics (the
        /// model has no dropout), the running statistics untouched.
        func teacher(_ config: SupernetConfiguration) throws -> [[Double]] {
            let net = try network(config)
            net.parameters = ema
            net.buffers = buffers
            var r = TrainingRNG(seed: 0)
            let last = try net.value(info.exits[info.exits.count - 1].value, on: try net.forward(["x": batch.images], mode: .training, rng: &r))
            return Losses.logSoftmax(last).map { $0.map(exp) }
        }
        let big = try teacher(space.largest), mid = try teacher(sampled)
        func logits(_ p: [[Double]]) -> Tensor {
            Tensor(shape: [p.count, p[0].count], scalars: p.joined().map { Float(log($0)) })
        }
        let ensemble = logits(zip(big, mid).map { zip($0, $1).map { ($0 + $1) / 2 } })
        var expected: [String: [Float]] = [:]
        for (config, target) in [(space.largest, nil), (space.smallest, ensemble), (sampled, logits(big))] as [(SupernetConfiguration, Tensor?)] {
            let net = try network(config)
            net.parameters = before
            net.buffers = buffers
            var r = TrainingRNG(seed: 0)
            let tape = try net.forward(["x": batch.images], mode: .training, rng: &r)
            buffers = net.buffers
            var grads: [String: Tensor] = [:]
            for e in info.exits {
                let y = try net.value(e.value, on: tape)
                grads[e.value] = try target.map { try Losses.distillation(student: y, teacher: $0).gradient }
                    ?? Losses.softmaxCrossEntropy(logits: y, labels: batch.labels, smoothing: 0.1).gradient
            }
            for (name, g) in try net.backward(tape, outputGradients: grads) {
                expected[name] = zip(expected[name] ?? Array(repeating: 0, count: g.count), g.scalars).map { $0 + $1 }
            }
        }
        XCTAssertEqual(Set(expected.keys), Set(trainer.parameters.keys))
        for (name, g) in expected {
            guard let a = before[name], let b = trainer.parameters[name], let e0 = ema[name], let e1 = trainer.ema[name] else { return XCTFail(name) }
            let scale = max(1e-3, g.map(abs).max() ?? 0)
            for (x, y) in zip(zip(a.scalars, b.scalars).map { $0 - $1 }, g) { XCTAssertEqual(x, y, accuracy: 1e-4 * scale + 1e-6, name) }
            for i in b.scalars.indices { XCTAssertEqual(e1.scalars[i], 0.5 * e0.scalars[i] + 0.5 * b.scalars[i], accuracy: 1e-6, "EMA of \(name)") }
        }
        for (name, t) in buffers {
            guard let got = trainer.buffers[name] else { return XCTFail(name) }
            for (x, y) in zip(got.scalars, t.scalars) { XCTAssertEqual(x, y, accuracy: 1e-5, "running statistics \(name): the teacher updated them") }
        }
    }

    func testEvaluationGivesEveryExitAsTheStagedInterpreter() throws {
        let (_, staged) = try stagedCNN(seed: 4)
        guard let info = staged.stageInfo else { return XCTFail("not staged") }
        let space = try SupernetSpace(info, allClasses: true)
        let data = squares(20)
        let r = try SupernetEvaluation.evaluate(staged, space: space, configuration: space.smallest, on: data, preprocessing: Preprocessing(),
                                                batchSize: 7)
        let g = try space.graph(staged, space.smallest)
        let interpreter = try StagedInterpreter(graph: g)
        var rng = TrainingRNG(seed: 0)
        let images = data.batch(Array(0..<20), Preprocessing(), rng: &rng).images
        XCTAssertEqual(r.cumulativeMACs, interpreter.exitMACs)
        // The training engine computes the same exits (inference mode).
        let net = try TrainableGraph(graph: g)
        var r0 = TrainingRNG(seed: 0)
        let tape = try net.forward(["x": images], mode: .inference, rng: &r0)
        for (e, exit) in info.exits.enumerated() {
            let y = try net.value(exit.value, on: tape)
            for i in 0..<20 { for j in 0..<10 { XCTAssertEqual(r.logits[e][i][j], y.scalars[i * 10 + j], accuracy: 1e-4, "engine exit \(e + 1)") } }
        }
        for (e, exit) in info.exits.enumerated() {
            guard let y = try interpreter.run(["x": images], exitAt: exit.stage).outputs[g.outputs[0]] else { return XCTFail() }
            for i in 0..<20 {
                for j in 0..<10 { XCTAssertEqual(r.logits[e][i][j], y.scalars[i * 10 + j], accuracy: 1e-4) }
                XCTAssertEqual(r.correct[e][i], r.predictions[e][i] == data.labels[i])
            }
        }
    }

    /// Exit s alone (`exitNetwork`, what `train --supernet --alone C --alone-exit s` and the
    /// width-slimming baseline train) computes exit s's logits of the configuration at exit s's
    /// cumulative MACs, with only that exit's weights.
    func testExitNetworkIsThatExitAlone() throws {
        let (_, staged) = try stagedCNN(seed: 7)
        guard let info = staged.stageInfo else { return XCTFail("not staged") }
        let space = try SupernetSpace(info, allClasses: true)
        let data = squares(12)
        let g = try space.graph(staged, space.smallest)
        let r = try SupernetEvaluation.evaluate(staged, space: space, configuration: space.smallest, on: data, preprocessing: Preprocessing())
        var rng = TrainingRNG(seed: 0)
        let images = data.batch(Array(0..<12), Preprocessing(), rng: &rng).images
        for (e, exit) in info.exits.enumerated() {
            let alone = try g.exitNetwork(stage: exit.stage)
            XCTAssertNil(alone.stageInfo)
            XCTAssertEqual(alone.outputs, [exit.value])
            XCTAssertEqual(try CostModel.report(alone).totals.macs, r.cumulativeMACs[e], "exit \(exit.stage)")
            let params = try TrainableGraph(graph: alone).parameterCount
            XCTAssertLessThan(params, try TrainableGraph(graph: try staged.allExitsGraph()).parameterCount, "only that exit's weights")
            guard let y = try Interpreter(graph: alone).run(["x": images])[exit.value] else { return XCTFail() }
            for i in 0..<12 { for j in 0..<10 { XCTAssertEqual(y.scalars[i * 10 + j], r.logits[e][i][j], accuracy: 1e-4) } }
        }
        XCTAssertThrowsError(try g.exitNetwork(stage: 9)) { XCTAssertTrue("\($0)".contains("no exit at stage 9"), "\($0)") }
    }

    /// The attentive sampler's minibatch loss of a candidate is its last exit's cross-entropy on
    /// the batch's own statistics (AttentiveNAS scores candidates in train mode), and scoring
    /// leaves the running statistics as they were.
    func testMinibatchLossUsesTheBatchStatistics() throws {
        let (_, staged) = try stagedCNN(seed: 8)
        guard let info = staged.stageInfo else { return XCTFail("not staged") }
        let space = try SupernetSpace(info, allClasses: true)
        let trainer = try SupernetTrainer(supernet: staged, space: space, sampler: try SamplerRegistry.parse("uniform"), options: options())
        var rng = TrainingRNG(seed: 3)
        let data = squares(32)
        _ = try trainer.step(data.batch(Array(0..<16), Preprocessing(), rng: &rng), learningRate: 0.5, progress: 0, rng: &rng)
        let batch = data.batch(Array(16..<32), Preprocessing(), rng: &rng)
        let buffers = trainer.buffers
        let loss = try trainer.samplerContext(batch, progress: 0).minibatchLoss(space.smallest)
        XCTAssertEqual(trainer.buffers, buffers)
        let net = try TrainableGraph(graph: try space.graph(staged, space.smallest))
        net.parameters = trainer.parameters
        net.buffers = buffers
        var r = TrainingRNG(seed: 0)
        let last = try net.value(info.exits[info.exits.count - 1].value, on: try net.forward(["x": batch.images], mode: .training, rng: &r))
        XCTAssertEqual(loss, try Losses.softmaxCrossEntropy(logits: last, labels: batch.labels).loss, accuracy: 1e-5)
    }

    func testResumeFromCheckpointContinuesExactly() throws {
        let (_, staged) = try stagedCNN(seed: 3)
        guard let info = staged.stageInfo else { return XCTFail("not staged") }
        let space = try SupernetSpace(info, allClasses: true, uniformBins: 4)
        let data = squares(48)
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("s2dc-sckpt-\(UUID().uuidString).npz").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        func trainer() throws -> SupernetTrainer {
            try SupernetTrainer(supernet: staged, space: space, sampler: try SamplerRegistry.parse("prioritized{buckets=2 pool-size=2 p=1}"),
                                options: options(.ieb))
        }
        let straight = try trainer()
        _ = try straight.trainEpoch(data)
        _ = try straight.trainEpoch(data)
        let first = try trainer()
        _ = try first.trainEpoch(data)
        try SupernetCheckpoint.save(first, to: path)
        let resumed = try trainer()
        try SupernetCheckpoint.load(path, into: resumed)
        XCTAssertEqual(resumed.epochsDone, 1)
        _ = try resumed.trainEpoch(data)
        XCTAssertEqual(resumed.parameters, straight.parameters)
        XCTAssertEqual(resumed.buffers, straight.buffers)
        XCTAssertEqual(resumed.ema, straight.ema)
        XCTAssertNotEqual(straight.parameters, first.parameters, "the second epoch changed the weights")
        XCTAssertNotEqual(straight.buffers["m1"], try TrainableGraph(graph: staged).buffers["m1"], "running means were updated through slices")
    }

    /// The slice gradient (what puts a weight block's gradient into its shared constant) against
    /// finite differences, with a negative start and a step.
    func testSliceGradientAgainstFiniteDifferences() throws {
        let x = values([3, 4, 2], seed: 61)
        let g = try singleOpGraph(.slice(starts: [-2, 1], ends: [3, 4], axes: [0, 1], steps: [1, 2]), inputs: [("x", x)], constants: [])
        try checkGradients(GradientCase(graph: g, inputs: ["x": x]) { v in
            var out: [Double] = []
            for i in 1..<3 { for j in [1, 3] { for k in 0..<2 { out.append(v["x"]!.v[(i * 4 + j) * 2 + k]) } } }
            return R64([2, 2, 2], out)
        })
    }

    func testRecalibrationReproducesStatisticsComputedIndependently() throws {
        let (_, staged) = try stagedCNN(seed: 6)
        guard let info = staged.stageInfo else { return XCTFail("not staged") }
        let space = try SupernetSpace(info, allClasses: true)
        let config = space.smallest
        let data = squares(40)
        // Batches of 20 (two): the statistics are the mean of the two batches' mean and unbiased variance.
        let out = try BatchNormRecalibration.recalibrate(staged, space: space, configuration: config, data: data, preprocessing: Preprocessing(),
                                                         images: 40, batchSize: 20)
        let g = try space.graph(staged, config)
        let net = try TrainableGraph(graph: g)
        var mean: [String: [Double]] = [:], variance: [String: [Double]] = [:]
        for b in 0..<2 {
            var rng = TrainingRNG(seed: 0)
            let images = data.batch(Array((b * 20)..<(b * 20 + 20)), Preprocessing(), rng: &rng).images
            let tape = try net.forward(["x": images], mode: .training, rng: &rng)
            for node in g.nodes {
                guard case .batchNormalization = node.op, case .slice(let starts, _, _, _) = g.nodes.first(where: { $0.outputs[0] == node.inputs[3] })?.op,
                      let meanName = g.nodes.first(where: { $0.outputs[0] == node.inputs[3] })?.inputs[0],
                      let varName = g.nodes.first(where: { $0.outputs[0] == node.inputs[4] })?.inputs[0] else { continue }
                let v = try net.value(node.inputs[0], on: tape)
                let n = v.shape[0], c = v.shape[1], hw = v.count / (n * c)
                for ch in 0..<c {
                    var xs: [Double] = []
                    for i in 0..<n { for p in 0..<hw { xs.append(Double(v.scalars[(i * c + ch) * hw + p])) } }
                    let m = xs.reduce(0, +) / Double(xs.count)
                    let unbiased = xs.reduce(0) { $0 + ($1 - m) * ($1 - m) } / Double(xs.count - 1)
                    let at = starts[0] + ch
                    mean[meanName, default: Array(repeating: 0, count: 16)][at] += m / 2
                    variance[varName, default: Array(repeating: 0, count: 16)][at] += unbiased / 2
                }
            }
        }
        XCTAssertEqual(Set(mean.keys), ["m0", "m1"])
        for (name, expected) in mean.merging(variance, uniquingKeysWith: { a, _ in a }) {
            guard let t = out.constants[name] else { return XCTFail(name) }
            for (a, e) in zip(t.scalars, expected.prefix(t.count)) { XCTAssertEqual(Double(a), e, accuracy: 1e-4 * max(1, abs(e)), name) }
        }
    }

    /// insert-batchnorm on the BN-folded default model, then statistics from data: the staged
    /// graph computes the same exits as without the BatchNormalizations, which now hold real
    /// statistics.
    func testBatchNormInsertionLeavesTheFunctionUnchanged() throws {
        let model = try ONNXLoader.load(path: TestSupport.repoRoot.appendingPathComponent("models/default.onnx").path)
        var plain = model, withBN = model
        try PassManager(pipeline: "canonicalize,split-stages{fractions=[0.25,0.5]},insert-exits", verifyEach: true).run(&plain)
        try PassManager(pipeline: "canonicalize,insert-batchnorm,split-stages{fractions=[0.25,0.5]},insert-exits", verifyEach: true).run(&withBN)
        let inserted = withBN.constantNames.filter { $0.hasSuffix(InsertBatchNorm.suffix + ".mean") }
        XCTAssertEqual(inserted.count, model.nodes.filter { if case .conv = $0.op { return true } else { return false } }.count)
        let data = squares(24)
        let initialized = try BatchNormInsertion.initialize(withBN, data: data, preprocessing: Preprocessing(), images: 24, batchSize: 12)
        for name in inserted { XCTAssertTrue(initialized.constants[name]?.scalars.contains { $0 != 0 } == true, name) }
        try assertSameExits(plain, initialized, on: squares(6))
    }

    /// Two staged graphs, each at its own partition, give every exit the same logits on `test`
    /// (within 1e-3 relative) at the same cumulative MACs.
    private func assertSameExits(_ a: Graph, _ b: Graph, on test: Dataset, file: StaticString = #filePath, line: UInt = #line) throws {
        guard let infoA = a.stageInfo, let infoB = b.stageInfo else { return XCTFail("not staged", file: file, line: line) }
        let x = try SupernetEvaluation.evaluate(a, space: try SupernetSpace(infoA), configuration: SupernetConfiguration(of: infoA),
                                                on: test, preprocessing: Preprocessing())
        let y = try SupernetEvaluation.evaluate(b, space: try SupernetSpace(infoB), configuration: SupernetConfiguration(of: infoB),
                                                on: test, preprocessing: Preprocessing())
        XCTAssertEqual(x.cumulativeMACs, y.cumulativeMACs, file: file, line: line)
        for e in x.logits.indices {
            for (p, q) in zip(x.logits[e].joined(), y.logits[e].joined()) {
                XCTAssertEqual(p, q, accuracy: 1e-3 * max(1, abs(p)), file: file, line: line)
            }
        }
    }

    /// Initialized from the static network (`fromStatic`), the staged graph's inserted
    /// BatchNormalizations hold the static model's statistics (not the split's, which differ),
    /// and in inference mode the staged function is still unchanged.
    func testBatchNormFromTheStaticNetwork() throws {
        let model = try ONNXLoader.load(path: TestSupport.repoRoot.appendingPathComponent("models/default.onnx").path)
        var staticBN = model, withBN = model, plain = model
        try PassManager(pipeline: "canonicalize,insert-batchnorm", verifyEach: true).run(&staticBN)
        try PassManager(pipeline: "canonicalize,insert-batchnorm,split-stages{fractions=[0.25,0.5]},insert-exits", verifyEach: true).run(&withBN)
        try PassManager(pipeline: "canonicalize,split-stages{fractions=[0.25,0.5]},insert-exits", verifyEach: true).run(&plain)
        let data = squares(24)
        let fromStatic = try BatchNormInsertion.initialize(withBN, fromStatic: staticBN, data: data, preprocessing: Preprocessing(),
                                                           images: 24, batchSize: 12)
        let staticStats = try BatchNormInsertion.initialize(staticBN, data: data, preprocessing: Preprocessing(), images: 24, batchSize: 12)
        let ownStats = try BatchNormInsertion.initialize(withBN, data: data, preprocessing: Preprocessing(), images: 24, batchSize: 12)
        var differs = false
        for name in withBN.constantNames where name.contains(InsertBatchNorm.suffix) {
            XCTAssertEqual(fromStatic.constants[name], staticStats.constants[name], name)
            if fromStatic.constants[name] != ownStats.constants[name] { differs = true }
        }
        XCTAssertTrue(differs, "the split's own statistics equal the static network's: the test cannot tell them apart")
        try assertSameExits(plain, fromStatic, on: squares(6))
        // A static model that is not the staged one's source is refused, naming a constant.
        XCTAssertThrowsError(try BatchNormInsertion.initialize(withBN, fromStatic: model, data: data, preprocessing: Preprocessing(),
                                                               images: 24, batchSize: 12)) { error in
            XCTAssertTrue("\(error)".contains("has no inserted BatchNormalization constant"), "\(error)")
        }
        // Nor is one whose channels are ordered otherwise: sort-channels before the split permutes
        // the weights, and the unsorted static model's per-channel statistics would not match.
        var sortedBN = model
        try PassManager(pipeline: "canonicalize,sort-channels,insert-batchnorm,split-stages{fractions=[0.25,0.5]},insert-exits",
                        verifyEach: true).run(&sortedBN)
        XCTAssertThrowsError(try BatchNormInsertion.initialize(sortedBN, fromStatic: staticBN, data: data, preprocessing: Preprocessing(),
                                                               images: 24, batchSize: 12)) { error in
            XCTAssertTrue("\(error)".contains("differs from the staged model's"), "\(error)")
        }
        var sortedStatic = model
        try PassManager(pipeline: "canonicalize,sort-channels,insert-batchnorm", verifyEach: true).run(&sortedStatic)
        XCTAssertNoThrow(try BatchNormInsertion.initialize(sortedBN, fromStatic: sortedStatic, data: data, preprocessing: Preprocessing(),
                                                           images: 24, batchSize: 12))
    }

    /// The loss of a configuration is the sum over its exits (each exit learns at the full rate);
    /// with labels at the last exit only and no teacher given, the earlier exits distil from this
    /// pass's own last exit.
    func testExitLossesSumAndInPlaceLastExitTeacher() throws {
        let a = Tensor(shape: [2, 3], scalars: [1, 0, -1, 0.5, 0.2, 0.1])
        let b = Tensor(shape: [2, 3], scalars: [0.3, 2, -0.5, -1, 0, 1])
        let labels = [0, 2]
        let ceA = try Losses.softmaxCrossEntropy(logits: a, labels: labels), ceB = try Losses.softmaxCrossEntropy(logits: b, labels: labels)
        let both = try SupernetLosses.exitLosses([a, b], labels: labels, target: .labels, smoothing: 0, temperature: 1)
        XCTAssertEqual(both.loss, ceA.loss + ceB.loss, accuracy: 1e-6)
        XCTAssertEqual(both.gradients[0].scalars, ceA.gradient.scalars)
        XCTAssertEqual(both.gradients[1].scalars, ceB.gradient.scalars)
        let own = try SupernetLosses.exitLosses([a, b], labels: labels, target: .labelsAtLastExit(teacher: nil), smoothing: 0, temperature: 1)
        let kd = try Losses.distillation(student: a, teacher: b)
        XCTAssertEqual(own.loss, kd.loss + ceB.loss, accuracy: 1e-6)
        XCTAssertEqual(own.gradients[0].scalars, kd.gradient.scalars)
        XCTAssertEqual(own.gradients[1].scalars, ceB.gradient.scalars)
    }
}
