// DepthHeadTrainer: SDN's setting: a graph with depth exits trains its exit heads only, on the frozen backbone.
import IR
import Runtime

/// Trains the heads of a graph with depth exits (`insert-exits{at=blocks}`) on its frozen
/// backbone, as Shallow-Deep Networks train their internal classifiers: only
/// `Graph.depthHeadConstants()` are parameters (`TrainableGraph(graph:trainingOnly:)`); each step
/// runs the graph in inference mode (the backbone is the trained static model: no statistic moves,
/// no dropout), adds the cross-entropy of every early exit on the labels, and back-propagates
/// through the heads alone (the backbone needs no gradient). The final exit is the static model
/// itself and does not change. The epoch loop, its seeding and the checkpoint format are
/// `Trainer`'s (the inner trainer holds the heads, the optimizer and the counters), so a run
/// resumed after epoch k equals the uninterrupted one.
final class DepthHeadTrainer {
    let trainer: Trainer
    /// The early exits' values, in stage order.
    let exits: [String]

    init(graph: Graph, configuration: TrainingConfiguration) throws {
        guard let info = graph.stageInfo, info.axis == .depth, info.exits.count >= 2 else {
            throw ConvertError("internal: heads-only training needs a graph with depth exits (insert-exits{at=blocks})")
        }
        let heads = graph.depthHeadConstants()
        guard !heads.isEmpty else { throw ConvertError("internal: the depth exits have no head constants") }
        trainer = try Trainer(network: try TrainableGraph(graph: graph, trainingOnly: Set(heads)), configuration: configuration)
        exits = info.exits.dropLast().map(\.value)
    }

    /// The graph with the trained heads.
    func trainedGraph() throws -> Graph { try trainer.network.exportGraph() }
}

extension DepthHeadTrainer: EpochTrainer {
    var trainingConfiguration: TrainingConfiguration { trainer.configuration }
    var epochsDone: Int {
        get { trainer.epochsDone }
        set { trainer.epochsDone = newValue }
    }
    var stepsDone: Int { trainer.stepsDone }
    var epochSeedSalt: UInt64 { 0x5D4 }

    /// One step; reports the mean loss over the early exits and the first exit's correct count.
    func trainingStep(_ batch: Batch, learningRate: Float, progress: Double, rng: inout TrainingRNG) throws -> (loss: Float, correct: Int) {
        let net = trainer.network
        guard let input = net.graph.inputs.first?.name else { throw ConvertError("internal: the graph has no input") }
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
        let g = try net.backward(tape, outputGradients: gradients)
        trainer.optimizer.step(&net.parameters, gradients: g, lr: learningRate)
        trainer.stepsDone += 1
        return (loss, correct)
    }

    func saveCheckpoint(to path: String) throws { try Checkpoint.save(trainer, to: path) }
    func loadCheckpoint(from path: String) throws { try Checkpoint.load(path, into: trainer) }
}
