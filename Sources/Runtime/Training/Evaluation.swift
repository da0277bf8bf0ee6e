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

    /// Every exit of a staged graph over `data`, every sample through every stage (one
    /// interpreter pass per batch over `Graph.allExitsGraph()`): one result per exit, in order.
    public static func evaluateExits(_ graph: Graph, on data: Dataset, preprocessing: Preprocessing,
                                     batchSize: Int = 256) throws -> [EvaluationResult] {
        guard graph.stageInfo != nil else { throw RuntimeError("the graph has no exits (it is not staged)") }
        let all = try graph.allExitsGraph()
        guard let input = all.inputs.first, all.inputs.count == 1, let first = all.outputs.first else {
            throw RuntimeError("evaluation needs a model with one input (images) and logits at its exits")
        }
        try data.check(fits: input.type, classes: try all.type(of: first).dims.last?.value)
        let interpreter = try Interpreter(graph: all)
        var rng = TrainingRNG(seed: 0)  // unused: evaluation batches do not augment
        var lossSums = Array(repeating: 0.0, count: all.outputs.count), correct = Array(repeating: 0, count: all.outputs.count)
        for indices in data.epochOrder(batchSize: batchSize, shuffle: false, dropLast: false, rng: &rng) {
            let batch = data.batch(indices, preprocessing.evaluation, rng: &rng)
            let outputs = try interpreter.run([input.name: batch.images])
            for (e, name) in all.outputs.enumerated() {
                guard let logits = outputs[name] else { continue }
                let flat = Tensor(shape: [indices.count, logits.count / max(1, indices.count)], scalars: logits.scalars)
                lossSums[e] += Double(try Losses.softmaxCrossEntropy(logits: flat, labels: batch.labels).loss) * Double(indices.count)
                correct[e] += Losses.correctCount(logits: flat, labels: batch.labels)
            }
        }
        let n = Double(max(1, data.count))
        return zip(lossSums, correct).map { EvaluationResult(accuracy: Double($1) / n, loss: $0 / n, count: data.count) }
    }
}
