// EpochLoop: the one epoch loop and fit loop (seeded batches, schedule, stopping, checkpoints) every trainer shares.
import Dispatch
import IR

/// A trainer that the shared loop drives one optimizer step at a time. The loop owns what every
/// training run needs the same way: the seeded shuffle and augmentation of each epoch, the
/// learning-rate schedule over the whole run, running means, stopping between steps, and (in
/// `runEpochs`) resuming from and writing the checkpoint after every epoch. `Trainer` (one graph
/// on labels) and `SupernetTrainer` (the sandwich rule) only say what one step is.
public protocol EpochTrainer: AnyObject {
    /// The run's hyperparameters (epochs, batch size, schedule, preprocessing, seed).
    var trainingConfiguration: TrainingConfiguration { get }
    /// Completed epochs.
    var epochsDone: Int { get set }
    /// Optimizer steps taken.
    var stepsDone: Int { get }
    /// Mixed into the seed of every epoch's generator, so two kinds of trainer with one seed do
    /// not draw the same stream.
    var epochSeedSalt: UInt64 { get }
    /// One optimizer step on `batch`; `progress` is the fraction of the run done. Returns the
    /// (mean loss, correct count) reported for the step.
    func trainingStep(_ batch: Batch, learningRate: Float, progress: Double, rng: inout TrainingRNG) throws -> (loss: Float, correct: Int)
    /// The batch of `indices` (a trainer may time it).
    func makeBatch(_ data: Dataset, _ indices: [Int], rng: inout TrainingRNG) -> Batch
    /// Writes the whole state atomically.
    func saveCheckpoint(to path: String) throws
    /// Restores the whole state.
    func loadCheckpoint(from path: String) throws
}

extension EpochTrainer {
    public func makeBatch(_ data: Dataset, _ indices: [Int], rng: inout TrainingRNG) -> Batch {
        data.batch(indices, trainingConfiguration.preprocessing, rng: &rng)
    }

    /// Steps per epoch for a training set of `count` images (the last partial batch is dropped).
    public func stepsPerEpoch(_ count: Int) -> Int { max(1, count / trainingConfiguration.batchSize) }

    /// The generator of epoch `epoch`: a function of (seed, epoch) only, so a run resumed after
    /// epoch k continues exactly as the uninterrupted run would.
    func epochRNG(_ epoch: Int) -> TrainingRNG {
        TrainingRNG(seed: trainingConfiguration.seed &+ UInt64(epoch) &* 0x9E37_79B9_7F4A_7C15 &+ epochSeedSalt)
    }

    /// Trains epoch `epochsDone` on `data`. Returns nil, leaving `epochsDone` unchanged, when
    /// `shouldStop` turns true between steps (the weights are then mid-epoch: do not save them).
    public func trainEpoch(_ data: Dataset, progress: (StepReport) -> Void = { _ in },
                           shouldStop: () -> Bool = { false }) throws -> EpochReport? {
        let t = trainingConfiguration
        var rng = epochRNG(epochsDone)
        let batches = data.epochOrder(batchSize: t.batchSize, shuffle: true, dropLast: true, rng: &rng)
        let total = stepsPerEpoch(data.count) * t.epochs
        let start = DispatchTime.now().uptimeNanoseconds
        var lossSum = 0.0, correct = 0, seen = 0
        for (i, indices) in batches.enumerated() {
            if shouldStop() { return nil }
            let batch = makeBatch(data, indices, rng: &rng)
            let lr = t.schedule.rate(step: stepsDone, totalSteps: total)
            let r = try trainingStep(batch, learningRate: lr, progress: Double(stepsDone) / Double(max(1, total)), rng: &rng)
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

    /// The whole run: resumes from `options.checkpoint` when asked (`resumed` gets the epochs it
    /// holds), then trains until `trainingConfiguration.epochs` epochs are done, writing the
    /// checkpoint after each and then calling `epochDone` (where a caller evaluates held-out
    /// data). Stops between steps when `options.shouldStop` turns true.
    public func runEpochs(_ train: Dataset, options: FitOptions, resumed: (Int) -> Void = { _ in },
                          step: (StepReport) -> Void = { _ in },
                          epochDone: (EpochReport) throws -> Void = { _ in }) throws -> FitOutcome {
        if options.resume {
            try loadCheckpoint(from: options.checkpoint)
            resumed(epochsDone)
        }
        while epochsDone < trainingConfiguration.epochs {
            guard let report = try trainEpoch(train, progress: step, shouldStop: options.shouldStop) else {
                return .stopped(epochsDone: epochsDone)
            }
            try saveCheckpoint(to: options.checkpoint)
            try epochDone(report)
        }
        return .finished
    }
}
