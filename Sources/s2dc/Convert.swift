// Convert: `s2dc convert MODEL.onnx --data D --budget B -o OUT/`: parses options, runs ConvertDriver and prints its events.

import ArgumentParser
import Convert
import Foundation
import Report
import Runtime

struct ConvertCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "convert",
        abstract: "Turn a trained static classifier into a dynamic early-exit network at a MAC budget, with code and a report.",
        discussion: """
            Phases, each keeping its artifact in OUT/: stage (import, canonicalize, split-stages at fractions \
            0.25, 0.5, … , insert-exits, make-sliceable, flops-bins → staged.s2dir), supernet (sandwich-rule \
            training → supernet.s2dir, supernet.ckpt per epoch), search (→ search.json, config.json, search.ckpt \
            per evaluation), materialize (BN recalibration, --finetune-epochs of the chosen configuration alone, \
            materialize → chosen.s2dir), emit (code/model.c + model.h, model.swift or model.onnx; latency/static.c), \
            evaluate (test split: each exit alone, the dynamic model, the static model, the emitted C's latency \
            → evaluation.json), baselines (the uniform partition without search, static width slimming, static \
            filter pruning, SDN depth exits on the frozen model → baselines.json), report (report.json, pareto.svg, exits.svg, \
            summary.txt). Each phase prints a progress bar on standard error and one result line; the summary \
            table comes last. Ctrl-C stops between steps; --resume skips finished phases and continues the one \
            in progress from its checkpoint, ending as the uninterrupted run would.
            """)

    @Argument(help: "The trained static classifier (.onnx).")
    var model: String

    @Option(help: "Dataset: fashion-mnist, mnist, a folder of IDX files, or an .npz (x_train, y_train, x_test, y_test).")
    var data: String

    @Option(help: "Mean MAC budget as a fraction of the static model's MACs, in (0, 1].")
    var budget: Double

    @Option(name: .shortAndLong, help: "Output folder (new or empty; with --resume, the folder of the run to continue).")
    var output: String

    @Option(help: "Stages (one exit after each).")
    var stages = 3

    @Option(help: "Supernet training epochs.")
    var epochs = 1

    @Option(help: "Search strategy: random, evolution{population=8}, reinforce{…}, surrogate{…}, prune{…}.")
    var strategy = "evolution{population=8}"

    @Option(help: "Distinct configurations the search evaluates.")
    var evaluations = 48

    @Option(help: "Emitted code in OUT/code/: c (model.c + model.h), swift (model.swift) or onnx (model.onnx, the dynamic If chain). The evaluate phase times the emitted C; for swift and onnx it times the same model's C (latency/model.c), not the emitted file.")
    var target = "c"

    @Option(help: "Epochs of fine-tuning of the chosen configuration alone after the search (0: none; the pruning baseline gets --epochs + this).")
    var finetuneEpochs = 2

    @Option(help: "Seed of every random choice (splits, shuffles, sampling, search).")
    var seed: UInt64 = 0

    @Flag(help: "Continue the run in OUT: skip finished phases, resume the one in progress from its checkpoint.")
    var resume = false

    @Option(help: "Training images used (default: all but the validation split).")
    var trainImages: Int?

    @Option(help: "Training images held out (seeded) as the validation split the search scores on.")
    var validationSize = 5000

    @Option(help: "Test images the report measures (default: the whole test split).")
    var testImages: Int?

    @Option(help: "Training images BatchNorm statistics are recalibrated on, per candidate and for the chosen configuration.")
    var calibrationImages = 2000

    @Option(help: "Images per training step.")
    var batchSize = 64

    @Option(help: "Peak learning rate (cosine schedule) of supernet training, fine-tuning and the pruning baseline.")
    var lr: Float = 0.02

    @Option(help: "Configurations sampled per supernet step besides the largest and the smallest.")
    var samples = 1

    @Option(help: "Supernet sampler: uniform, attentive{…}, prioritized{…}.")
    var sampler = "uniform"

    @Option(help: "flops-bins bins per channel class (the candidate boundaries).")
    var bins = 8

    @Flag(help: "Keep the model's channel order (by default sort-channels ranks each channel class by filter importance before the split).")
    var noSortChannels = false

    @Flag(help: "Skip the baselines (uniform partition, width slimming, filter pruning, SDN depth exits).")
    var noBaselines = false

    @Flag(help: "Do not compile and time the emitted C (the latency column stays empty).")
    var noLatency = false

    @OptionGroup var dataOptions: NormalizationOptions

    func validate() throws {
        guard ConvertTarget(rawValue: target) != nil else { throw ValidationError("--target must be c, swift or onnx, got '\(target)'") }
    }

    func settings() throws -> ConvertSettings {
        var s = ConvertSettings(model: model, data: data, budget: budget)
        s.stages = stages
        s.epochs = epochs
        s.strategy = strategy
        s.evaluations = evaluations
        s.target = ConvertTarget(rawValue: target) ?? .c
        s.finetuneEpochs = finetuneEpochs
        s.seed = seed
        s.trainImages = trainImages
        s.validationSize = validationSize
        s.testImages = testImages
        s.calibrationImages = calibrationImages
        s.batchSize = batchSize
        s.learningRate = lr
        s.samples = samples
        s.sampler = sampler
        s.bins = bins
        s.sortChannels = !noSortChannels
        s.baselines = !noBaselines
        s.latency = !noLatency
        let pre = try dataOptions.preprocessing()
        (s.mean, s.std) = (pre.mean, pre.std)
        s.threads = dataOptions.threads
        return s
    }

    func run() throws {
        let driver = ConvertDriver(settings: try settings(), output: output, resume: resume)
        StopRequest.install()
        driver.shouldStop = { StopRequest.requested }
        let bar = ProgressBar()
        var current: ConvertPhase?
        driver.events = { event in
            switch event {
            case .phaseStarted(let p):
                current = p
                bar.begin(p.rawValue, total: 1, unit: "")
            case .phaseSkipped(let m):
                print("\(m.phase.rawValue): done in an earlier run: \(m.summary)")
            case .progress(let p, let done, let total, let unit, let detail):
                if current != p || total != barTotal || unit != barUnit {
                    // Restarted mid-phase (another sub-task's units, or a resumed run): the rate counts from `done`.
                    bar.begin(p.rawValue, total: total, unit: unit, done: done)
                    barTotal = total
                    barUnit = unit
                    current = p
                }
                bar.update(done, detail: detail)
            case .note(let s):
                bar.finish()
                FileHandle.standardError.write(Data((s + "\n").utf8))
            case .phaseFinished(let m):
                bar.finish()
                barTotal = -1
                print(String(format: "%@ (%.1f s): %@", m.phase.rawValue, m.seconds, m.summary))
                fflush(stdout)
            }
        }
        switch try driver.run() {
        case .stopped(let phase):
            bar.finish()
            FileHandle.standardError.write(Data(("interrupted during \(phase.rawValue); continue with: s2dc convert … --resume "
                                                 + "(the same options) -o \(output)\n").utf8))
            throw ExitCode(130)
        case .finished(let report):
            print()
            print(SummaryTable.render(report), terminator: "")
            print("report: \(output)/report.json, \(output)/pareto.svg, \(output)/exits.svg; code: \(output)/code/")
        }
    }
}

/// The progress bar's current total and unit (a phase may report several sub-phases).
nonisolated(unsafe) private var barTotal = -1
nonisolated(unsafe) private var barUnit = ""
