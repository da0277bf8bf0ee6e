// ConvertDriver: `s2dc convert`'s pipeline: every phase in order, each artifact in OUT/, resumable phase by phase.
import Foundation
import IR
import ONNX
import Passes
import Report
import Runtime
import Search

/// What a run reports while it goes (the CLI prints these).
public enum ConvertEvent {
    case phaseStarted(ConvertPhase)
    /// Finished in an earlier run (`--resume`): not run again.
    case phaseSkipped(PhaseMarker)
    /// Progress inside a phase: `done` of `total` `unit`s, and a detail (loss, best accuracy).
    case progress(ConvertPhase, done: Int, total: Int, unit: String, detail: String)
    /// A line of information (what was resumed from where).
    case note(String)
    case phaseFinished(PhaseMarker)
}

/// How a run ended.
public enum ConvertOutcome {
    case finished(ConvertReport)
    /// Stopped on request inside `phase`; `--resume` continues from its checkpoint.
    case stopped(ConvertPhase)
}

/// The data of a run: the seeded validation split held out of the training split, and the test split.
struct ConvertData {
    var train: Dataset
    var validation: Dataset
    var test: Dataset
    var source: String
    var preprocessing: Preprocessing
}

/// Thrown inside a phase when a stop was requested; the phase's checkpoint holds its progress.
struct PhaseStopped: Error {}

/// Runs `s2dc convert`: import and canonicalize → split-stages / insert-exits / make-sliceable /
/// flops-bins → supernet training → search → BN recalibration, optional fine-tuning of the
/// chosen configuration alone, `materialize` → emit → evaluation on the test split (and the
/// emitted C's latency) → baselines → report. Every phase keeps its artifact in the output folder
/// and then writes its marker; with `resume`, finished phases are skipped and the phase in
/// progress continues from its own checkpoint (supernet epochs, search evaluations, fine-tuning
/// and pruning epochs), so the result equals an uninterrupted run's. Inputs and output paths are
/// checked before the folder is created: a bad input leaves nothing behind.
public final class ConvertDriver {
    public let settings: ConvertSettings
    public let folder: ConvertFolder
    public let resume: Bool
    /// Checked between steps and evaluations; when true the run stops at a consistent point.
    public var shouldStop: () -> Bool = { false }
    public var events: (ConvertEvent) -> Void = { _ in }

    var data: ConvertData!
    var staticGraph: Graph!

    public init(settings: ConvertSettings, output: String, resume: Bool = false) {
        self.settings = settings
        self.folder = ConvertFolder(output)
        self.resume = resume
    }

    /// Runs every phase not done yet.
    public func run() throws -> ConvertOutcome {
        try settings.validate()
        try prepare()
        for phase in ConvertPhase.allCases {
            if let m = folder.done(phase) {
                events(.phaseSkipped(m))
                continue
            }
            events(.phaseStarted(phase))
            let start = Date()
            let summary: String
            do {
                summary = try runPhase(phase)
            } catch is PhaseStopped {
                return .stopped(phase)
            }
            let m = PhaseMarker(phase: phase, seconds: Date().timeIntervalSince(start), summary: summary)
            try folder.markDone(m)
            events(.phaseFinished(m))
        }
        return .finished(try folder.read(ConvertReport.self, fromReport: folder.report))
    }

    func runPhase(_ phase: ConvertPhase) throws -> String {
        switch phase {
        case .stage: return try stagePhase()
        case .supernet: return try supernetPhase()
        case .search: return try searchPhase()
        case .materialize: return try materializePhase()
        case .emit: return try emitPhase()
        case .evaluate: return try evaluatePhase()
        case .baselines: return try baselinesPhase()
        case .report: return try reportPhase()
        }
    }

    // MARK: Checks before any work

    /// Checks paths, options, data and model (staging it in memory) before the folder exists;
    /// then creates the folder and records the settings.
    func prepare() throws {
        try FilePaths.requireRegularFile(settings.model)
        try FilePaths.requireWritableFolder(folder.path, what: "the output folder")
        let fm = FileManager.default
        var isDir: ObjCBool = false
        let exists = fm.fileExists(atPath: folder.path, isDirectory: &isDir)
        if exists {
            let entries = (try? fm.contentsOfDirectory(atPath: folder.path)) ?? []
            if fm.fileExists(atPath: folder.settings) {
                guard resume else {
                    throw ConvertError("\(folder.path) already holds a convert run: continue it with --resume, or give another folder")
                }
                let saved = try folder.read(ConvertSettings.self, from: folder.settings)
                guard saved == settings else {
                    throw ConvertError("\(folder.path) holds a run with other settings (\(Self.differences(saved, settings))); "
                                       + "resume with the same options, or give another folder")
                }
            } else if !entries.isEmpty {
                throw ConvertError("\(folder.path) exists and is not empty (and holds no convert run): give a new or empty folder")
            }
        } else if resume {
            throw ConvertError("--resume: \(folder.path) does not exist (no run to continue)")
        }
        BLASThreads.count = settings.threads
        data = try Self.loadData(settings)
        staticGraph = try Self.loadStatic(settings.model)
        let (withBatchNorm, staged) = try Self.stage(staticGraph, settings)
        guard let input = staged.inputs.first else { throw ConvertError("\(settings.model): the model has no input") }
        do {
            try data.train.check(fits: input.type, classes: try staged.type(of: staged.outputs[0]).dims.last?.value)
        } catch {
            throw ConvertError("--data \(settings.data) does not fit \(settings.model): \(error)")
        }
        stagedInMemory = staged
        staticWithBatchNorm = withBatchNorm
        try folder.makeFolder(folder.path)
        if !fm.fileExists(atPath: folder.settings) { try folder.write(settings, to: folder.settings) }
    }

    var stagedInMemory: Graph?
    /// The static model after `batchNormPipeline`, the step of staging before the split: what the
    /// inserted BatchNormalizations' statistics are measured on.
    var staticWithBatchNorm: Graph?

    static func differences(_ a: ConvertSettings, _ b: ConvertSettings) -> String {
        let x = a.jsonObject, y = b.jsonObject
        return Set(x.keys).union(y.keys).sorted().filter { "\(x[$0] ?? "nil")" != "\(y[$0] ?? "nil")" }
            .map { "\($0): \(x[$0] ?? "none") then, \(y[$0] ?? "none") now" }.joined(separator: ", ")
    }

    static func loadData(_ s: ConvertSettings) throws -> ConvertData {
        let splits: DatasetSplits
        do { splits = try Dataset.load(s.data) } catch { throw ConvertError("--data \(s.data): \(error)") }
        guard s.validationSize < splits.train.count else {
            throw ConvertError("--validation-size \(s.validationSize) leaves no training image of the \(splits.train.count) in \(splits.source)")
        }
        var (train, validation) = splits.train.split(validationFraction: Double(s.validationSize) / Double(splits.train.count),
                                                     seed: s.seed)
        if let n = s.trainImages { train = train.prefix(n) }
        var test = splits.test
        if let n = s.testImages { test = test.prefix(n) }
        guard test.count > 0 else { throw ConvertError("--data \(s.data): \(splits.source) has no test split") }
        return ConvertData(train: train, validation: validation, test: test, source: splits.source,
                           preprocessing: Preprocessing(mean: s.mean, std: s.std))
    }

    /// The static model, imported and canonicalized (what the static C and the baselines start from).
    static func loadStatic(_ path: String) throws -> Graph {
        var g = try ONNXLoader.load(path: path)
        guard g.inputs.count == 1, g.outputs.count >= 1 else {
            throw ConvertError("\(path): convert needs a classifier with one input (images) and logits as its first output")
        }
        try PassManager(pipeline: "canonicalize").run(&g)
        return g
    }

    /// The staged model: the static one split into stages with exits, sliceable, with FLOPs bins;
    /// and the static one with its BatchNormalizations inserted, the step before the split.
    static func stage(_ canonical: Graph, _ s: ConvertSettings) throws -> (withBatchNorm: Graph, staged: Graph) {
        var withBatchNorm = canonical
        var g = canonical
        do {
            try PassManager(pipeline: s.batchNormPipeline).run(&withBatchNorm)
            g = withBatchNorm
            try PassManager(pipeline: s.splitPipeline).run(&g)
        } catch {
            throw ConvertError("\(s.model): cannot be turned into a staged network: \(error)")
        }
        guard let info = g.stageInfo, info.exits.count == s.stages else {
            throw ConvertError("\(s.model): cannot be turned into a staged network with \(s.stages) exits")
        }
        return (withBatchNorm, g)
    }

    // MARK: Phases 1-3: stage, supernet, search

    func stagePhase() throws -> String {
        guard let g = stagedInMemory else { throw ConvertError("internal: the model was not staged") }
        try SupernetFile.save(g, to: folder.staged)
        guard let info = g.stageInfo else { throw ConvertError("internal: the staged model has no stage table") }
        let varied = info.classes.filter { $0.sliceable || !$0.bins.isEmpty }.count
        return "\(info.stageCount) stages, \(info.classes.count) channel classes (\(varied) with bins), static MACs \(info.staticMACs)"
    }

    /// The supernet's search space (the classes with bins vary).
    func space(_ graph: Graph) throws -> SupernetSpace {
        guard let info = graph.stageInfo else { throw ConvertError("internal: not a staged graph") }
        return try SupernetSpace(info)
    }

    func trainingConfiguration(epochs: Int, steps: Int) -> TrainingConfiguration {
        TrainingConfiguration(epochs: epochs, batchSize: settings.batchSize,
                              schedule: .cosine(base: settings.learningRate, minimum: 0, warmupSteps: epochs > 1 ? steps : 0),
                              momentum: 0.9, nesterov: true, weightDecay: 5e-4, labelSmoothing: 0.1,
                              preprocessing: data.preprocessing, seed: settings.seed)
    }

    /// Runs `trainer` for its configured epochs in `phase`, resumable from `checkpoint`, reporting
    /// steps as progress (`what` names the run); throws `PhaseStopped` on a stop request.
    func train(_ trainer: some EpochTrainer, checkpoint: String, phase: ConvertPhase = .baselines, what: String) throws {
        let steps = trainer.stepsPerEpoch(data.train.count), epochs = trainer.trainingConfiguration.epochs
        let outcome = try trainer.runEpochs(data.train, options: FitOptions(
            checkpoint: checkpoint, resume: resume && FileManager.default.fileExists(atPath: checkpoint), shouldStop: shouldStop),
            resumed: { events(.note("\(what): resumed from \(checkpoint) after epoch \($0)")) },
            step: { r in
                events(.progress(phase, done: r.epoch * steps + r.step, total: steps * epochs, unit: "steps",
                                 detail: String(format: "%@ epoch %d loss %.4f", what, r.epoch + 1, r.loss)))
            })
        if case .stopped = outcome { throw PhaseStopped() }
    }

    /// The validation images watched after each training epoch (a prefix: the search reads them all).
    var watchedValidation: Dataset { data.validation.prefix(500) }

    func supernetPhase() throws -> String {
        var graph = try SupernetFile.load(folder.staged)
        let space = try space(graph)
        if graph.constantNames.contains(where: { $0.hasSuffix(InsertBatchNorm.suffix + ".mean") }) {
            // From the static network's statistics: batch statistics then renormalize every split
            // activation to the static model's, as an unfolded model's BatchNorms would.
            guard let reference = staticWithBatchNorm else { throw ConvertError("internal: the model was not staged") }
            graph = try BatchNormInsertion.initialize(graph, fromStatic: reference, data: data.train, preprocessing: data.preprocessing)
        }
        let steps = max(1, data.train.count / settings.batchSize)
        let trainer = try SupernetTrainer(
            supernet: graph, space: space, sampler: try SamplerRegistry.parse(settings.sampler),
            options: SupernetTrainingOptions(training: trainingConfiguration(epochs: settings.epochs, steps: steps),
                                             samples: settings.samples))
        let ckpt = folder.supernetCheckpoint
        var last = ""
        let outcome = try trainer.fit(data.train, options: FitOptions(
            checkpoint: ckpt, resume: resume && FileManager.default.fileExists(atPath: ckpt), heldOut: watchedValidation,
            shouldStop: shouldStop)) { event in
            switch event {
            case .resumed(let done): events(.note("supernet: resumed from \(ckpt) after epoch \(done)"))
            case .step(let r):
                events(.progress(.supernet, done: r.epoch * steps + r.step, total: steps * settings.epochs, unit: "steps",
                                 detail: String(format: "epoch %d loss %.4f", r.epoch + 1, r.loss)))
            case .epoch(let r, let heldOut):
                last = String(format: "epoch %d/%d loss %.4f", r.epoch, settings.epochs, r.loss)
                    + heldOut.map { h in
                        "; \(h.name) val " + h.evaluation.accuracies.map { String(format: "%.3f", $0) }.joined(separator: "/")
                    }.joined()
            }
        }
        if case .stopped = outcome { throw PhaseStopped() }
        try SupernetFile.save(try trainer.trainedSupernet(), to: folder.supernet)
        return last + " (accuracy per exit)"
    }

    func evaluator(_ supernet: Graph, _ space: SupernetSpace) throws -> SupernetEvaluator {
        try SupernetEvaluator(supernet: supernet, space: space, validation: data.validation, preprocessing: data.preprocessing,
                              calibration: settings.calibrationImages > 0 ? data.train : nil,
                              calibrationImages: settings.calibrationImages)
    }

    func searchPhase() throws -> String {
        let supernet = try SupernetFile.load(folder.supernet)
        let space = try space(supernet)
        let evaluator = try evaluator(supernet, space)
        let staticMACs = try evaluator.staticMACs()
        let s = SearchSettings(space: evaluator.searchSpace, strategy: settings.strategy, reward: "hard", budget: settings.budget,
                               staticMACs: staticMACs, evaluations: settings.evaluations, seed: settings.seed,
                               checkpoint: folder.searchCheckpoint)
        let result: SearchResult
        do {
            result = try SearchDriver(settings: s).run(evaluator, resume: resume, progress: { p in
                events(.progress(.search, done: p.done, total: p.total, unit: "evaluations",
                                 detail: p.bestAccuracy.map { String(format: "best at budget %.4f", $0) } ?? "none at budget yet"))
            }, shouldStop: shouldStop)
        } catch is SearchStopped {
            throw PhaseStopped()
        }
        guard let best = result.best else { throw ConvertError("the search evaluated no configuration") }
        try result.write(to: folder.searchJSON)
        let chosen = ChosenConfiguration(best, configuration: try evaluator.configuration(best), staticMACs: staticMACs)
        try chosen.write(to: folder.configuration)
        return String(format: "%d evaluations, %d on the front; chosen: val accuracy %.4f at %.3f of static MACs%@",
                      result.evaluations.count, result.front.count, chosen.accuracy, chosen.fractionOfStatic,
                      chosen.feasible ? "" : " (OVER BUDGET: nothing met it)")
    }
}

extension ConvertFolder {
    /// Reads report.json (snake_case keys).
    func read(_ type: ConvertReport.Type, fromReport path: String) throws -> ConvertReport {
        guard let data = FileManager.default.contents(atPath: path) else { throw ConvertError("\(path): missing") }
        return try ConvertReport.decode(data)
    }
}
