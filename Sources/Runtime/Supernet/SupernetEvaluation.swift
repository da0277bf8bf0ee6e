// SupernetEvaluation: one pass of a configuration over a dataset giving every exit's logits, confidences, correctness and MACs.
import IR
import Passes

/// Every exit of one configuration on a dataset, from one pass (exit s reads the groups ≤ s of
/// the same features): what the search's threshold calibration reads.
public struct ConfigurationEvaluation: Sendable {
    /// `logits[s][i]`: exit s+1's logits of sample i.
    public var logits: [[[Float]]]
    /// `confidences[s][i]`: max softmax of exit s+1 on sample i.
    public var confidences: [[Float]]
    /// `predictions[s][i]`: top-1 class of exit s+1 on sample i.
    public var predictions: [[Int]]
    /// `correct[s][i]`: whether that prediction is sample i's label.
    public var correct: [[Bool]]
    /// `cumulativeMACs[s]`: what a sample leaving at exit s+1 costs (stages 1…s+1).
    public var cumulativeMACs: [Int]
    /// The exits' stages.
    public var stages: [Int]

    /// Top-1 accuracy of every exit.
    public var accuracies: [Double] {
        correct.map { c in Double(c.filter { $0 }.count) / Double(max(1, c.count)) }
    }
}

extension Graph {
    /// The staged graph as a plain graph whose outputs are every exit's value (stages dropped), for
    /// computing all exits in one interpreter pass.
    public func allExitsGraph() throws -> Graph {
        guard let info = stageInfo else { throw RuntimeError("the graph is not split into stages") }
        var g = Graph(name: name)
        for input in inputs { try g.addInput(input.name, type: input.type) }
        for c in constantNames { if let t = constants[c] { try g.addConstant(c, t) } }
        for var node in nodes {
            node.staging = nil
            try g.appendNode(node)
        }
        try g.setOutputs(info.exits.map(\.value))
        return g
    }

    /// Exit `stage` alone as a plain network: the nodes that exit reads (stages 1…`stage` and its
    /// classifier sums), its value the only output, every slice of a constant folded. The same
    /// architecture, weights and MACs as that exit of the staged graph: what "this exit's network
    /// trained alone" trains.
    public func exitNetwork(stage: Int) throws -> Graph {
        guard let info = stageInfo else { throw RuntimeError("the graph is not split into stages") }
        guard let exit = info.exits.first(where: { $0.stage == stage }) else {
            throw RuntimeError("the graph has no exit at stage \(stage) (exits at \(info.exits.map(\.stage)))")
        }
        var g = try allExitsGraph()
        try g.setOutputs([exit.value])
        // The slices of the full-width constants become constants of their own: the network
        // holds only that exit's weights.
        try PassManager(pipeline: "dce,fold-constants,dce").run(&g)
        return g
    }
}

public enum SupernetEvaluation {
    /// Evaluates `config` of `supernet` (its current weights) on `data`: every exit's logits,
    /// confidences and correctness, and every exit's cumulative MACs. BatchNormalization runs on
    /// its running statistics, first recalibrated for this configuration over the first
    /// `calibrationImages` images of `calibration` when it is given (`BatchNormRecalibration`).
    public static func evaluate(_ supernet: Graph, space: SupernetSpace, configuration: SupernetConfiguration,
                                on data: Dataset, preprocessing: Preprocessing, batchSize: Int = 256,
                                calibration: Dataset? = nil, calibrationImages: Int = 2000) throws -> ConfigurationEvaluation {
        var supernet = supernet
        if let calibration {
            supernet = try BatchNormRecalibration.recalibrate(supernet, space: space, configuration: configuration, data: calibration,
                                                              preprocessing: preprocessing, images: calibrationImages)
        }
        let staged = try space.graph(supernet, configuration)
        guard let info = staged.stageInfo, let input = staged.inputs.first else { throw RuntimeError("the graph is not staged") }
        let macs = try CostModel.stageReport(staged).cumulativeMACs
        let plain = try staged.allExitsGraph()
        try data.check(fits: input.type, classes: try staged.type(of: staged.outputs[0]).dims.last?.value)
        let interpreter = try Interpreter(graph: plain)
        let exits = info.exits
        var result = ConfigurationEvaluation(logits: exits.map { _ in [] }, confidences: exits.map { _ in [] },
                                             predictions: exits.map { _ in [] }, correct: exits.map { _ in [] },
                                             cumulativeMACs: exits.map { macs[$0.stage - 1] }, stages: exits.map(\.stage))
        var rng = TrainingRNG(seed: 0)  // unused: evaluation batches do not augment
        for indices in data.epochOrder(batchSize: batchSize, shuffle: false, dropLast: false, rng: &rng) {
            let batch = data.batch(indices, preprocessing.evaluation, rng: &rng)
            let out = try interpreter.run([input.name: batch.images])
            for (e, exit) in exits.enumerated() {
                guard let y = out[exit.value] else { throw RuntimeError("exit \(exit.stage) was not computed") }
                let n = indices.count, c = y.count / max(1, n)
                for i in 0..<n {
                    let row = Array(y.scalars[(i * c)..<((i + 1) * c)])
                    var best = 0
                    for j in 1..<max(1, c) where row[j] > row[best] { best = j }
                    result.logits[e].append(row)
                    result.confidences[e].append(StagedInterpreter.score(row, exit.score))
                    result.predictions[e].append(best)
                    result.correct[e].append(best == batch.labels[i])
                }
            }
        }
        return result
    }
}
