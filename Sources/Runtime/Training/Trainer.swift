// Trainer: the epoch loop: seeded batches, forward, loss, backward, SGD step under a schedule.
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
/// The epoch loop is the shared one (`EpochTrainer`, EpochLoop.swift): every epoch draws its shuffle
/// and augmentation from a generator seeded by (seed, epoch), so a run resumed from a checkpoint
/// after epoch k continues exactly as the uninterrupted run would.
public final class Trainer {
    public let network: TrainableGraph
    public var optimizer: SGD
    public let configuration: TrainingConfiguration
    /// Completed epochs.
    public var epochsDone = 0
    /// Optimizer steps taken.
    public var stepsDone = 0
    public init(network: TrainableGraph, configuration: TrainingConfiguration) throws {
        guard network.graph.inputs.count == 1, !network.graph.outputs.isEmpty else {
            throw RuntimeError("training needs a model with one input (images) and logits as its first output")
        }
        self.network = network
        self.configuration = configuration
        self.optimizer = SGD(momentum: configuration.momentum, nesterov: configuration.nesterov,
                             weightDecay: configuration.weightDecay)
    }

    /// One optimizer step on a batch; returns (mean loss, correct count).
    public func step(_ batch: Batch, learningRate: Float, rng: inout TrainingRNG) throws -> (loss: Float, correct: Int) {
        let input = network.graph.inputs[0].name
        let tape = try network.forward([input: batch.images], mode: .training, rng: &rng)
        let profile = network.profile
        let output = network.graph.outputs[0]
        let logits = try network.value(output, on: tape)
        let loss = try profile?.time("loss") {
            try Losses.softmaxCrossEntropy(logits: logits, labels: batch.labels, smoothing: configuration.labelSmoothing)
        } ?? Losses.softmaxCrossEntropy(logits: logits, labels: batch.labels, smoothing: configuration.labelSmoothing)
        let outputGradients = [output: loss.gradient]
        let grads = try network.backward(tape, outputGradients: outputGradients)
        if let profile {
            profile.time("sgd") { optimizer.step(&network.parameters, gradients: grads, lr: learningRate) }
            profile.steps += 1
        } else {
            optimizer.step(&network.parameters, gradients: grads, lr: learningRate)
        }
        stepsDone += 1
        return (loss.loss, Losses.correctCount(logits: logits, labels: batch.labels))
    }
}

extension Trainer: EpochTrainer {
    public var trainingConfiguration: TrainingConfiguration { configuration }
    public var epochSeedSalt: UInt64 { 0 }

    public func trainingStep(_ batch: Batch, learningRate: Float, progress: Double, rng: inout TrainingRNG) throws -> (loss: Float, correct: Int) {
        try step(batch, learningRate: learningRate, rng: &rng)
    }

    public func makeBatch(_ data: Dataset, _ indices: [Int], rng: inout TrainingRNG) -> Batch {
        network.profile?.time("data") { data.batch(indices, configuration.preprocessing, rng: &rng) }
            ?? data.batch(indices, configuration.preprocessing, rng: &rng)
    }

    public func saveCheckpoint(to path: String) throws { try Checkpoint.save(self, to: path) }
    public func loadCheckpoint(from path: String) throws { try Checkpoint.load(path, into: self) }
}
