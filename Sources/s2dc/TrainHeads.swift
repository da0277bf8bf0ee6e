// TrainHeads: `s2dc train STAGED --heads-only`: the depth exits' heads on a frozen backbone (SDN's IC-only setting).

import ArgumentParser
import Foundation
import IR
import Runtime

extension Train {
    /// Trains only `Graph.depthHeadConstants()` of a graph with depth exits (insert-exits{at=blocks},
    /// on an unsplit graph or on width stages) with `DepthHeadTrainer`: a cross-entropy at each
    /// early exit, the backbone and the final classifier frozen (forward passes in inference mode,
    /// so running statistics stay too), each head's step normalized by its features' scale and
    /// multiplied by the schedule (`--lr`, default 1); after each epoch every exit's held-out
    /// accuracy. Writes the staged textual IR with the trained heads.
    func runHeads() throws {
        BLASThreads.count = dataOptions.threads
        let graph = try loadModelFile(model)
        guard let info = graph.stageInfo else {
            throw ValidationError("\(model): --heads-only needs a model with depth exits (s2dc opt --passes='canonicalize,insert-exits{at=blocks}' -o model.s2dir)")
        }
        let (splits, train, heldOut, heldOutName) = try trainingData(for: graph)
        let pre = try augmentation()
        let steps = max(1, train.count / batchSize)
        let heads = try DepthHeadTrainer(graph: graph, configuration: trainingConfiguration(steps: steps, preprocessing: pre),
                                         probe: DepthHeadTrainer.probeBatch(train, pre))
        let ckpt = checkpoint ?? output + ".ckpt"
        log("training the \(heads.exits.count) depth heads (\(heads.trainer.network.parameterCount) parameters; the backbone frozen) on "
            + "\(train.count) images from \(splits.source), \(epochs) epochs of \(steps) steps, batch \(batchSize), \(dataOptions.threads) threads; "
            + "each head's step normalized by its features' scale, times the schedule's rate (peak \(peakRate))")

        StopRequest.install()
        let bar = ProgressBar()
        let start = Date()
        let outcome = try heads.runEpochs(train, options: FitOptions(checkpoint: ckpt, resume: resume, shouldStop: { StopRequest.requested }),
                                          resumed: { log("resumed from \(ckpt) after epoch \($0)") },
                                          step: { r in
            if r.step == 1 { bar.begin("epoch \(r.epoch + 1)/\(epochs)", total: r.stepsInEpoch, unit: "steps") }
            bar.update(r.step, detail: String(format: "mean head loss %.4f first head acc %.4f %.0f img/s lr %.4g", r.loss,
                                              r.accuracy, r.imagesPerSecond, r.learningRate))
        }) { report in
            bar.finish()
            log(String(format: "epoch %d/%d: mean head loss %.4f, first head train accuracy %.4f, %.0f images/s, %.1f s",
                       report.epoch, epochs, report.loss, report.accuracy, Double(report.images) / report.seconds, report.seconds))
            guard heldOut.count > 0 else { return }
            do {
                let results = try Evaluation.evaluateExits(try heads.trainedGraph(), on: heldOut, preprocessing: pre.evaluation)
                log("  " + zip(info.exits, results).map { String(format: "exit %d %@ accuracy %.4f", $0.0.stage, heldOutName, $0.1.accuracy) }
                    .joined(separator: ", "))
            } catch {
                log("  held-out evaluation failed: \(error)")
            }
        }
        if case .stopped(let done) = outcome {
            bar.finish()
            log(interruptedMessage(output: output, checkpoint: ckpt, epochsDone: done))
            throw ExitCode(130)
        }
        try SupernetFile.save(try heads.trainedGraph(), to: output)
        log(String(format: "wrote %@ (%.0f s of training)", output, Date().timeIntervalSince(start)))
    }
}
