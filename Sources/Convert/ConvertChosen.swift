// ConvertChosen: the phases after the search: BN recalibration, optional fine-tuning, materialize, and emit.
import Backend
import Foundation
import IR
import ONNX
import Passes
import Runtime
import Search

extension ConvertFolder {
    /// The configuration materialize reads: the search's, with thresholds recalibrated after fine-tuning.
    public var finalConfiguration: String { file("final-config.json") }
}

extension ConvertDriver {
    /// The static model's MACs per image: the budget's denominator (what split-stages recorded).
    func staticMACs(_ info: StageInfo) throws -> Double {
        info.staticMACs > 0 ? Double(info.staticMACs) : Double(try CostModel.report(staticGraph).totals.macs)
    }

    /// Every exit's confidences and correctness on `data` of a staged graph at its own partition.
    func fixedEvaluation(_ graph: Graph, on data: Dataset) throws -> ConfigurationEvaluation {
        guard let info = graph.stageInfo else { throw ConvertError("internal: not a staged graph") }
        return try SupernetEvaluation.evaluate(graph, space: SupernetSpace(fixed: info), configuration: SupernetConfiguration(of: info),
                                               on: data, preprocessing: self.data.preprocessing)
    }

    /// Thresholds calibrated on the validation split to the budget (as the search calibrates).
    /// `budget` (default: the run's) is a fraction of the static MACs.
    func calibrateThresholds(_ e: ConfigurationEvaluation, staticMACs: Double, budget: Double? = nil) throws -> Calibration {
        let scores = try ExitScores(confidences: e.confidences.map { $0.map(Double.init) }, correct: e.correct,
                                    cumulativeMACs: e.cumulativeMACs.map(Double.init))
        return ThresholdCalibrator().calibrate(scores, reward: try Reward.parse("hard", target: (budget ?? settings.budget) * staticMACs))
    }

    func materializePhase() throws -> String {
        let supernet = try SupernetFile.load(folder.supernet)
        let space = try space(supernet)
        var chosen = try folder.read(ChosenConfiguration.self, from: folder.configuration)
        let config = SupernetConfiguration(stages: chosen.stages, boundaries: chosen.boundaries, reuse: chosen.reuse)
        let recalibrated = settings.calibrationImages > 0
            ? try BatchNormRecalibration.recalibrate(supernet, space: space, configuration: config, data: data.train,
                                                     preprocessing: data.preprocessing, images: settings.calibrationImages)
            : supernet
        // The chosen configuration's own staged graph (its slices of the shared weights).
        var fixed = try space.graph(recalibrated, config)
        var line = settings.calibrationImages > 0
            ? "BN statistics recalibrated on \(min(settings.calibrationImages, data.train.count)) training images" : "BN statistics kept"
        if settings.finetuneEpochs > 0, let info = fixed.stageInfo {
            fixed = try finetune(fixed, info)
            if settings.calibrationImages > 0 {
                fixed = try BatchNormRecalibration.recalibrate(fixed, space: SupernetSpace(fixed: info), configuration: SupernetConfiguration(of: info),
                                                               data: data.train, preprocessing: data.preprocessing,
                                                               images: settings.calibrationImages)
            }
            // Fine-tuning moved the confidences: the thresholds are calibrated again, the same way.
            let cal = try calibrateThresholds(try fixedEvaluation(fixed, on: data.validation), staticMACs: try staticMACs(info))
            chosen.thresholds = cal.thresholds
            chosen.accuracy = cal.accuracy
            chosen.expectedMACs = cal.expectedMACs
            chosen.fractionOfStatic = cal.expectedMACs / max(1, try staticMACs(info))
            chosen.feasible = cal.feasible
            line += String(format: "; fine-tuned %d epochs alone: val accuracy %.4f at %.3f of static MACs", settings.finetuneEpochs,
                           cal.accuracy, chosen.fractionOfStatic)
        }
        try chosen.write(to: folder.finalConfiguration)
        try SupernetFile.save(fixed, to: folder.recalibrated)
        var g = fixed
        // The pass itself, not a pipeline string: any output path (commas, braces) stays one option value.
        try Materialize(options: try PassOptions(specs: Materialize.options, given: ["config": .string(folder.finalConfiguration)],
                                                 pass: Materialize.name)).run(on: &g)
        try SupernetFile.save(g, to: folder.chosen)
        return line + "; thresholds " + chosen.thresholds.map { String(format: "%.4f", $0) }.joined(separator: ",")
    }

    /// F epochs of one configuration alone (its own staged graph, labels at every exit), resumable
    /// from `checkpoint`.
    func finetune(_ graph: Graph, _ info: StageInfo, checkpoint: String? = nil, phase: ConvertPhase = .materialize,
                  what: String = "fine-tuning") throws -> Graph {
        let steps = max(1, data.train.count / settings.batchSize)
        var options = SupernetTrainingOptions(training: trainingConfiguration(epochs: settings.finetuneEpochs, steps: steps), samples: 0)
        options.training.seed = settings.seed &+ 1
        let trainer = try SupernetTrainer(supernet: graph, space: SupernetSpace(fixed: info), sampler: try SamplerRegistry.parse("uniform"),
                                          options: options)
        try train(trainer, checkpoint: checkpoint ?? folder.finetuneCheckpoint, phase: phase, what: what)
        return try trainer.trainedSupernet()
    }

    func emitPhase() throws -> String {
        var g = try SupernetFile.load(folder.chosen)
        try PassManager(pipeline: "fold-constants").run(&g)
        try folder.makeFolder(folder.code)
        try folder.makeFolder(folder.latency)
        var summary: String
        if settings.target == .onnx {
            // One If chain that onnxruntime runs with real early exit (`s2dc emit --target onnx`).
            let path = folder.code + "/model.onnx"
            try writeAtomically(Data(try ONNXExporter.modelBytes(g, file: path)), to: path)
            summary = "code/model.onnx (dynamic ONNX, batch 1, inputs threshold_<stage>)"
        } else {
            let code = try CodeGenerator.emit(g, target: settings.target == .c ? .c : .swift, name: "model", options: EmitOptions(prefix: "model"))
            for f in code.files { try writeAtomically(Data(f.contents), to: folder.code + "/" + f.name) }
            summary = "code/" + code.files.map(\.name).joined(separator: ", code/")
                + " (\(code.kernelCount) kernels, arena \(code.arenaBytes) bytes, weights \(code.weightBytes) bytes \(code.weightStorage.rawValue))"
        }
        if settings.target != .c {
            // The latency column times C: the dynamic model's C goes beside the static model's.
            let c = try CodeGenerator.emit(g, target: .c, name: "model", options: EmitOptions(prefix: "model"))
            for f in c.files { try writeAtomically(Data(f.contents), to: folder.latency + "/" + f.name) }
            summary += "; dynamic C for timing in latency/"
        }
        let s = try CodeGenerator.emit(staticGraph, target: .c, name: "static", options: EmitOptions(prefix: "static"))
        for f in s.files { try writeAtomically(Data(f.contents), to: folder.latency + "/" + f.name) }
        return summary + "; static C in latency/"
    }

    /// Where the dynamic C to time lies.
    var dynamicCFolder: String { settings.target == .c ? folder.code : folder.latency }
}
