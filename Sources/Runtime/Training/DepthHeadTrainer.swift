// DepthHeadTrainer: SDN's setting: a graph with depth exits trains its exit heads only, on the frozen backbone.
import IR

/// Trains the heads of a graph with depth exits (`insert-exits{at=blocks}`) on its frozen
/// backbone, as Shallow-Deep Networks train their internal classifiers: only
/// `Graph.depthHeadConstants()` are parameters (`TrainableGraph(graph:trainingOnly:)`); each step
/// runs the graph in inference mode (the backbone is the trained static model: no statistic moves,
/// no dropout), adds the cross-entropy of every early exit on the labels, and back-propagates
/// through the heads alone (the backbone needs no gradient). The final exit is the static model
/// itself and does not change. The epoch loop, its seeding and the checkpoint format are
/// `Trainer`'s (the inner trainer holds the heads, the optimizer and the counters), so a run
/// resumed after epoch k equals the uninterrupted one.
///
/// **Step size.** A head is a new linear classifier on features whose scale is the backbone's
/// business: the learning rate that fine-tunes pretrained weights (`--lr`) moves it a hundred
/// times too slowly (on the default model's demo, 32 % test accuracy at the first exit after
/// 155 steps at 0.02; about 71 % at 2 or 8, where it levels off). So each head's step is set
/// from the scale of its input features f: softmax regression's Hessian is at most
/// E‖[f, 1]‖² / 2 (the bias's input is 1), and heavy-ball SGD with momentum μ is stable below
/// 2(1 + μ) / L, so the head's gradient is scaled by 2(1 + μ) / E‖[f, 1]‖², half that bound,
/// measured on a fixed batch. The schedule's rate multiplies it (base 1: the caller passes the
/// schedule's shape, warm-up and cosine; `s2dc train --heads-only --lr` is that multiple).
///
/// Used by `s2dc train --heads-only` and by `s2dc convert`'s SDN baseline.
public final class DepthHeadTrainer {
    /// The inner trainer: the heads as parameters, the optimizer, the step and epoch counters.
    public let trainer: Trainer
    /// The early exits' values, in stage order.
    public let exits: [String]
    /// Per head constant: the factor its gradient is scaled by (2(1 + μ) / E‖[f, 1]‖² of the layer reading it).
    public let stepScale: [String: Float]

    /// `graph`: depth exits (`insert-exits{at=blocks}`), on an unsplit graph or on width stages,
    /// each early exit ending in logits. `probe`: a fixed batch of images the features' scale is
    /// measured on (the same on every resume; `probeBatch(_:_:)`).
    public init(graph: Graph, configuration: TrainingConfiguration, probe: Tensor) throws {
        guard let info = graph.stageInfo, info.exits.contains(where: { $0.block != nil }), let input = graph.inputs.first?.name else {
            throw RuntimeError("heads-only training needs a model with depth exits (s2dc opt --passes='canonicalize,insert-exits{at=blocks}' -o model.s2dir)")
        }
        if let e = info.exits.first(where: { $0.score != .softmax }) {
            throw RuntimeError("exit \(e.stage) ('\(e.value)') ends in a softmax; training needs logits (run strip-softmax before insert-exits)")
        }
        let heads = graph.depthHeadConstants()
        guard !heads.isEmpty else { throw RuntimeError("the depth exits of this model have no head constants to train") }
        let net = try TrainableGraph(graph: graph, trainingOnly: Set(heads))
        trainer = try Trainer(network: net, configuration: configuration)
        exits = info.exits.filter { $0.block != nil }.map(\.value)
        var rng = TrainingRNG(seed: 0)  // unused: inference mode
        let tape = try net.forward([input: probe], mode: .inference, rng: &rng)
        var scale: [String: Float] = [:]
        for node in graph.nodes {
            guard node.inputs.contains(where: heads.contains),
                  let x = node.inputs.first(where: { graph.constants[$0] == nil }) else { continue }
            let f = try net.value(x, on: tape)
            let n = max(1, f.shape.first ?? 1)
            let meanSquare = f.scalars.reduce(0) { $0 + Double($1) * Double($1) } / Double(n) + 1
            let factor = 2 * (1 + Double(configuration.momentum)) / meanSquare
            for c in node.inputs where heads.contains(c) { scale[c] = Float(factor) }
        }
        stepScale = scale
    }

    /// The graph with the trained heads.
    public func trainedGraph() throws -> Graph { try trainer.network.exportGraph() }

    /// The probe batch: the first (up to) 256 images of `data`, with the evaluation preprocessing.
    public static func probeBatch(_ data: Dataset, _ preprocessing: Preprocessing) -> Tensor {
        var rng = TrainingRNG(seed: 0)  // evaluation preprocessing draws nothing
        return data.batch(Array(0..<min(256, data.count)), preprocessing.evaluation, rng: &rng).images
    }
}

extension DepthHeadTrainer: EpochTrainer {
    public var trainingConfiguration: TrainingConfiguration { trainer.configuration }
    public var epochsDone: Int {
        get { trainer.epochsDone }
        set { trainer.epochsDone = newValue }
    }
    public var stepsDone: Int { trainer.stepsDone }
    public var epochSeedSalt: UInt64 { 0x5D4 }

    /// One step; reports the mean loss over the early exits and the first exit's correct count.
    public func trainingStep(_ batch: Batch, learningRate: Float, progress: Double, rng: inout TrainingRNG) throws -> (loss: Float, correct: Int) {
        let net = trainer.network
        guard let input = net.graph.inputs.first?.name else { throw RuntimeError("internal: the graph has no input") }
        let tape = try net.forward([input: batch.images], mode: .inference, rng: &rng)
        var gradients: [String: Tensor] = [:], loss: Float = 0, correct = 0
        for (k, v) in exits.enumerated() {
            let y = try net.value(v, on: tape)
            let logits = Tensor(shape: [y.shape[0], y.count / max(1, y.shape[0])], scalars: y.scalars)
            let l = try Losses.softmaxCrossEntropy(logits: logits, labels: batch.labels, smoothing: trainer.configuration.labelSmoothing)
            loss += l.loss / Float(exits.count)
            gradients[v] = Tensor(shape: y.shape, scalars: l.gradient.scalars)
            if k == 0 { correct = Losses.correctCount(logits: logits, labels: batch.labels) }
        }
        var g = try net.backward(tape, outputGradients: gradients)
        for (name, factor) in stepScale {
            guard var t = g[name] else { continue }
            g[name] = nil
            for i in t.scalars.indices { t.scalars[i] *= factor }
            g[name] = t
        }
        trainer.optimizer.step(&net.parameters, gradients: g, lr: learningRate)
        trainer.stepsDone += 1
        return (loss, correct)
    }

    public func saveCheckpoint(to path: String) throws { try Checkpoint.save(trainer, to: path) }
    public func loadCheckpoint(from path: String) throws { try Checkpoint.load(path, into: trainer) }
}
