// TrainSupernet: `s2dc train STAGED --supernet`: sandwich-rule supernet training with per-epoch exit reports.

import ArgumentParser
import Foundation
import IR
import ONNX
import Passes
import Runtime

/// The flags of supernet training (`s2dc train --supernet`).
struct SupernetTrainOptions: ParsableArguments {
    @Flag(help: "Train a staged model (.s2dir from split-stages, insert-exits) as a supernet (sandwich rule).")
    var supernet = false

    @Option(help: "Sampler of the K configurations per step: uniform, attentive{candidates=4 mode=best-up|worst-up buckets=8}, prioritized{buckets=4 pool-size=8 p=0.8 temperature=0.1 decay=0.9}.")
    var sampler = "uniform"

    @Option(help: "Distillation targets of the smallest and sampled configurations: inplace or ieb.")
    var distill = "inplace"

    @Option(help: "--distill ieb: the decay of the EMA teacher's weights per step (DS-Net's 0.997).")
    var emaDecay: Float = 0.997

    @Flag(help: "--distill ieb: the EMA decay from the first step, without ramping it up as min(decay, (1+t)/(10+t)) over the first steps.")
    var noEmaWarmup = false

    @Option(help: "K: sampled configurations per step besides the largest and the smallest.")
    var samples = 2

    @Flag(help: "The largest configuration learns the labels at its last exit only; its earlier exits are distilled.")
    var labelsAtLastExit = false

    @Flag(help: "Vary every channel class, not only sliceable or binned ones.")
    var allClasses = false

    @Option(help: "Boundaries of varied classes without bins are at least this fraction of the class's channels.")
    var minWidth: Double = 0

    @Option(help: "Classes without bins: n evenly spaced candidate boundaries round(C*i/n) instead of every channel count (0: every count).")
    var uniformBins = 0

    @Option(help: "Images of the training split held out (seeded) for the per-epoch validation report.")
    var validationSize = 5000

    @Option(help: "Also write the largest, smallest and (prioritized sampler) kept configurations as JSON into this folder.")
    var configurations: String?

    @Option(help: ArgumentHelp("Train one configuration of the space alone instead of the supernet (largest, smallest, or a JSON file): labels at every exit, no sampling or distillation; the baseline a supernet's configuration is compared with.", valueName: "configuration"))
    var alone: String?

    @Option(help: "With --alone: train only the network that exit N of that configuration computes (a plain network with that exit's layers, weights and MACs; OUTPUT .onnx or textual IR).")
    var aloneExit: Int?

    @Option(help: ArgumentHelp("The static ONNX model the staged one was split from: the inserted BatchNormalizations start from its statistics, so batch statistics renormalize every split activation to the static network's (recommended; without it they start from the staged model's own, which keeps the split's shifted activations).", valueName: "model.onnx"))
    var staticModel: String?

    @Option(help: ArgumentHelp("With --static-model: the passes that turn it into the network the staged one was split from (the staging pipeline's steps up to insert-batchnorm; add sort-channels if the staged model's pipeline ran it).", valueName: "pipeline"))
    var staticPasses = BatchNormInsertion.staticPipeline
}

extension Train {
    func runSupernet() throws {
        let o = supernetOptions
        guard let mode = DistillationMode(rawValue: o.distill) else {
            throw ValidationError("--distill must be inplace or ieb, got '\(o.distill)'")
        }
        guard o.samples >= 0 else { throw ValidationError("--samples must not be negative") }
        guard (0..<1).contains(o.emaDecay) else { throw ValidationError("--ema-decay must be in [0, 1)") }
        guard o.validationSize >= 0 else { throw ValidationError("--validation-size must not be negative") }
        if o.aloneExit != nil && o.alone == nil { throw ValidationError("--alone-exit needs --alone CONFIGURATION") }
        BLASThreads.count = dataOptions.threads
        var graph = try loadModelFile(model)
        guard let info = graph.stageInfo else {
            throw ValidationError("\(model): --supernet needs a staged model (s2dc opt --passes='…,split-stages{…},insert-exits' -o model.s2dir)")
        }
        var space = try SupernetSpace(info, allClasses: o.allClasses, minimumWidth: o.minWidth, uniformBins: o.uniformBins)
        let sampler = try SamplerRegistry.parse(o.sampler)
        let splits = try Dataset.load(dataOptions.data)
        var train = splits.train, validation = splits.train.prefix(0)
        if o.validationSize > 0 {
            guard o.validationSize < train.count else { throw ValidationError("--validation-size \(o.validationSize) leaves no training image") }
            (train, validation) = train.split(validationFraction: Double(o.validationSize) / Double(train.count), seed: seed)
        }
        if let limitTrain { train = train.prefix(limitTrain) }
        if let limitTest { validation = validation.prefix(limitTest) }
        guard let input = graph.inputs.first else { throw RuntimeError("the model has no input") }
        try train.check(fits: input.type, classes: try graph.type(of: graph.outputs[0]).dims.last?.value)
        let pre = try augmentation()
        if graph.constantNames.contains(where: { $0.hasSuffix(InsertBatchNorm.suffix + ".mean") }) {
            // BatchNormalizations from insert-batchnorm start from the data's statistics (function unchanged).
            if let path = o.staticModel {
                var reference = try loadModelFile(path)
                try PassManager(pipeline: o.staticPasses).run(&reference)
                graph = try BatchNormInsertion.initialize(graph, fromStatic: reference, data: train, preprocessing: pre)
                log("initialized the inserted BatchNormalizations from the statistics of \(path) over \(min(2000, train.count)) training images")
            } else {
                graph = try BatchNormInsertion.initialize(graph, data: train, preprocessing: pre)
                log("initialized the inserted BatchNormalizations from the staged model's statistics over \(min(2000, train.count)) training images")
            }
        } else if o.staticModel != nil {
            throw ValidationError("--static-model: \(model) has no BatchNormalizations from insert-batchnorm to initialize")
        }
        var samples = o.samples
        if let name = o.alone {
            // The configuration's own staged graph, trained as a space of one configuration.
            graph = try space.graph(graph, try space.configuration(named: name))
            guard let fixed = graph.stageInfo else { throw RuntimeError("internal: the configuration's graph is not staged") }
            if let stage = o.aloneExit {
                return try trainExitAlone(try graph.exitNetwork(stage: stage), name: name, stage: stage, train: train, validation: validation,
                                          preprocessing: pre)
            }
            space = SupernetSpace(fixed: fixed)
            samples = 0
        }
        let steps = max(1, train.count / batchSize)
        let trainer = try SupernetTrainer(
            supernet: graph, space: space, sampler: sampler,
            options: SupernetTrainingOptions(training: trainingConfiguration(steps: steps, preprocessing: pre), samples: samples,
                                             distillation: mode, labelsAtEveryExit: !o.labelsAtLastExit,
                                             emaDecay: o.emaDecay, emaWarmup: !o.noEmaWarmup))
        let ckpt = checkpoint ?? output + ".ckpt"
        log("training a supernet of \(trainer.parameters.values.reduce(0) { $0 + $1.count }) parameters, \(info.stageCount) stages, "
            + (o.alone.map { "configuration \($0) alone; " } ?? "\(space.choices.count) of \(info.classes.count) classes varied, sampler \(o.sampler), K=\(o.samples), distill \(o.distill); ")
            + "\(train.count) images from \(splits.source) (\(validation.count) held out), \(epochs) epochs of \(steps) steps, batch \(batchSize)")

        StopRequest.install()
        let bar = ProgressBar()
        let start = Date()
        let outcome = try trainer.fit(train, options: FitOptions(checkpoint: ckpt, resume: resume, heldOut: validation,
                                                                 shouldStop: { StopRequest.requested })) { event in
            switch event {
            case .resumed(let done): log("resumed from \(ckpt) after epoch \(done)")
            case .step(let r):
                if r.step == 1 { bar.begin("epoch \(r.epoch + 1)/\(epochs)", total: r.stepsInEpoch, unit: "steps") }
                bar.update(r.step, detail: String(format: "loss %.4f acc %.4f %.0f img/s lr %.4g", r.loss, r.accuracy,
                                                  r.imagesPerSecond, r.learningRate))
            case .epoch(let report, let heldOut):
                bar.finish()
                log(String(format: "epoch %d/%d: largest loss %.4f, train accuracy %.4f, %.0f images/s, %.1f s", report.epoch, epochs,
                           report.loss, report.accuracy, Double(report.images) / report.seconds, report.seconds))
                for (label, r) in heldOut {
                    log("  \(label): " + zip(r.stages, zip(r.accuracies, r.cumulativeMACs)).map {
                        String(format: "exit %d val accuracy %.4f macs %d", $0.0, $0.1.0, $0.1.1)
                    }.joined(separator: ", "))
                }
            }
        }
        if case .stopped(let done) = outcome {
            bar.finish()
            log(interruptedMessage(output: output, checkpoint: ckpt, epochsDone: done))
            throw ExitCode(130)
        }
        try SupernetFile.save(try trainer.trainedSupernet(), to: output)
        if let dir = o.configurations {
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            try space.largest.save(to: dir + "/largest.json")
            try space.smallest.save(to: dir + "/smallest.json")
            var r = TrainingRNG(seed: 0)
            let images = train.prefix(min(train.count, batchSize)).batch(Array(0..<min(train.count, batchSize)), pre.evaluation, rng: &r)
            let context = trainer.samplerContext(images, progress: 1)
            for (i, c) in try sampler.kept(context: context).enumerated() { try c.save(to: dir + "/kept\(i + 1).json") }
        }
        log(String(format: "wrote %@ (%.0f s of training)", output, Date().timeIntervalSince(start)))
    }

    /// `--alone C --alone-exit N`: exit N's network of configuration C, trained on the labels with
    /// the plain trainer, its accuracy on the validation split after every epoch.
    func trainExitAlone(_ network: Graph, name: String, stage: Int, train: Dataset, validation: Dataset,
                        preprocessing pre: Preprocessing) throws {
        let steps = max(1, train.count / batchSize)
        let trainer = try Trainer(network: try TrainableGraph(graph: network),
                                  configuration: trainingConfiguration(steps: steps, preprocessing: pre))
        let ckpt = checkpoint ?? output + ".ckpt"
        log("training exit \(stage) of configuration \(name) alone: \(trainer.network.parameterCount) parameters, "
            + "\(train.count) images (\(validation.count) held out), \(epochs) epochs of \(steps) steps, batch \(batchSize)")
        let start = Date()
        try fitPlain(trainer, train: train, heldOut: validation, heldOutName: "val", checkpoint: ckpt)
        let trained = try trainer.network.exportGraph()
        if output.hasSuffix(".onnx") { try ONNXExporter.export(trained, to: output) } else { try SupernetFile.save(trained, to: output) }
        log(String(format: "wrote %@ (%.0f s of training)", output, Date().timeIntervalSince(start)))
    }
}
