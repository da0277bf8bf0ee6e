// SupernetTrainer: sandwich-rule steps over prefix slices of one set of shared full-width weights.
import Foundation
import IR

/// Options of supernet training beyond the ordinary training hyperparameters.
public struct SupernetTrainingOptions: Sendable {
    public var training: TrainingConfiguration
    /// K: sampled configurations per step, besides the largest and the smallest.
    public var samples: Int
    public var distillation: DistillationMode
    /// True: the largest configuration learns the labels at every exit; false: at its last exit,
    /// the earlier exits distilled from the (detached) target of its last exit.
    public var labelsAtEveryExit: Bool
    public var temperature: Float
    /// The EMA decay of the IEB teacher's weights (DS-Net's `model_ema_decay`).
    public var emaDecay: Float
    /// Ramps the decay up over the first steps (`emaDecay(atStep:)`).
    public var emaWarmup: Bool

    public init(training: TrainingConfiguration, samples: Int = 2, distillation: DistillationMode = .inplace,
                labelsAtEveryExit: Bool = true, temperature: Float = 1, emaDecay: Float = 0.997, emaWarmup: Bool = true) {
        self.training = training
        self.samples = samples
        self.distillation = distillation
        self.labelsAtEveryExit = labelsAtEveryExit
        self.temperature = temperature
        self.emaDecay = emaDecay
        self.emaWarmup = emaWarmup
    }
}

/// Trains one staged graph (the supernet) so that every configuration of its space works.
///
/// Each step (the sandwich rule) runs forward and backward of the largest configuration on the
/// labels, of the smallest and of K sampled ones on distillation targets, adds the gradients —
/// each configuration's graph reads prefix slices of the same full-width constants, so every
/// gradient lands in those constants' rows and columns — and takes one SGD step. The epoch loop
/// is the shared one (`EpochTrainer`): every epoch's shuffle, augmentation and sampling come from
/// a generator seeded by (seed, epoch), so a run resumed after epoch k equals the uninterrupted one.
public final class SupernetTrainer {
    public let supernet: Graph
    public let space: SupernetSpace
    public let options: SupernetTrainingOptions
    public let sampler: any ConfigurationSampler
    /// The shared full-width weights and running statistics (by constant name).
    public var parameters: [String: Tensor]
    public var buffers: [String: Tensor]
    /// IEB's teacher weights (empty under in-place distillation).
    public var ema: [String: Tensor]
    public var optimizer: SGD
    public var epochsDone = 0
    public var stepsDone = 0
    let input: String
    let exitValues: [String]
    var networks: [SupernetConfiguration: TrainableGraph] = [:]
    var macsCache: [SupernetConfiguration: Int] = [:]

    public init(supernet: Graph, space: SupernetSpace, sampler: any ConfigurationSampler, options: SupernetTrainingOptions) throws {
        guard let info = supernet.stageInfo else { throw RuntimeError("supernet training needs a staged graph (split-stages, insert-exits)") }
        guard supernet.inputs.count == 1, let input = supernet.inputs.first?.name else {
            throw RuntimeError("supernet training needs a model with one input (images)")
        }
        if let e = info.exits.first(where: { $0.score != .softmax }) {
            throw RuntimeError("exit \(e.stage) ('\(e.value)') ends in a softmax; training needs logits (run strip-softmax before split-stages)")
        }
        guard options.samples >= 0 else { throw RuntimeError("--samples must not be negative") }
        self.supernet = supernet
        self.space = space
        self.sampler = sampler
        self.options = options
        self.input = input
        exitValues = info.exits.map(\.value)
        optimizer = SGD(momentum: options.training.momentum, nesterov: options.training.nesterov,
                        weightDecay: options.training.weightDecay)
        let base = try TrainableGraph(graph: supernet)
        parameters = base.parameters
        buffers = base.buffers
        ema = options.distillation == .ieb ? base.parameters : [:]
        networks[SupernetConfiguration(of: info)] = base
    }

    /// The compiled training graph of `config` (cached: its weights are set before every use).
    func network(_ config: SupernetConfiguration) throws -> TrainableGraph {
        if let n = networks[config] { return n }
        if networks.count >= 256 { networks.removeAll() }
        let n = try TrainableGraph(graph: try space.graph(supernet, config))
        networks[config] = n
        return n
    }

    /// The last exit's cumulative MACs of `config`.
    public func macs(_ config: SupernetConfiguration) throws -> Int {
        if let m = macsCache[config] { return m }
        let m = try space.exitMACs(supernet, config).last ?? 0
        macsCache[config] = m
        return m
    }

    /// Every exit's logits of `config` on `images` with weights `weights`, in `mode`.
    func exitLogits(_ config: SupernetConfiguration, _ images: Tensor, weights: [String: Tensor], mode: TrainableGraph.Mode,
                    rng: inout TrainingRNG) throws -> (net: TrainableGraph, tape: Tape, exits: [Tensor]) {
        let net = try network(config)
        net.parameters = weights
        net.buffers = buffers
        let tape = try net.forward([input: images], mode: mode, rng: &rng)
        if mode == .training { buffers = net.buffers }
        let exits = try exitValues.map { name -> Tensor in
            let t = try net.value(name, on: tape)
            return Tensor(shape: [t.shape[0], t.count / max(1, t.shape[0])], scalars: t.scalars)
        }
        return (net, tape, exits)
    }

    /// Forward and backward of one configuration against `target`; adds its gradients into `sum`.
    /// Returns its loss and every exit's logits.
    @discardableResult
    public func accumulateGradients(_ config: SupernetConfiguration, _ batch: Batch, target: SupernetTarget,
                                    into sum: inout [String: Tensor], rng: inout TrainingRNG) throws -> (loss: Float, exits: [Tensor]) {
        let (net, tape, exits) = try exitLogits(config, batch.images, weights: parameters, mode: .training, rng: &rng)
        let l = try SupernetLosses.exitLosses(exits, labels: batch.labels, target: target, smoothing: options.training.labelSmoothing,
                                              temperature: options.temperature)
        var outputGradients: [String: Tensor] = [:]
        for (name, g) in zip(exitValues, l.gradients) {
            let shape = try net.value(name, on: tape).shape
            outputGradients[name] = Tensor(shape: shape, scalars: g.scalars)
        }
        let grads = try net.backward(tape, outputGradients: outputGradients)
        for (name, g) in grads {
            var slot = sum[name]
            sum[name] = nil
            accumulate(&slot, g)
            sum[name] = slot
        }
        return (l.loss, exits)
    }

    /// The sampler's view of the trainer on one batch. A candidate's minibatch loss is its last
    /// exit's on the batch's own statistics, as AttentiveNAS scores candidates (the model in train
    /// mode, dropout off, under no_grad): the shared running statistics describe no configuration.
    public func samplerContext(_ batch: Batch, progress: Double) -> SamplerContext {
        SamplerContext(space: space, macs: { [unowned self] in try self.macs($0) }, minibatchLoss: { [unowned self] c in
            var r = TrainingRNG(seed: 0)
            let exits = try self.exitLogits(c, batch.images, weights: self.parameters, mode: .batchStatistics, rng: &r).exits
            guard let last = exits.last else { return .infinity }
            return try Losses.softmaxCrossEntropy(logits: last, labels: batch.labels).loss
        }, progress: progress)
    }

    /// One sandwich step: returns the largest configuration's loss and last-exit correct count.
    public func step(_ batch: Batch, learningRate: Float, progress: Double, rng: inout TrainingRNG) throws -> (loss: Float, correct: Int) {
        let context = samplerContext(batch, progress: progress)
        let sampled = try sampler.sample(options.samples, context: context, rng: &rng)
        let largest = space.largest, smallest = space.smallest
        var grads: [String: Tensor] = [:]
        var teacherOfSampled: Tensor?, teacherOfSmallest: Tensor?, teacherOfLargestExits: Tensor?
        if options.distillation == .ieb {
            // DS-Net's EMA teacher runs without dropout or statistics updates (timm's ModelEma keeps
            // it in eval mode), and each of its widths reads BatchNorm statistics of its own
            // (DSBatchNorm2d keeps one set per width). Here one set of running statistics serves
            // every configuration and describes none of them, so each configuration's own
            // statistics are this batch's: `.batchStatistics`.
            var r = TrainingRNG(seed: 0)
            guard let big = try exitLogits(largest, batch.images, weights: ema, mode: .batchStatistics, rng: &r).exits.last else {
                throw RuntimeError("the supernet has no exit")
            }
            var members = [big]
            for c in sampled {
                if let t = try exitLogits(c, batch.images, weights: ema, mode: .batchStatistics, rng: &r).exits.last { members.append(t) }
            }
            teacherOfSampled = big
            teacherOfLargestExits = big
            teacherOfSmallest = SupernetLosses.ensemble(members)
        }
        let largestTarget: SupernetTarget
        if options.labelsAtEveryExit {
            largestTarget = .labels
        } else if let t = teacherOfLargestExits {
            largestTarget = .labelsAtLastExit(teacher: t)
        } else {
            // In-place: the last exit's own logits of this training-mode pass, detached. (A separate
            // inference-mode pass would read the running statistics, which before recalibration
            // describe the static network, not this configuration: a poor teacher.)
            largestTarget = .labelsAtLastExit(teacher: nil)
        }
        let top = try accumulateGradients(largest, batch, target: largestTarget, into: &grads, rng: &rng)
        guard let topLast = top.exits.last else { throw RuntimeError("the supernet has no exit") }
        let inplaceTeacher = topLast  // a copy of the values: detached
        let smallTarget = SupernetTarget.distill(teacher: teacherOfSmallest ?? inplaceTeacher)
        // A space of one configuration (fine-tuning a chosen one alone) trains it once per step.
        if smallest != largest { try accumulateGradients(smallest, batch, target: smallTarget, into: &grads, rng: &rng) }
        for c in sampled {
            let r = try accumulateGradients(c, batch, target: .distill(teacher: teacherOfSampled ?? inplaceTeacher), into: &grads, rng: &rng)
            try sampler.observe(c, loss: r.loss, context: context)
        }
        optimizer.step(&parameters, gradients: grads, lr: learningRate)
        if options.distillation == .ieb {
            let d = emaDecay(atStep: stepsDone)
            for (name, p) in parameters {
                guard var e = ema[name], e.count == p.count else { continue }
                ema[name] = nil
                for i in e.scalars.indices { e.scalars[i] = d * e.scalars[i] + (1 - d) * p.scalars[i] }
                ema[name] = e
            }
        }
        stepsDone += 1
        return (top.loss, Losses.correctCount(logits: topLast, labels: batch.labels))
    }

    /// The EMA decay of update `step` (0-based): `options.emaDecay`, or with `emaWarmup`
    /// min(decay, (1 + step) / (10 + step)), TensorFlow's `ExponentialMovingAverage(num_updates:)`.
    /// DS-Net's 0.997 is a lag of about 330 steps, a fraction of one of its ImageNet epochs
    /// (thousands of steps at batch 64 a GPU); on a short run (31 steps an epoch on 2000 images)
    /// the teacher would stay near the untrained split for ten epochs. The ramp lets it follow the
    /// weights early and reaches 0.997 after about 3000 steps.
    public func emaDecay(atStep step: Int) -> Float {
        guard options.emaWarmup else { return options.emaDecay }
        return min(options.emaDecay, Float(1 + step) / Float(10 + step))
    }

    /// The supernet with the current weights and running statistics.
    public func trainedSupernet() throws -> Graph {
        var g = supernet
        for (name, t) in parameters.sorted(by: { $0.key < $1.key }) { try g.replaceConstant(name, with: t) }
        for (name, t) in buffers.sorted(by: { $0.key < $1.key }) { try g.replaceConstant(name, with: t) }
        return g
    }
}

extension SupernetTrainer: EpochTrainer {
    public var trainingConfiguration: TrainingConfiguration { options.training }
    public var epochSeedSalt: UInt64 { 0x5CE7 }

    public func trainingStep(_ batch: Batch, learningRate: Float, progress: Double, rng: inout TrainingRNG) throws -> (loss: Float, correct: Int) {
        try step(batch, learningRate: learningRate, progress: progress, rng: &rng)
    }

    public func saveCheckpoint(to path: String) throws { try SupernetCheckpoint.save(self, to: path) }
    public func loadCheckpoint(from path: String) throws { try SupernetCheckpoint.load(path, into: self) }
}
