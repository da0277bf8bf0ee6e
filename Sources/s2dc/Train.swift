// Train: `s2dc train MODEL --data fashion-mnist --epochs E -o OUT` parses options, runs Trainer.fit and prints its events.

import ArgumentParser
import Foundation
import IR
import ONNX
import Runtime

struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train (fine-tune) an ONNX classifier on a dataset and write the trained model.",
        discussion: """
            SGD with momentum (Nesterov by default) and weight decay on conv/linear weights, under a \
            cosine or one-cycle learning-rate schedule, with softmax cross-entropy (optionally label \
            smoothed). After every epoch the state is written atomically to the checkpoint (default \
            OUTPUT.ckpt) and the held-out split is evaluated. Ctrl-C stops between steps without \
            touching OUTPUT; --resume continues from the checkpoint with the same options. The run is \
            a function of --seed.
            """)

    @Argument(help: "The ONNX model to start from.")
    var model: String

    @OptionGroup var dataOptions: DataOptions

    @Option(name: .shortAndLong, help: "Where to write the trained model (.onnx).")
    var output: String

    @Option(help: "Epochs to train.")
    var epochs = 10

    @Option(help: "Images per step.")
    var batchSize = 128

    @Option(help: "Peak learning rate (default: 0.1; with --heads-only 1, a multiple of each head's step normalized by its features' scale).")
    var lr: Float?

    /// `--lr`, or its default for the mode.
    var peakRate: Float { lr ?? (headsOnly ? 1 : 0.1) }

    @Option(help: "Learning-rate schedule: cosine, one-cycle or constant.")
    var schedule = "cosine"

    @Option(help: "Warm-up length in epochs (one-cycle: its rise, at most half the run).")
    var warmupEpochs: Double = 1

    @Option(help: "SGD momentum.")
    var momentum: Float = 0.9

    @Flag(help: "Plain momentum instead of Nesterov's.")
    var noNesterov = false

    @Option(help: "Weight decay on conv and linear weights.")
    var weightDecay: Float = 5e-4

    @Option(help: "Label smoothing ε of the cross-entropy.")
    var labelSmoothing: Float = 0

    @Option(help: "Random crop after zero padding by this many pixels (0: off).")
    var cropPadding = 0

    @Flag(help: "Random horizontal flips.")
    var flip = false

    @Option(help: "Seed of every random choice (shuffles, crops, flips, dropout, the split).")
    var seed: UInt64 = 0

    @Option(help: "Hold out this fraction of the training split for per-epoch validation (0: report the test split).")
    var validationFraction: Double = 0

    @Option(help: "Train on the first N training images only.")
    var limitTrain: Int?

    @Option(help: "Evaluate on the first N held-out images only.")
    var limitTest: Int?

    @Option(help: "The checkpoint file (default: OUTPUT.ckpt).")
    var checkpoint: String?

    @Flag(help: "Continue from the checkpoint.")
    var resume = false

    @Flag(help: "Print after each epoch where its steps spent their time, per op kind, forward and backward.")
    var profile = false

    @Flag(help: "Train only the depth exits' heads of a staged model (.s2dir from insert-exits{at=blocks}) on the frozen backbone, a loss at each early exit (SDN); OUTPUT is textual IR.")
    var headsOnly = false

    @OptionGroup var supernetOptions: SupernetTrainOptions

    func validate() throws {
        guard epochs >= 1 else { throw ValidationError("--epochs must be at least 1") }
        guard batchSize >= 1 else { throw ValidationError("--batch-size must be at least 1") }
        guard peakRate > 0 else { throw ValidationError("--lr must be positive") }
        guard ["cosine", "one-cycle", "constant"].contains(schedule) else {
            throw ValidationError("--schedule must be cosine, one-cycle or constant, got '\(schedule)'")
        }
        guard (0..<1).contains(validationFraction) else { throw ValidationError("--validation-fraction must be in [0, 1)") }
        guard (0..<1).contains(labelSmoothing) else { throw ValidationError("--label-smoothing must be in [0, 1)") }
        guard cropPadding >= 0 else { throw ValidationError("--crop-padding must not be negative") }
        if let limitTrain, limitTrain < 1 { throw ValidationError("--limit-train must be at least 1") }
        if let limitTest, limitTest < 1 { throw ValidationError("--limit-test must be at least 1") }
        if headsOnly && supernetOptions.supernet { throw ValidationError("--heads-only and --supernet exclude each other") }
    }

    func run() throws {
        // Every file the run will write must be writable before the first step, not after an epoch.
        try FilePaths.requireWritableFile(output, what: "the trained model")
        try FilePaths.requireWritableFile(checkpoint ?? output + ".ckpt", what: "the checkpoint")
        if supernetOptions.supernet { return try runSupernet() }
        if headsOnly { return try runHeads() }
        BLASThreads.count = dataOptions.threads
        let graph = try ONNXLoader.load(path: model)
        let (splits, train, heldOut, heldOutName) = try trainingData(for: graph)

        let pre = try augmentation()
        let steps = max(1, train.count / batchSize)
        let config = trainingConfiguration(steps: steps, preprocessing: pre)
        let trainer = try Trainer(network: try TrainableGraph(graph: graph), configuration: config)
        if profile { trainer.network.profile = TrainingProfile() }
        let ckpt = checkpoint ?? output + ".ckpt"
        log("training \(trainer.network.parameterCount) parameters on \(train.count) images from \(splits.source), "
            + "\(epochs) epochs of \(steps) steps, batch \(batchSize), \(dataOptions.threads) threads")
        let start = Date()
        try fitPlain(trainer, train: train, heldOut: heldOut, heldOutName: heldOutName, checkpoint: ckpt)
        try ONNXExporter.export(try trainer.network.exportGraph(), to: output)
        log(String(format: "wrote %@ (%.0f s of training)", output, Date().timeIntervalSince(start)))
    }

    /// Runs `trainer` to the end with the progress bar and a line per epoch (Ctrl-C: a message
    /// and exit status 130, OUTPUT untouched).
    func fitPlain(_ trainer: Trainer, train: Dataset, heldOut: Dataset, heldOutName: String, checkpoint ckpt: String) throws {
        StopRequest.install()
        let bar = ProgressBar()
        let outcome = try trainer.fit(train, options: FitOptions(checkpoint: ckpt, resume: resume, heldOut: heldOut,
                                                                 shouldStop: { StopRequest.requested })) { event in
            switch event {
            case .resumed(let done):
                log("resumed from \(ckpt) after epoch \(done)")
            case .step(let r):
                if r.step == 1 { bar.begin("epoch \(r.epoch + 1)/\(epochs)", total: r.stepsInEpoch, unit: "steps") }
                bar.update(r.step, detail: String(format: "loss %.4f acc %.4f %.0f img/s lr %.4g", r.loss, r.accuracy,
                                                  r.imagesPerSecond, r.learningRate))
            case .epoch(let report, let eval):
                bar.finish()
                var line = String(format: "epoch %d/%d: loss %.4f, train accuracy %.4f, %.0f images/s, %.1f s",
                                  report.epoch, epochs, report.loss, report.accuracy, Double(report.images) / report.seconds,
                                  report.seconds)
                if let eval { line += String(format: "; %@ accuracy %.4f, loss %.4f", heldOutName, eval.accuracy, eval.loss) }
                log(line)
                if let p = trainer.network.profile {
                    log(p.text)
                    p.reset()
                }
            }
        }
        if case .stopped(let done) = outcome {
            bar.finish()
            log(interruptedMessage(output: output, checkpoint: ckpt, epochsDone: done))
            throw ExitCode(130)
        }
    }

    /// The dataset, its training images and the held-out split (a seeded validation share of the
    /// training split, or the test split) with its name, cut to the limits and checked to fit `graph`.
    func trainingData(for graph: Graph) throws -> (splits: DatasetSplits, train: Dataset, heldOut: Dataset, heldOutName: String) {
        let splits = try Dataset.load(dataOptions.data)
        var train = splits.train, heldOut = splits.test, heldOutName = "test"
        if validationFraction > 0 {
            (train, heldOut) = train.split(validationFraction: validationFraction, seed: seed)
            heldOutName = "val"
        }
        if let limitTrain { train = train.prefix(limitTrain) }
        if let limitTest { heldOut = heldOut.prefix(limitTest) }
        guard let input = graph.inputs.first, let out = graph.outputs.first else { throw RuntimeError("the model has no input or output") }
        try train.check(fits: input.type, classes: try graph.type(of: out).dims.last?.value)
        return (splits, train, heldOut, heldOutName)
    }

    /// The preprocessing of training batches: the data options plus crops and flips.
    func augmentation() throws -> Preprocessing {
        var pre = try dataOptions.preprocessing()
        pre.cropPadding = cropPadding
        pre.horizontalFlip = flip
        return pre
    }

    /// The hyperparameters the flags give, for `steps` steps per epoch.
    func trainingConfiguration(steps: Int, preprocessing pre: Preprocessing) -> TrainingConfiguration {
        let warmup = Int((warmupEpochs * Double(steps)).rounded())
        let sched: LearningRateSchedule
        switch schedule {
        case "one-cycle":
            sched = .oneCycle(max: peakRate, warmupFraction: Float(min(0.5, max(0.01, warmupEpochs / Double(epochs)))),
                              divFactor: 25, finalDivFactor: 1e4)
        case "constant": sched = .constant(base: peakRate, warmupSteps: warmup)
        default: sched = .cosine(base: peakRate, minimum: 0, warmupSteps: warmup)
        }
        return TrainingConfiguration(epochs: epochs, batchSize: batchSize, schedule: sched, momentum: momentum,
                                     nesterov: !noNesterov, weightDecay: weightDecay, labelSmoothing: labelSmoothing,
                                     preprocessing: pre, seed: seed)
    }

    func log(_ s: String) { FileHandle.standardError.write((s + "\n").data(using: .utf8) ?? Data()) }
}
