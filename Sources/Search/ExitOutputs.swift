// ExitOutputs: what one candidate evaluation yields (every exit's confidences and predictions) and its scoring.

/// Every exit's result on the validation split for one configuration, from one pass over it.
public struct ExitOutputs: Equatable, Sendable {
    /// `confidences[s][i]`: max softmax of exit s (0-based) on sample i.
    public var confidences: [[Double]]
    /// `predictions[s][i]`: top-1 class of exit s on sample i.
    public var predictions: [[Int]]
    /// `cumulativeMACs[s]`: what a sample leaving at exit s cost (stages 1...s+1 and its head).
    public var cumulativeMACs: [Double]

    public init(confidences: [[Double]], predictions: [[Int]], cumulativeMACs: [Double]) {
        self.confidences = confidences
        self.predictions = predictions
        self.cumulativeMACs = cumulativeMACs
    }

    /// The number of exits.
    public var exits: Int { cumulativeMACs.count }
    /// The number of validation samples.
    public var samples: Int { confidences.first?.count ?? 0 }

    /// Per-exit correctness against `truth` (labels, or the reference model's top-1 in unlabeled
    /// mode: the comparison is the same, only where the vector comes from differs). Throws on
    /// inconsistent shapes or non-finite values.
    public func scored(against truth: [Int]) throws -> ExitScores {
        let s = exits
        guard s >= 1 else { throw SearchError("evaluation returned no exit") }
        guard confidences.count == s, predictions.count == s else {
            throw SearchError("evaluation returned \(confidences.count) confidence and \(predictions.count) "
                              + "prediction rows for \(s) exits")
        }
        let n = truth.count
        for e in 0..<s {
            guard confidences[e].count == n, predictions[e].count == n else {
                throw SearchError("exit \(e + 1): \(confidences[e].count) confidences and \(predictions[e].count) "
                                  + "predictions for \(n) validation samples")
            }
            if let bad = confidences[e].firstIndex(where: { !$0.isFinite }) {
                throw SearchError("exit \(e + 1): confidence of sample \(bad) is \(confidences[e][bad])")
            }
            guard cumulativeMACs[e].isFinite, cumulativeMACs[e] >= 0 else {
                throw SearchError("exit \(e + 1): cumulative MACs \(cumulativeMACs[e])")
            }
        }
        let correct = (0..<s).map { e in zip(predictions[e], truth).map { $0 == $1 } }
        return try ExitScores(confidences: confidences, correct: correct, cumulativeMACs: cumulativeMACs)
    }
}

/// What threshold calibration reads: per exit and sample, confidence and correctness; per exit,
/// cumulative MACs.
public struct ExitScores: Equatable, Sendable {
    public let confidences: [[Double]]
    public let correct: [[Bool]]
    public let cumulativeMACs: [Double]

    /// Checks that every row has one entry per sample.
    public init(confidences: [[Double]], correct: [[Bool]], cumulativeMACs: [Double]) throws {
        let s = cumulativeMACs.count
        guard s >= 1, confidences.count == s, correct.count == s else {
            throw SearchError("exit scores: \(confidences.count) confidence rows, \(correct.count) correctness rows, \(s) exits")
        }
        let n = confidences[0].count
        guard n >= 1 else { throw SearchError("exit scores: no validation sample") }
        for e in 0..<s where confidences[e].count != n || correct[e].count != n {
            throw SearchError("exit \(e + 1): \(confidences[e].count) confidences, \(correct[e].count) correctness flags, expected \(n)")
        }
        self.confidences = confidences
        self.correct = correct
        self.cumulativeMACs = cumulativeMACs
    }

    public var exits: Int { cumulativeMACs.count }
    public var samples: Int { confidences[0].count }

    /// Accuracy and expected MACs per sample at thresholds τ₁…τ_{S−1}: a sample leaves at the
    /// first exit s with confidence ≥ τₛ; the last exit always answers.
    public func outcome(thresholds: [Double]) -> (accuracy: Double, expectedMACs: Double) {
        var right = 0
        var macs = 0.0
        for i in 0..<samples {
            var e = exits - 1
            for s in 0..<(exits - 1) where confidences[s][i] >= thresholds[s] {
                e = s
                break
            }
            if correct[e][i] { right += 1 }
            macs += cumulativeMACs[e]
        }
        return (Double(right) / Double(samples), macs / Double(samples))
    }
}
