// Search: `s2dc search SUPERNET --data D --budget B -o config.json`: a thin CLI over the Search library's driver.

import ArgumentParser
import Foundation
import IR
import Runtime
import Search

struct SearchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "search",
        abstract: "Search a trained supernet for the configuration (boundaries, exit thresholds) most accurate at a MAC budget.",
        discussion: """
            Each candidate configuration's BatchNormalization statistics are recalibrated on \
            --calibration-images training images, then one pass over the validation split (the \
            --validation-size images `train --supernet` held out with the same --split-seed) gives \
            every exit; thresholds are calibrated to the budget. Writes OUTPUT (the chosen \
            configuration: boundaries, reuse flags, thresholds, accuracy, expected MACs) and \
            search.json (every evaluation and the Pareto front) beside it. The checkpoint \
            (OUTPUT.ckpt) is rewritten after every evaluation; --resume continues from it.
            """)

    @Argument(help: "The trained supernet (.s2dir from train --supernet).")
    var supernet: String

    @OptionGroup var dataOptions: DataOptions

    @Option(help: "MAC budget as a fraction of the static model's MACs.")
    var budget: Double

    @Option(help: "random, evolution{population=32}, reinforce{batch=…}, surrogate{…}, prune.")
    var strategy = "evolution{population=32}"

    @Option(help: "Distinct configurations to evaluate.")
    var evaluations = 100

    @Option(help: "Seed of the strategy.")
    var seed: UInt64 = 0

    @Option(help: "hard (the budget must hold) or soft{w=-0.07} (accuracy × (MACs/target)^w).")
    var reward = "hard"

    @Flag(help: "Score agreement with the static model's top-1 (--reference, else the widest configuration) instead of labels.")
    var unlabeled = false

    @Option(help: "The static model (.onnx or .s2dir): its MACs are the budget's denominator and its top-1 the unlabeled target.")
    var reference: String?

    @Flag(help: "Continue from the checkpoint.")
    var resume = false

    @Option(help: "The checkpoint file (default: OUTPUT.ckpt).")
    var checkpoint: String?

    @Option(help: "Training images held out as the validation split (as train --supernet --validation-size).")
    var validationSize = 5000

    @Option(help: "Seed of the held-out split (train --supernet's --seed).")
    var splitSeed: UInt64 = 0

    @Option(help: "Validation images used (default: all held out).")
    var limit: Int?

    @Option(help: "Training images each candidate's BatchNormalization statistics are recalibrated on (0: keep the supernet's).")
    var calibrationImages = 2000

    @Option(help: "Images per evaluation batch.")
    var batchSize = 256

    @Flag(help: "Vary every channel class (as train --supernet --all-classes).")
    var allClasses = false

    @Option(help: "As train --supernet --min-width.")
    var minWidth: Double = 0

    @Option(help: "As train --supernet --uniform-bins.")
    var uniformBins = 0

    @Option(help: "Also write the supernet with BatchNorm statistics recalibrated for the chosen configuration here (.s2dir), for materialize.")
    var recalibrated: String?

    @Option(name: .shortAndLong, help: "Where to write the chosen configuration (.json); search.json goes beside it.")
    var output: String

    func run() throws {
        guard evaluations >= 1 else { throw ValidationError("--evaluations must be at least 1") }
        guard validationSize >= 1 else { throw ValidationError("--validation-size must be at least 1") }
        guard calibrationImages >= 0 else { throw ValidationError("--calibration-images must not be negative") }
        let folder = (output as NSString).deletingLastPathComponent
        let searchJSON = (folder.isEmpty ? "" : folder + "/") + "search.json"
        let ckpt = checkpoint ?? output + ".ckpt"
        try FilePaths.requireRegularFile(supernet)
        try FilePaths.requireWritableFile(output, what: "the chosen configuration")
        try FilePaths.requireWritableFile(searchJSON, what: "search.json")
        try FilePaths.requireWritableFile(ckpt, what: "the checkpoint")
        if let recalibrated { try FilePaths.requireWritableFile(recalibrated, what: "the recalibrated supernet") }
        BLASThreads.count = dataOptions.threads
        let graph = try SupernetFile.load(supernet)
        guard let info = graph.stageInfo else { throw ValidationError("\(supernet): not a staged graph") }
        let space = try SupernetSpace(info, allClasses: allClasses, minimumWidth: minWidth, uniformBins: uniformBins)
        let splits = try Dataset.load(dataOptions.data)
        guard validationSize < splits.train.count else {
            throw ValidationError("--validation-size \(validationSize) leaves no training image for recalibration")
        }
        var (train, validation) = splits.train.split(validationFraction: Double(validationSize) / Double(splits.train.count),
                                                     seed: splitSeed)
        if let limit { validation = validation.prefix(limit) }
        let evaluator = try SupernetEvaluator(
            supernet: graph, space: space, validation: validation, preprocessing: try dataOptions.preprocessing(),
            calibration: calibrationImages > 0 ? train : nil, calibrationImages: calibrationImages, batchSize: batchSize,
            reference: try reference.map(loadModelFile))
        let staticMACs = try evaluator.staticMACs()
        let settings = SearchSettings(space: evaluator.searchSpace, strategy: strategy, reward: reward, budget: budget,
                                      staticMACs: staticMACs, evaluations: evaluations, seed: seed, unlabeled: unlabeled,
                                      checkpoint: ckpt)
        let tty = isatty(2) != 0
        var lastLog = Date.distantPast
        let result = try SearchDriver(settings: settings).run(evaluator, resume: resume) { p in
            let width = 20, filled = p.done * width / max(1, p.total)
            let eta = p.eta.map { String(format: " ETA %.0fs", $0) } ?? ""
            let best = p.bestAccuracy.map { String(format: " best at budget %.4f", $0) } ?? " no configuration meets the budget yet"
            let text = "[" + String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled) + "] "
                + "\(p.done)/\(p.total) evaluations" + best + eta
            if tty {
                FileHandle.standardError.write(("\r\u{1B}[K" + text).data(using: .utf8) ?? Data())
                if p.done == p.total { FileHandle.standardError.write("\n".data(using: .utf8) ?? Data()) }
            } else if Date().timeIntervalSince(lastLog) >= 30 || p.done == p.total {
                lastLog = Date()
                FileHandle.standardError.write((text + "\n").data(using: .utf8) ?? Data())
            }
        }
        guard let best = result.best else { throw RuntimeError("the search evaluated no configuration") }
        try result.write(to: searchJSON)
        let chosen = ChosenConfiguration(best, configuration: try evaluator.configuration(best), staticMACs: staticMACs)
        try chosen.write(to: output)
        if let recalibrated {
            let config = try evaluator.configuration(best)
            let tuned = calibrationImages > 0
                ? try BatchNormRecalibration.recalibrate(graph, space: space, configuration: config, data: train,
                                                         preprocessing: try dataOptions.preprocessing(), images: calibrationImages)
                : graph
            try SupernetFile.save(tuned, to: recalibrated)
        }
        print(String(format: "accuracy=%.4f expected MACs=%.0f (%.3f of static)%@ thresholds=%@", chosen.accuracy,
                     chosen.expectedMACs, chosen.fractionOfStatic, chosen.feasible ? "" : " OVER BUDGET",
                     chosen.thresholds.map { String(format: "%.4f", $0) }.joined(separator: ",")))
        print("wrote \(output) and \(searchJSON) (\(result.evaluations.count) evaluations, \(result.front.count) on the Pareto front)")
    }
}
