// SearchDriver: runs a strategy against an evaluator with calibration, progress, checkpoints and resume.
import Foundation
import IR

/// What the search evaluates candidates with: the supernet adapter implements it (BN
/// recalibration for the configuration + one pass over the validation split giving every exit).
public protocol CandidateEvaluator {
    /// Every exit's confidences and predictions on the validation split for `configuration` (an
    /// encoding of the driver's space), and each exit's cumulative MACs.
    func evaluate(_ configuration: [Int]) throws -> ExitOutputs
    /// The validation labels (read only by a labeled search).
    func labels() throws -> [Int]
    /// The static model's top-1 class on the same validation images (read only by an unlabeled
    /// search, which scores agreement with it, as UnNAS).
    func referencePredictions() throws -> [Int]
}

/// How a search runs: what it searches, how it scores, how long, and where it keeps its state.
public struct SearchSettings {
    public var space: SearchSpace
    /// The strategy text, e.g. `evolution{population=32}` (parsed by `SearchStrategyRegistry`).
    public var strategy: String
    /// `hard` or `soft{w=-0.07}`.
    public var reward: String
    /// The MAC budget as a fraction of `staticMACs`.
    public var budget: Double
    public var staticMACs: Double
    /// Distinct configurations to evaluate.
    public var evaluations: Int
    public var seed: UInt64
    /// Score by agreement with the static model's top-1 instead of labels.
    public var unlabeled: Bool
    /// The checkpoint file, rewritten atomically after every evaluation (nil: none).
    public var checkpoint: String?
    /// How many proposals (repeats included) the driver accepts per evaluation before it stops.
    public var proposalsPerEvaluation: Int = 20

    public init(space: SearchSpace, strategy: String = "random", reward: String = "hard", budget: Double,
                staticMACs: Double, evaluations: Int, seed: UInt64 = 0, unlabeled: Bool = false,
                checkpoint: String? = nil) {
        self.space = space
        self.strategy = strategy
        self.reward = reward
        self.budget = budget
        self.staticMACs = staticMACs
        self.evaluations = evaluations
        self.seed = seed
        self.unlabeled = unlabeled
        self.checkpoint = checkpoint
    }
}

/// One evaluated configuration and its calibration.
public struct EvaluationRecord: Codable, Equatable, Sendable {
    public var encoding: [Int]
    public var thresholds: [Double]
    public var accuracy: Double
    public var expectedMACs: Double
    public var exitFractions: [Double]
    public var feasible: Bool
    public var exact: Bool
    /// What the strategy observed (the reward's score).
    public var score: Double
}

/// Progress after each evaluation, for a progress bar.
public struct SearchProgress: Sendable {
    /// Distinct configurations evaluated (including those restored from a checkpoint).
    public var done: Int
    public var total: Int
    /// The best accuracy meeting the budget so far (the best soft reward's accuracy with `soft`).
    public var bestAccuracy: Double?
    /// Seconds left at this run's rate, or nil before the first timed evaluation.
    public var eta: Double?
}

/// The search's output (`search.json`): settings, every evaluation in order, the Pareto front
/// (indices into `evaluations`, by increasing MACs) and the chosen configuration.
public struct SearchResult: Codable, Equatable, Sendable {
    public var strategy: String
    public var reward: String
    public var budget: Double
    public var staticMACs: Double
    public var seed: UInt64
    public var unlabeled: Bool
    public var evaluationBudget: Int
    public var space: SearchSpace
    public var evaluations: [EvaluationRecord]
    public var front: [Int]
    /// The best-scoring evaluation (ties: fewer MACs, then earlier), as a configuration file.
    public var best: ConfigurationRecord?
    /// Proposals the strategy made, repeats included.
    public var proposals: Int
    /// True when the strategy stopped proposing (converged) or the space was exhausted before
    /// the evaluation budget.
    public var stoppedEarly: Bool

    /// Pretty, key-sorted JSON.
    public func jsonData() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return try encoder.encode(self)
    }

    /// Writes the JSON to `path` through a temporary file and a rename.
    public func write(to path: String) throws {
        try writeAtomically(try jsonData(), to: path)
    }
}

/// Thrown by `SearchDriver.run` when `shouldStop` turned true between evaluations; the checkpoint
/// holds the `evaluationsDone` evaluations, and a run with `resume` continues from there.
public struct SearchStopped: Error, Equatable, CustomStringConvertible {
    public var evaluationsDone: Int
    public var description: String { "the search was stopped after \(evaluationsDone) evaluations" }
}

/// Runs a search. Same settings and seed give the same result; with `resume`, a checkpoint's
/// evaluations are replayed into a fresh strategy (never re-evaluated) and the search continues,
/// ending where an uninterrupted run would.
public struct SearchDriver {
    public let settings: SearchSettings
    public let calibrator: ThresholdCalibrator

    public init(settings: SearchSettings, calibrator: ThresholdCalibrator = ThresholdCalibrator()) {
        self.settings = settings
        self.calibrator = calibrator
    }

    public func run<E: CandidateEvaluator>(_ evaluator: E, resume: Bool = false,
                                            registry: SearchStrategyRegistry = .shared,
                                            progress: (SearchProgress) -> Void = { _ in },
                                            shouldStop: () -> Bool = { false }) throws -> SearchResult {
        let s = settings
        guard s.budget > 0, s.budget.isFinite else { throw SearchError("budget must be positive, got \(s.budget)") }
        guard s.staticMACs > 0, s.staticMACs.isFinite else { throw SearchError("static MACs must be positive, got \(s.staticMACs)") }
        guard s.evaluations >= 1 else { throw SearchError("evaluations must be at least 1, got \(s.evaluations)") }
        let configured = try registry.parse(s.strategy)
        let reward = try Reward.parse(s.reward, target: s.budget * s.staticMACs)
        var result = SearchResult(strategy: configured.text, reward: reward.description, budget: s.budget,
                                  staticMACs: s.staticMACs, seed: s.seed, unlabeled: s.unlabeled,
                                  evaluationBudget: s.evaluations, space: s.space, evaluations: [], front: [],
                                  best: nil, proposals: 0, stoppedEarly: false)
        var restored: [EvaluationRecord] = []
        if resume, let path = s.checkpoint, FileManager.default.fileExists(atPath: path) {
            restored = try Self.readCheckpoint(path, matching: result)
        }
        var cache: [[Int]: EvaluationRecord] = [:]
        for r in restored { cache[r.encoding] = r }
        // The truth vector is read once: labels, or (unlabeled) the static model's top-1.
        var truth: [Int]?
        func scoresOf(_ c: [Int]) throws -> EvaluationRecord {
            if truth == nil { truth = s.unlabeled ? try evaluator.referencePredictions() : try evaluator.labels() }
            let scores = try evaluator.evaluate(c).scored(against: truth ?? [])
            let cal = calibrator.calibrate(scores, reward: reward)
            return EvaluationRecord(encoding: c, thresholds: cal.thresholds, accuracy: cal.accuracy,
                                    expectedMACs: cal.expectedMACs, exitFractions: cal.exitFractions,
                                    feasible: cal.feasible, exact: cal.exact,
                                    score: reward.score(accuracy: cal.accuracy, macs: cal.expectedMACs))
        }

        var strategy = try configured.instantiate(space: s.space, seed: s.seed)
        var seen: [[Int]: EvaluationRecord] = [:]
        let spaceSize = s.space.size
        let started = Date()
        var timed = 0
        let proposalCap = s.evaluations * max(1, s.proposalsPerEvaluation)
        while result.evaluations.count < s.evaluations {
            // Between evaluations the checkpoint holds every one done: a stop there loses nothing.
            if shouldStop() { throw SearchStopped(evaluationsDone: result.evaluations.count) }
            if Double(result.evaluations.count) >= spaceSize || result.proposals >= proposalCap {
                result.stoppedEarly = true
                break
            }
            guard let c = strategy.propose() else {
                result.stoppedEarly = true
                break
            }
            result.proposals += 1
            if let why = s.space.illegality(c) {
                throw SearchError("strategy '\(configured.name)' proposed an illegal configuration: \(why)")
            }
            if let r = seen[c] {
                strategy.observe(c, score: r.score)
                continue
            }
            let index = result.evaluations.count
            let record: EvaluationRecord
            if let r = cache[c] {
                guard index < restored.count, restored[index].encoding == c else {
                    throw SearchError("checkpoint \(s.checkpoint ?? ""): its evaluations do not replay under these "
                                      + "settings (evaluation \(index + 1) differs); remove it or drop --resume")
                }
                record = r
            } else {
                if index < restored.count {
                    throw SearchError("checkpoint \(s.checkpoint ?? ""): its evaluations do not replay under these "
                                      + "settings (evaluation \(index + 1) differs); remove it or drop --resume")
                }
                record = try scoresOf(c)
                timed += 1
            }
            seen[c] = record
            result.evaluations.append(record)
            strategy.observe(c, score: record.score)
            if index >= restored.count, let path = s.checkpoint {
                try Self.writeCheckpoint(result, to: path)
            }
            let elapsed = Date().timeIntervalSince(started)
            let left = s.evaluations - result.evaluations.count
            progress(SearchProgress(done: result.evaluations.count, total: s.evaluations,
                                    bestAccuracy: Self.bestIndex(result.evaluations).map { result.evaluations[$0] }
                                        .flatMap { $0.feasible ? $0.accuracy : nil },
                                    eta: timed > 0 ? elapsed / Double(timed) * Double(left) : nil))
        }
        result.front = paretoFront(result.evaluations.map { ($0.accuracy, $0.expectedMACs) })
        if let b = Self.bestIndex(result.evaluations) {
            let r = result.evaluations[b]
            result.best = ConfigurationRecord(space: s.space, encoding: r.encoding, thresholds: r.thresholds,
                                              accuracy: r.accuracy, expectedMACs: r.expectedMACs, feasible: r.feasible)
        }
        return result
    }

    /// The best-scoring evaluation: highest score, then fewer MACs, then earliest.
    static func bestIndex(_ records: [EvaluationRecord]) -> Int? {
        var best: Int?
        for (i, r) in records.enumerated() {
            guard let b = best else { best = i; continue }
            let o = records[b]
            if r.score > o.score || (r.score == o.score && r.expectedMACs < o.expectedMACs) { best = i }
        }
        return best
    }

    /// The checkpoint is a partial `SearchResult` (settings and evaluations so far).
    static func writeCheckpoint(_ partial: SearchResult, to path: String) throws {
        try writeAtomically(try partial.jsonData(), to: path)
    }

    /// The evaluations of the checkpoint at `path`, after checking it was written by a search
    /// with the same settings as `current`.
    static func readCheckpoint(_ path: String, matching current: SearchResult) throws -> [EvaluationRecord] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw SearchError("checkpoint \(path): cannot be read")
        }
        let saved: SearchResult
        do {
            saved = try JSONDecoder().decode(SearchResult.self, from: data)
        } catch {
            throw SearchError("checkpoint \(path): not a search checkpoint (\(error))")
        }
        var mismatches: [String] = []
        if saved.strategy != current.strategy { mismatches.append("strategy \(saved.strategy) vs \(current.strategy)") }
        if saved.reward != current.reward { mismatches.append("reward \(saved.reward) vs \(current.reward)") }
        if saved.budget != current.budget { mismatches.append("budget \(saved.budget) vs \(current.budget)") }
        if saved.staticMACs != current.staticMACs { mismatches.append("static MACs") }
        if saved.seed != current.seed { mismatches.append("seed \(saved.seed) vs \(current.seed)") }
        if saved.unlabeled != current.unlabeled { mismatches.append("unlabeled") }
        if saved.space != current.space { mismatches.append("search space") }
        guard mismatches.isEmpty else {
            throw SearchError("checkpoint \(path) was written by a different search (\(mismatches.joined(separator: ", ")))")
        }
        return saved.evaluations
    }
}
