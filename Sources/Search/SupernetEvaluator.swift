// SupernetEvaluator: the CandidateEvaluator over a trained supernet (decisions -> boundaries, BN recalibration, every exit).
import IR
import Runtime

/// Evaluates search candidates on a supernet. The search space has, for every variable class of
/// `SupernetSpace`, S − 1 boundary decisions whose choice v is the index into that class's
/// candidate boundaries (its `flops-bins` bins, or its channel counts); strictly increasing bin
/// indices are strictly increasing boundaries, and the last boundary is always the class's width.
/// Reuse flags are not decisions: a supernet fixes them (changing one changes which blocks exist,
/// which needs `split-stages` from the static graph), so every configuration keeps the supernet's.
public struct SupernetEvaluator: CandidateEvaluator {
    public let supernet: Graph
    public let space: SupernetSpace
    /// The search's view of `space`: one boundary decision per variable class and stage.
    public let searchSpace: SearchSpace
    public let validation: Dataset
    public let preprocessing: Preprocessing
    /// Images BatchNormalization statistics are recalibrated on for each candidate (nil: the
    /// supernet's running statistics are used as they are).
    public let calibration: Dataset?
    public let calibrationImages: Int
    public let batchSize: Int
    /// The static model whose top-1 an unlabeled search agrees with; nil: the supernet's widest
    /// configuration's last exit stands in for it.
    public let reference: Graph?

    public init(supernet: Graph, space: SupernetSpace, validation: Dataset, preprocessing: Preprocessing = Preprocessing(),
                calibration: Dataset? = nil, calibrationImages: Int = 2000, batchSize: Int = 256,
                reference: Graph? = nil) throws {
        self.supernet = supernet
        self.space = space
        var decisions: [Decision] = []
        for c in space.choices {
            for stage in 1..<space.info.stageCount {
                decisions.append(.boundary(classID: c.name, stage: stage, bins: c.candidates.count))
            }
        }
        guard !decisions.isEmpty else {
            throw SearchError("the supernet has no variable class to search (mark classes with make-sliceable or flops-bins, "
                              + "or split into more than one stage)")
        }
        self.searchSpace = try SearchSpace(decisions: decisions)
        self.validation = validation
        self.preprocessing = preprocessing
        self.calibration = calibration
        self.calibrationImages = calibrationImages
        self.batchSize = batchSize
        self.reference = reference
    }

    /// The supernet configuration an encoding of `searchSpace` stands for.
    public func configuration(_ encoding: [Int]) throws -> SupernetConfiguration {
        try searchSpace.validate(encoding)
        var i = 0
        return space.configuration { c in
            defer { i += space.info.stageCount - 1 }
            return encoding[i..<(i + space.info.stageCount - 1)].map { c.candidates[$0] }
        }
    }

    /// The supernet configuration a search's chosen record describes (its bin indices by class).
    public func configuration(_ record: ConfigurationRecord) throws -> SupernetConfiguration {
        try configuration(try record.encoding(in: searchSpace))
    }

    /// The supernet evaluated under `encoding`'s configuration (recalibrated first when
    /// `calibration` is set): every exit's logits, confidences, correctness and MACs.
    public func evaluation(_ encoding: [Int]) throws -> ConfigurationEvaluation {
        do {
            return try SupernetEvaluation.evaluate(supernet, space: space, configuration: try configuration(encoding), on: validation,
                                                   preprocessing: preprocessing, batchSize: batchSize, calibration: calibration,
                                                   calibrationImages: calibrationImages)
        } catch let e as RuntimeError {
            throw SearchError("configuration \(encoding): \(e)")
        }
    }

    public func evaluate(_ configuration: [Int]) throws -> ExitOutputs {
        let r = try evaluation(configuration)
        return ExitOutputs(confidences: r.confidences.map { $0.map(Double.init) }, predictions: r.predictions,
                           cumulativeMACs: r.cumulativeMACs.map(Double.init))
    }

    public func labels() throws -> [Int] { validation.labels }

    public func referencePredictions() throws -> [Int] {
        guard let reference else {
            let widest = try SupernetEvaluation.evaluate(supernet, space: space, configuration: space.largest, on: validation,
                                                         preprocessing: preprocessing, batchSize: batchSize,
                                                         calibration: calibration, calibrationImages: calibrationImages)
            return widest.predictions.last ?? []
        }
        guard let input = reference.inputs.first, let output = reference.outputs.first else {
            throw SearchError("the reference model needs one input and logits as its first output")
        }
        let interpreter = try Interpreter(graph: reference)
        var rng = TrainingRNG(seed: 0)  // unused: evaluation batches do not augment
        var out: [Int] = []
        for indices in validation.epochOrder(batchSize: batchSize, shuffle: false, dropLast: false, rng: &rng) {
            let batch = validation.batch(indices, preprocessing.evaluation, rng: &rng)
            guard let y = try interpreter.run([input.name: batch.images])[output] else {
                throw SearchError("the reference model did not compute its output '\(output)'")
            }
            let c = y.count / max(1, indices.count)
            for i in 0..<indices.count {
                var best = 0
                for j in 1..<max(1, c) where y.scalars[i * c + j] > y.scalars[i * c + best] { best = j }
                out.append(best)
            }
        }
        return out
    }

    /// The static model's MACs per sample (the budget's denominator): the reference's when given,
    /// else the one `split-stages` recorded, else the widest configuration's last exit.
    public func staticMACs() throws -> Double {
        if let reference { return Double(try CostModel.report(reference).totals.macs) }
        if space.info.staticMACs > 0 { return Double(space.info.staticMACs) }
        return Double(try space.exitMACs(supernet, space.largest).last ?? 0)
    }
}
