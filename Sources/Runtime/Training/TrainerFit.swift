// TrainerFit: the whole training run: resume, epochs, a checkpoint and an evaluation after each, stopping.
import Foundation
import IR

/// Where and how `Trainer.fit` keeps its state and measures progress.
public struct FitOptions {
    /// The checkpoint written (atomically) after every epoch.
    public var checkpoint: String
    /// Continue from `checkpoint` instead of from the start.
    public var resume: Bool
    /// Evaluated after every epoch when not empty.
    public var heldOut: Dataset?
    /// Checked between steps; when it turns true the run stops without saving mid-epoch weights.
    public var shouldStop: () -> Bool

    public init(checkpoint: String, resume: Bool = false, heldOut: Dataset? = nil, shouldStop: @escaping () -> Bool = { false }) {
        self.checkpoint = checkpoint
        self.resume = resume
        self.heldOut = heldOut
        self.shouldStop = shouldStop
    }
}

/// What `Trainer.fit` reports while it runs.
public enum FitEvent {
    /// The state was restored from the checkpoint, after this many epochs.
    case resumed(epochsDone: Int)
    /// A step finished.
    case step(StepReport)
    /// An epoch finished and was checkpointed; `heldOut` is its evaluation, when there is held-out data.
    case epoch(EpochReport, heldOut: EvaluationResult?)
}

/// How a `Trainer.fit` run ended.
public enum FitOutcome: Equatable {
    /// Every configured epoch is done.
    case finished
    /// `shouldStop` turned true; the checkpoint holds this many completed epochs (0: none was written).
    case stopped(epochsDone: Int)
}

extension Trainer {
    /// Trains until `configuration.epochs` epochs are done, saving a checkpoint and evaluating the
    /// held-out data after each (the shared `runEpochs` loop, which `SupernetTrainer.fit` runs too);
    /// callers only print the events.
    public func fit(_ train: Dataset, options: FitOptions, events: (FitEvent) -> Void = { _ in }) throws -> FitOutcome {
        try runEpochs(train, options: options, resumed: { events(.resumed(epochsDone: $0)) }, step: { events(.step($0)) }) { report in
            var heldOut: EvaluationResult?
            if let data = options.heldOut, data.count > 0 {
                heldOut = try Evaluation.evaluate(try network.exportGraph(), on: data,
                                                  preprocessing: configuration.preprocessing.evaluation)
            }
            events(.epoch(report, heldOut: heldOut))
        }
    }
}

/// Ctrl-C (SIGINT) and SIGTERM set a flag that a long run checks between steps, so that it stops
/// at a point where its files are consistent.
public enum StopRequest {
    nonisolated(unsafe) static var flag: sig_atomic_t = 0
    /// True once a stop was requested.
    public static var requested: Bool { flag != 0 }

    /// Installs the handlers (a second Ctrl-C still arrives as the flag, never kills mid-write).
    public static func install() {
        signal(SIGINT) { _ in StopRequest.flag = 1 }
        signal(SIGTERM) { _ in StopRequest.flag = 1 }
    }
}
