// SupernetFit: a whole supernet training run on the shared loop, with each exit of chosen configurations evaluated per epoch.
import IR

/// What `SupernetTrainer.fit` reports while it runs.
public enum SupernetFitEvent {
    /// The state was restored from the checkpoint, after this many epochs.
    case resumed(epochsDone: Int)
    /// A step finished.
    case step(StepReport)
    /// An epoch finished and was checkpointed; `heldOut` has each watched configuration's
    /// evaluation (every exit) on the held-out data, empty without held-out data.
    case epoch(EpochReport, heldOut: [(name: String, evaluation: ConfigurationEvaluation)])
}

extension SupernetTrainer {
    /// Trains until `options.training.epochs` epochs are done on the shared loop (`runEpochs`,
    /// as `Trainer.fit`): resume, a checkpoint after every epoch, stopping between steps. After
    /// each epoch every configuration in `watch` (default: the largest and the smallest) is
    /// evaluated on `options.heldOut`, its BatchNormalization statistics first recalibrated for it
    /// on the first `calibrationImages` training images (0: the running statistics as trained).
    /// Recalibrating is what makes the figure mean anything: the running statistics of a piece
    /// mix every configuration that was sampled (once-for-all and slimmable networks recalibrate
    /// before every evaluation for this reason; without it the largest configuration of the
    /// default model read 0.30 where it was 0.80).
    public func fit(_ train: Dataset, options: FitOptions, watch: [(name: String, configuration: SupernetConfiguration)]? = nil,
                    calibrationImages: Int = 2000,
                    events: (SupernetFitEvent) -> Void = { _ in }) throws -> FitOutcome {
        let watched = watch ?? [("largest", space.largest), ("smallest", space.smallest)]
        return try runEpochs(train, options: options, resumed: { events(.resumed(epochsDone: $0)) },
                             step: { events(.step($0)) }) { report in
            var heldOut: [(name: String, evaluation: ConfigurationEvaluation)] = []
            if let data = options.heldOut, data.count > 0 {
                let trained = try trainedSupernet()
                for (name, config) in watched {
                    heldOut.append((name, try SupernetEvaluation.evaluate(
                        trained, space: space, configuration: config, on: data,
                        preprocessing: self.options.training.preprocessing.evaluation,
                        calibration: calibrationImages > 0 ? train : nil, calibrationImages: calibrationImages)))
                }
            }
            events(.epoch(report, heldOut: heldOut))
        }
    }
}
