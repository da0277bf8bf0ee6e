// Trainer: the epoch loop: seeded batches, forward, loss, backward, SGD step under a schedule.
import Dispatch
import IR

/// Hyperparameters of a supervised training run.
public struct TrainingConfiguration: Sendable, Equatable {
    public var epochs: Int
    public var batchSize: Int
    public var schedule: LearningRateSchedule
    public var momentum: Float
    public var nesterov: Bool
    public var weightDecay: Float
    public var labelSmoothing: Float
    public var preprocessing: Preprocessing
    public var seed: UInt64

    public init(epochs: Int = 1, batchSize: Int = 128, schedule: LearningRateSchedule = .cosine(base: 0.05, minimum: 0, warmupSteps: 0),
                momentum: Float = 0.9, nesterov: Bool = true, weightDecay: Float = 5e-4, labelSmoothing: Float = 0,
                preprocessing: Preprocessing = .init(), seed: UInt64 = 0) {
        self.epochs = epochs
        self.batchSize = batchSize
        self.schedule = schedule
        self.momentum = momentum
        self.nesterov = nesterov
        self.weightDecay = weightDecay
        self.labelSmoothing = labelSmoothing
        self.preprocessing = preprocessing
        self.seed = seed
    }
}

/// Progress within an epoch, reported after every step.
public struct StepReport: Sendable {
    public var epoch: Int, step: Int, stepsInEpoch: Int
    /// Running means over the epoch so far.
    public var loss: Float, accuracy: Float
    public var imagesPerSecond: Double
    public var learningRate: Float
}

/// What one epoch did.
public struct EpochReport: Sendable {
    public var epoch: Int
    public var loss: Float, accuracy: Float
    public var seconds: Double
    public var images: Int
}

/// Trains a `TrainableGraph` whose first input takes images and whose first output gives logits.
///
/// Every epoch draws its shuffle and augmentation from a generator seeded by (seed, epoch), so a
/// run resumed from a checkpoint after epoch k continues exactly as the uninterrupted run would.
public final class Trainer {
    public let network: TrainableGraph
    public var optimizer: SGD
    public let configuration: TrainingConfiguration
    /// Completed epochs.
    public var epochsDone = 0
    /// Optimizer steps taken.
    public var stepsDone = 0

    public init(network: TrainableGraph, configuration: TrainingConfiguration) throws {
        guard network.graph.inputs.count == 1, let _ = network.graph.outputs.first else {
            throw RuntimeError("training needs a model with one input (images) and logits as its first output")
        }
        self.network = network
        self.configuration = configuration
        self.optimizer = SGD(momentum: configuration.momentum, nesterov: configuration.nesterov,
                             weightDecay: configuration.weightDecay)
    }

    /// Steps per epoch for a training set of `count` images (the last partial batch is dropped).
    public func stepsPerEpoch(_ count: Int) -> Int { max(1, count / configuration.batchSize) }

    /// The generator of epoch `epoch`.
    func epochRNG(_ epoch: Int) -> TrainingRNG {
        TrainingRNG(seed: configuration.seed &+ UInt64(epoch) &* 0x9E37_79B9_7F4A_7C15)
    }

    /// One optimizer step on a batch; returns (mean loss, correct count).
    public func step(_ batch: Batch, learningRate: Float, rng: inout TrainingRNG) throws -> (loss: Float, correct: Int) {
        let input = network.graph.inputs[0].name, output = network.graph.outputs[0]
        let tape = try network.forward([input: batch.images], mode: .training, rng: &rng)
        let logits = try network.value(output, on: tape)
        let profile = network.profile
        let loss = try profile?.time("loss") {
            try Losses.softmaxCrossEntropy(logits: logits, labels: batch.labels, smoothing: configuration.labelSmoothing)
        } ?? Losses.softmaxCrossEntropy(logits: logits, labels: batch.labels, smoothing: configuration.labelSmoothing)
        let grads = try network.backward(tape, outputGradients: [output: loss.gradient])
        if let profile {
            profile.time("sgd") { optimizer.step(&network.parameters, gradients: grads, lr: learningRate) }
            profile.steps += 1
        } else {
            optimizer.step(&network.parameters, gradients: grads, lr: learningRate)
        }
        stepsDone += 1
        return (loss.loss, Losses.correctCount(logits: logits, labels: batch.labels))
    }

    /// Trains epoch `epochsDone` on `data`. Returns nil, leaving `epochsDone` unchanged, when
    /// `shouldStop` turns true between steps (the weights are then mid-epoch: do not save them).
    public func trainEpoch(_ data: Dataset, progress: (StepReport) -> Void = { _ in },
                           shouldStop: () -> Bool = { false }) throws -> EpochReport? {
        var rng = epochRNG(epochsDone)
        let batches = data.epochOrder(batchSize: configuration.batchSize, shuffle: true, dropLast: true, rng: &rng)
        let total = stepsPerEpoch(data.count) * configuration.epochs
        let start = DispatchTime.now().uptimeNanoseconds
        var lossSum = 0.0, correct = 0, seen = 0
        for (i, indices) in batches.enumerated() {
            if shouldStop() { return nil }
            let batch = network.profile?.time("data") { data.batch(indices, configuration.preprocessing, rng: &rng) }
                ?? data.batch(indices, configuration.preprocessing, rng: &rng)
            let lr = configuration.schedule.rate(step: stepsDone, totalSteps: total)
            let r = try step(batch, learningRate: lr, rng: &rng)
            guard r.loss.isFinite else {
                throw RuntimeError("the loss became \(r.loss) at epoch \(epochsDone + 1), step \(i + 1): lower the learning rate")
            }
            lossSum += Double(r.loss) * Double(indices.count)
            correct += r.correct
            seen += indices.count
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            progress(StepReport(epoch: epochsDone, step: i + 1, stepsInEpoch: batches.count, loss: Float(lossSum / Double(seen)),
                                accuracy: Float(correct) / Float(seen), imagesPerSecond: Double(seen) / max(seconds, 1e-9),
                                learningRate: lr))
        }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        epochsDone += 1
        return EpochReport(epoch: epochsDone, loss: Float(lossSum / Double(max(1, seen))),
                           accuracy: Float(correct) / Float(max(1, seen)), seconds: seconds, images: seen)
    }
}
