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
        let steps: [(String, () throws -> BaselineReport)] = [
            ("uniform partition", { try self.uniformBaseline(supernet, info, staticMACs: staticMACs) }),
            ("width slimming", { try self.widthSlimmingBaseline(supernet, staticMACs: staticMACs) }),
            ("filter pruning", { try self.pruningBaseline() }),
            ("SDN depth exits", { try self.depthExitBaseline(staticMACs: staticMACs) }),
        ]
        for (i, (what, measure)) in steps.enumerated() {
            events(.progress(.baselines, done: i, total: steps.count, unit: "baselines", detail: what))
            let start = Date()
            var b = try measure()
            if b.notRun == nil { b.seconds = Date().timeIntervalSince(start) }
            out.append(b)
        }
        events(.progress(.baselines, done: steps.count, total: steps.count, unit: "baselines", detail: ""))
        try folder.write(out, to: folder.baselines)
        return out.map { b in
            b.notRun == nil ? String(format: "%@ %.4f at %.3f (%.0f s)", b.name, b.testAccuracy, b.meanMacs / max(1, staticMACs), b.seconds ?? 0)
                : "\(b.name) not run"
        }.joined(separator: "; ") + " (test accuracy at fraction of static MACs)"
    }

    /// The epochs a baseline trains: as many as the dynamic model did (supernet + fine-tuning).
    var baselineEpochs: Int { settings.epochs + settings.finetuneEpochs }

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
            tuned = try recalibrated(try finetune(tuned, info, checkpoint: folder.uniformCheckpoint, phase: .baselines,
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
        let calibration = settings.calibrationImages > 0 ? data.train : nil
        let recalibrated = try calibration.map {
            try BatchNormRecalibration.recalibrate(supernet, space: space, configuration: config, data: $0,
                                                   preprocessing: data.preprocessing, images: settings.calibrationImages)
        } ?? supernet
        let staged = try space.graph(recalibrated, config)
        let macs = try CostModel.stageReport(staged).cumulativeMACs
        guard let info = staged.stageInfo, best.exit < info.exits.count else { throw ConvertError("internal: exit \(best.exit + 1) is missing") }
        let exit = info.exits[best.exit]
        // Exit s alone as a static network: the staged graph's nodes that exit s reads, trained on
        // the labels for as many epochs as the pruning baseline.
        let alone = try staged.exitNetwork(stage: exit.stage)
        let trainer = try Trainer(network: try TrainableGraph(graph: alone),
                                  configuration: trainingConfiguration(epochs: baselineEpochs, steps: max(1, data.train.count / settings.batchSize)))
        try train(trainer, checkpoint: folder.slimmingCheckpoint, what: "width slimming: fine-tuning exit \(exit.stage) alone")
        let r = try Evaluation.evaluate(try trainer.network.exportGraph(), on: data.test, preprocessing: data.preprocessing)
        return BaselineReport(name: name, testAccuracy: r.accuracy, meanMacs: Double(macs[exit.stage - 1]),
                              notes: "exit \(exit.stage) alone of front configuration \(best.encoding) (validation accuracy "
                                + String(format: "%.4f", best.accuracy) + " before fine-tuning), BN recalibrated, fine-tuned \(baselineEpochs) epochs alone "
                                + "(the supernet's \(settings.epochs) + the chosen configuration's \(settings.finetuneEpochs), as filter pruning)")
    }

    /// `prune-filters{macs=budget}` on the static model (L1 filter norms), then fine-tuned on the
    /// same images for as many epochs as the dynamic model trained (supernet + fine-tuning;
    /// resumable from its checkpoint). As in DCFF's setting the pruned network fine-tunes with
    /// BatchNormalization: the model arrives with it folded, so `insert-batchnorm` puts it back
    /// after every conv, set from the pruned network's own statistics (function unchanged), and it
    /// trains with batch statistics, as the supernet and the chosen configuration do. Without it
    /// the deep BN-less network fine-tunes unstably at the shared learning rate (on the default
    /// model at budget 0.35 it ended below its own 0.2 figure).
    func pruningBaseline() throws -> BaselineReport {
        let name = "static filter pruning"
        var g = staticGraph!
        do { try PassManager(pipeline: "prune-filters{macs=\(settings.budget)}").run(&g) } catch {
            return .notRun(name, reason: "prune-filters cannot prune this model: \(error)")
        }
        let macs = try CostModel.report(g).totals.macs
        try PassManager(pipeline: BatchNormInsertion.staticPipeline).run(&g)
        g = try BatchNormInsertion.initialize(g, data: data.train, preprocessing: data.preprocessing)
        let trainer = try Trainer(network: try TrainableGraph(graph: g),
                                  configuration: trainingConfiguration(epochs: baselineEpochs, steps: max(1, data.train.count / settings.batchSize)))
        try train(trainer, checkpoint: folder.pruneCheckpoint, what: "filter pruning: fine-tuning")
        let r = try Evaluation.evaluate(try trainer.network.exportGraph(), on: data.test, preprocessing: data.preprocessing)
        return BaselineReport(name: name, testAccuracy: r.accuracy, meanMacs: Double(macs),
                              notes: "prune-filters{macs=\(settings.budget)} (L1), BatchNormalization inserted after every conv, fine-tuned \(baselineEpochs) epochs (the supernet's \(settings.epochs) + the chosen configuration's \(settings.finetuneEpochs))")
    }

    /// SDN on the frozen static model: `insert-exits{at=blocks}` puts a global-pool + fully
    /// connected head after each residual block (or downsampling stage), the heads alone train on
    /// the frozen features (`DepthHeadTrainer`) for as many epochs as the other baselines, and the
    /// thresholds are calibrated on the validation split to the budget as the dynamic model's
    /// are (when even the first exit costs more than the budget, every image leaves there: the
    /// closest the exits allow). The curve: the test outcome at thresholds calibrated to other budgets.
    func depthExitBaseline(staticMACs: Double) throws -> BaselineReport {
        let name = "SDN depth exits"
        var g = staticGraph!
        do { try PassManager(pipeline: "strip-softmax,insert-exits{at=blocks seed=\(settings.seed)}").run(&g) } catch {
            return .notRun(name, reason: "insert-exits{at=blocks} cannot place depth exits in this model: \(error)")
        }
        let steps = max(1, data.train.count / settings.batchSize)
        var configuration = trainingConfiguration(epochs: baselineEpochs, steps: steps)
        // Base 1: the heads' step is normalized by their features' scale (DepthHeadTrainer); same warm-up and cosine.
        configuration.schedule = .cosine(base: 1, minimum: 0, warmupSteps: baselineEpochs > 1 ? steps : 0)
        let trainer = try DepthHeadTrainer(graph: g, configuration: configuration,
                                           probe: DepthHeadTrainer.probeBatch(data.train, data.preprocessing))
        try train(trainer, checkpoint: folder.depthHeadsCheckpoint, what: "SDN depth exits: training the heads")
        let trained = try trainer.trainedGraph()
        let validation = try fixedEvaluation(trained, on: data.validation), test = try fixedEvaluation(trained, on: data.test)
        let cal = try calibrateThresholds(validation, staticMACs: staticMACs)
        let outcome = DynamicOutcome(test, thresholds: cal.thresholds)
        var curve: [TradeoffPoint] = []
        for fraction in stride(from: 0.1, through: 1.0, by: 0.1) where abs(fraction - settings.budget) > 1e-9 {
            let c = try calibrateThresholds(validation, staticMACs: staticMACs, budget: fraction)
            let o = DynamicOutcome(test, thresholds: c.thresholds)
            let p = TradeoffPoint(meanMacs: o.meanMACs, accuracy: o.accuracy)
            if !curve.contains(p) { curve.append(p) }
        }
        let exitMACs = test.cumulativeMACs.map { String(format: "%.3f", Double($0) / max(1, staticMACs)) }.joined(separator: "/")
        return BaselineReport(name: name, testAccuracy: outcome.accuracy, meanMacs: outcome.meanMACs, curve: curve,
                              notes: "insert-exits{at=blocks}: \(test.stages.count - 1) heads (global pool + fully connected) on the frozen static model, "
                                + "trained \(baselineEpochs) epochs alone (step normalized by each head's feature scale); exits at \(exitMACs) of static MACs; thresholds "
                                + cal.thresholds.map { String(format: "%.4f", $0) }.joined(separator: ",")
                                + " calibrated on the validation split\(cal.feasible ? "" : " (no setting meets the budget: the lightest kept)")",
                              exitShares: outcome.shares)
    }
}
