// ConvertBaselines: what the dynamic model must beat, measured in the same run on the same test images.
import Foundation
import IR
import Passes
import Report
import Runtime
import Search

extension ConvertDriver {
    func baselinesPhase() throws -> String {
        var out: [BaselineReport] = []
        guard settings.baselines else {
            out = ["uniform partition, no search", "static width slimming", "static filter pruning", "SDN depth exits"].map {
                .notRun($0, reason: "baselines were turned off (--no-baselines)")
            }
            try folder.write(out, to: folder.baselines)
            return "turned off"
        }
        let supernet = try SupernetFile.load(folder.supernet)
        guard let info = supernet.stageInfo else { throw ConvertError("\(folder.supernet): not a staged graph") }
        let staticMACs = try staticMACs(info)
        events(.progress(.baselines, done: 0, total: 4, unit: "baselines", detail: "uniform partition"))
        out.append(try uniformBaseline(supernet, info, staticMACs: staticMACs))
        events(.progress(.baselines, done: 1, total: 4, unit: "baselines", detail: "width slimming"))
        out.append(try widthSlimmingBaseline(supernet, staticMACs: staticMACs))
        events(.progress(.baselines, done: 2, total: 4, unit: "baselines", detail: "filter pruning"))
        out.append(try pruningBaseline())
        out.append(.notRun("SDN depth exits", reason: "not wired into convert yet: insert-exits{at=blocks} exists, training its heads on the frozen backbone inside convert does not"))
        events(.progress(.baselines, done: 4, total: 4, unit: "baselines", detail: ""))
        try folder.write(out, to: folder.baselines)
        return out.map { b in
            b.notRun == nil ? String(format: "%@ %.4f at %.3f", b.name, b.testAccuracy, b.meanMacs / max(1, staticMACs)) : "\(b.name) not run"
        }.joined(separator: "; ") + " (test accuracy at fraction of static MACs)"
    }

    /// The supernet's own uniform partition (fractions 0.25, 0.5 for three stages), fine-tuned
    /// alone for the chosen configuration's epochs, its BN statistics recalibrated and thresholds
    /// calibrated on the validation split to the budget: the dynamic model without the search.
    func uniformBaseline(_ supernet: Graph, _ info: StageInfo, staticMACs: Double) throws -> BaselineReport {
        let fixed = SupernetSpace(fixed: info), own = SupernetConfiguration(of: info)
        func recalibrated(_ g: Graph) throws -> Graph {
            settings.calibrationImages > 0
                ? try BatchNormRecalibration.recalibrate(g, space: fixed, configuration: own, data: data.train,
                                                         preprocessing: data.preprocessing, images: settings.calibrationImages)
                : g
        }
        var tuned = try recalibrated(supernet)
        if settings.finetuneEpochs > 0 {
            // Trained as the chosen configuration was: the same epochs of it alone.
            tuned = try recalibrated(try finetune(tuned, info, checkpoint: folder.file("uniform-finetune.ckpt"), phase: .baselines,
                                                  what: "uniform partition: fine-tuning"))
        }
        let cal = try calibrateThresholds(try fixedEvaluation(tuned, on: data.validation), staticMACs: staticMACs)
        let test = DynamicOutcome(try fixedEvaluation(tuned, on: data.test), thresholds: cal.thresholds)
        return BaselineReport(name: "uniform partition, no search", testAccuracy: test.accuracy, meanMacs: test.meanMACs,
                              notes: "fractions \(settings.fractions) (the supernet's own partition), \(settings.finetuneEpochs) epochs of it alone, BN recalibrated, thresholds "
                                + cal.thresholds.map { String(format: "%.4f", $0) }.joined(separator: ",")
                                + " calibrated on the validation split\(cal.feasible ? "" : " (nothing met the budget: lightest kept)")")
    }

    /// The best single exit of the supernet within the budget: each configuration on the search's
    /// Pareto front (at most 8, evenly spread) is evaluated on the validation split with recalibrated BN, every
    /// exit whose cumulative MACs fit the budget is a static width-sliced network, and the most
    /// accurate one is measured on the test split.
    func widthSlimmingBaseline(_ supernet: Graph, staticMACs: Double) throws -> BaselineReport {
        let name = "static width slimming"
        let space = try space(supernet)
        let evaluator = try evaluator(supernet, space)
        let result = try folder.read(SearchResult.self, from: folder.searchJSON)
        let limit = settings.budget * staticMACs
        var best: (encoding: [Int], exit: Int, accuracy: Double)?
        // At most 8 front configurations, spread evenly from the lightest to the heaviest.
        let front = result.front
        let picks = front.count <= 8 ? front : (0..<8).map { front[$0 * (front.count - 1) / 7] }
        for index in picks {
            let encoding = result.evaluations[index].encoding
            let e = try evaluator.evaluation(encoding)
            for (s, macs) in e.cumulativeMACs.enumerated() where Double(macs) <= limit {
                if best == nil || e.accuracies[s] > best?.accuracy ?? 0 { best = (encoding, s, e.accuracies[s]) }
            }
        }
        guard let best else {
            return .notRun(name, reason: "no exit of the \(min(8, result.front.count)) front configurations fits the budget alone")
        }
        let config = try evaluator.configuration(best.encoding)
        let e = try SupernetEvaluation.evaluate(supernet, space: space, configuration: config, on: data.test, preprocessing: data.preprocessing,
                                                calibration: settings.calibrationImages > 0 ? data.train : nil,
                                                calibrationImages: settings.calibrationImages)
        return BaselineReport(name: name, testAccuracy: e.accuracies[best.exit], meanMacs: Double(e.cumulativeMACs[best.exit]),
                              notes: "exit \(e.stages[best.exit]) alone of front configuration \(best.encoding) (validation accuracy "
                                + String(format: "%.4f", best.accuracy) + "), BN recalibrated, not fine-tuned alone")
    }

    /// `prune-filters{macs=budget}` on the static model (L1 filter norms), then fine-tuned on the
    /// same images for as many epochs as the dynamic model trained (supernet + fine-tuning;
    /// resumable from its checkpoint).
    func pruningBaseline() throws -> BaselineReport {
        let name = "static filter pruning"
        var g = staticGraph!
        do { try PassManager(pipeline: "prune-filters{macs=\(settings.budget)}").run(&g) } catch {
            return .notRun(name, reason: "prune-filters cannot prune this model: \(error)")
        }
        let macs = try CostModel.report(g).totals.macs
        let steps = max(1, data.train.count / settings.batchSize), epochs = settings.epochs + settings.finetuneEpochs
        let trainer = try Trainer(network: try TrainableGraph(graph: g),
                                  configuration: trainingConfiguration(epochs: epochs, steps: steps))
        let ckpt = folder.pruneCheckpoint
        let outcome = try trainer.fit(data.train, options: FitOptions(
            checkpoint: ckpt, resume: resume && FileManager.default.fileExists(atPath: ckpt), shouldStop: shouldStop)) { event in
            switch event {
            case .resumed(let done): events(.note("filter pruning: resumed from \(ckpt) after epoch \(done)"))
            case .step(let r):
                events(.progress(.baselines, done: r.epoch * steps + r.step, total: steps * epochs, unit: "steps",
                                 detail: String(format: "filter pruning: fine-tuning epoch %d loss %.4f", r.epoch + 1, r.loss)))
            case .epoch: break
            }
        }
        if case .stopped = outcome { throw PhaseStopped() }
        let r = try Evaluation.evaluate(try trainer.network.exportGraph(), on: data.test, preprocessing: data.preprocessing)
        return BaselineReport(name: name, testAccuracy: r.accuracy, meanMacs: Double(macs),
                              notes: "prune-filters{macs=\(settings.budget)} (L1), fine-tuned \(epochs) epochs (the supernet's \(settings.epochs) + the chosen configuration's \(settings.finetuneEpochs))")
    }
}
