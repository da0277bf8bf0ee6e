// Evaluation: top-1 accuracy and mean cross-entropy of a graph on a dataset, through the interpreter.
import IR

/// The result of evaluating a classifier on a dataset.
public struct EvaluationResult: Sendable {
    public var accuracy: Double
    public var loss: Double
    public var count: Int
}

public enum Evaluation {
    /// Runs `graph` (inference semantics, through the interpreter) over `data` in batches;
    /// `progress` hears the images done after each batch.
    public static func evaluate(_ graph: Graph, on data: Dataset, preprocessing: Preprocessing,
                                batchSize: Int = 256, progress: (Int) -> Void = { _ in }) throws -> EvaluationResult {
        guard let input = graph.inputs.first, graph.inputs.count == 1, let output = graph.outputs.first else {
            throw RuntimeError("evaluation needs a model with one input (images) and logits as its first output")
        }
        let classes = try graph.type(of: output).dims.last?.value
        try data.check(fits: input.type, classes: classes)
        let interpreter = try Interpreter(graph: graph)
        var rng = TrainingRNG(seed: 0)  // unused: evaluation batches do not augment
        var lossSum = 0.0, correct = 0, done = 0
        for indices in data.epochOrder(batchSize: batchSize, shuffle: false, dropLast: false, rng: &rng) {
            let batch = data.batch(indices, preprocessing.evaluation, rng: &rng)
            guard let logits = try interpreter.run([input.name: batch.images])[output] else { continue }
            let flat = Tensor(shape: [indices.count, logits.count / max(1, indices.count)], scalars: logits.scalars)
            lossSum += Double(try Losses.softmaxCrossEntropy(logits: flat, labels: batch.labels).loss) * Double(indices.count)
            correct += Losses.correctCount(logits: flat, labels: batch.labels)
            done += indices.count
            progress(done)
        }
        let n = max(1, data.count)
        return EvaluationResult(accuracy: Double(correct) / Double(n), loss: lossSum / Double(n), count: data.count)
    }
}
