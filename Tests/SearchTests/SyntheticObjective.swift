// SyntheticObjective: a search space with a known optimum, and evaluators for the driver tests.
import Runtime
import Search

/// Two classes of two boundaries over 6 bins each and three reuse flags: 15 · 15 · 8 = 1800
/// legal configurations. The score is 1 minus distance penalties from `optimum`, plus a term
/// coupling the two classes' widths, so the objective is not additive; its unique maximum (1.0)
/// is `optimum`.
enum Synthetic {
    static let space: SearchSpace = {
        do {
            return try SearchSpace(decisions: [
                .boundary(classID: "a", stage: 1, bins: 6), .boundary(classID: "a", stage: 2, bins: 6),
                .boundary(classID: "b", stage: 1, bins: 6), .boundary(classID: "b", stage: 2, bins: 6),
                .reuse(layer: "conv1"), .reuse(layer: "conv2"), .reuse(layer: "conv3"),
            ])
        } catch {
            fatalError("synthetic space: \(error)")
        }
    }()

    static let optimum = [1, 4, 2, 3, 1, 0, 1]

    static func score(_ x: [Int]) -> Double {
        var penalty = 0.0
        for d in 0..<4 { penalty += 0.05 * Double(abs(x[d] - optimum[d])) }
        for d in 4..<7 where x[d] != optimum[d] { penalty += 0.04 }
        penalty += 0.01 * Double(abs((x[1] - x[0]) - (x[3] - x[2]) - 2))
        return 1 - penalty
    }
}

/// Evaluates a configuration as one exit whose accuracy on 1000 samples is the synthetic score.
struct ScoreEvaluator: CandidateEvaluator {
    var samples = 1000
    let score: ([Int]) -> Double

    func evaluate(_ configuration: [Int]) throws -> ExitOutputs {
        let right = Int((score(configuration) * Double(samples)).rounded())
        return ExitOutputs(confidences: [Array(repeating: 1, count: samples)],
                           predictions: [(0..<samples).map { $0 < right ? 0 : 1 }], cumulativeMACs: [100])
    }

    func labels() throws -> [Int] { Array(repeating: 0, count: samples) }
    func referencePredictions() throws -> [Int] { Array(repeating: 0, count: samples) }
}

/// Three exits with confidences and predictions drawn from a generator seeded by the
/// configuration (so any evaluation order gives the same outputs), and later exits more
/// accurate and more costly. Counts its evaluations; can fail after a number of them, to
/// simulate a search killed mid-run; refuses to read labels when `labelsForbidden`.
final class ExitEvaluator: CandidateEvaluator {
    let samples: Int
    var failAfter: Int?
    var labelsForbidden = false
    private(set) var evaluated: [[Int]] = []

    struct Interrupted: Error {}
    struct LabelsRead: Error {}

    init(samples: Int = 60, failAfter: Int? = nil) {
        self.samples = samples
        self.failAfter = failAfter
    }

    func truth() -> [Int] {
        var rng = TrainingRNG(seed: 99)
        return (0..<samples).map { _ in rng.nextInt(below: 4) }
    }

    func evaluate(_ configuration: [Int]) throws -> ExitOutputs {
        if let limit = failAfter, evaluated.count >= limit { throw Interrupted() }
        evaluated.append(configuration)
        var seed: UInt64 = 1469598103934665603
        for v in configuration { seed = (seed ^ UInt64(v + 1)) &* 1099511628211 }
        var rng = TrainingRNG(seed: seed)
        let t = truth()
        let quality = Synthetic.score(configuration)
        var confidences: [[Double]] = []
        var predictions: [[Int]] = []
        for e in 0..<3 {
            let p = quality * (0.5 + 0.2 * Double(e))
            predictions.append(t.map { rng.nextUnitDouble() < p ? $0 : ($0 + 1) % 4 })
            confidences.append((0..<samples).map { _ in (rng.nextUnitDouble() * 20).rounded() / 20 })
        }
        let width = Double(configuration[1] + configuration[3] + 2) / 12
        return ExitOutputs(confidences: confidences, predictions: predictions,
                           cumulativeMACs: [30 * width + 10, 60 * width + 20, 100])
    }

    func labels() throws -> [Int] {
        if labelsForbidden { throw LabelsRead() }
        return truth()
    }

    func referencePredictions() throws -> [Int] {
        // The "static model": right on all but every fifth sample.
        truth().enumerated().map { $0.offset % 5 == 0 ? ($0.element + 2) % 4 : $0.element }
    }
}
