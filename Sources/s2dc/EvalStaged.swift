// EvalStaged: `s2dc eval` on a staged model or supernet: the summary of the last exit, then one line per exit.

import ArgumentParser
import Foundation
import IR
import Runtime

extension Eval {
    func runStaged() throws {
        let graph = try loadModelFile(model)
        guard let info = graph.stageInfo else {
            throw ValidationError("\(model): --configuration needs a staged model (split-stages, insert-exits)")
        }
        // Without --configuration the model runs as split: its own boundaries, which need not be
        // among a supernet's bins (flops-bins' candidates usually leave the uniform split out).
        let space = try configuration == nil ? SupernetSpace(fixed: info)
            : SupernetSpace(info, allClasses: allClasses, minimumWidth: minWidth, uniformBins: uniformBins)
        let config = try configuration.map { try space.configuration(named: $0) } ?? SupernetConfiguration(of: info)
        let splits = try Dataset.load(dataOptions.data)
        var test = splits.test
        if let limit { test = test.prefix(limit) }
        guard test.count > 0 else { throw RuntimeError("\(splits.source) has no test split") }
        let r = try SupernetEvaluation.evaluate(graph, space: space, configuration: config, on: test,
                                                preprocessing: try dataOptions.preprocessing(), batchSize: batchSize,
                                                calibration: recalibrate > 0 ? splits.train : nil, calibrationImages: recalibrate)
        // The usual summary is the graph output's: the last exit.
        var lossSum = 0.0
        if let last = r.logits.last {
            let flat = Tensor(shape: [last.count, last.first?.count ?? 0], scalars: last.flatMap { $0 })
            lossSum = Double(try Losses.softmaxCrossEntropy(logits: flat, labels: test.labels).loss)
        }
        print(String(format: "accuracy=%.4f loss=%.4f images=%d", r.accuracies.last ?? 0, lossSum, test.count))
        for (s, (a, m)) in zip(r.stages, zip(r.accuracies, r.cumulativeMACs)) {
            print(String(format: "exit %d: accuracy=%.4f macs=%d", s, a, m))
        }
    }
}
