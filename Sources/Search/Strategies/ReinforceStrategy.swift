// ReinforceStrategy: `reinforce{lr baseline entropy batch}`, a categorical policy per decision trained by REINFORCE, as S2DNAS.
import Foundation
import Passes
import Runtime

/// S2DNAS's policy search: one categorical policy (softmax of logits θ_d) per decision; a
/// configuration is sampled decision by decision (a boundary among the choices that keep its class
/// legal); after each evaluation the logits move along (R − b)·∇log p(configuration) plus
/// `entropy`·∇H(π_d), averaged over `batch` samples. b is a moving average of the rewards
/// (`baseline` is its decay). With `normalize` the advantage is divided by a moving average of
/// its magnitude, so one learning rate suits rewards that differ by 0.001 or by 0.1.
public struct ReinforceStrategy: SearchStrategy {
    public static let name = "reinforce"
    public static let summary = "REINFORCE over per-decision categorical policies, moving-average baseline, entropy bonus (S2DNAS)"
    public static let options: [PassOptionSpec] = [
        .double("lr", default: 0.2, help: "Learning rate of the policy logits"),
        .double("baseline", default: 0.9, help: "Decay of the moving-average reward baseline"),
        .double("entropy", default: 0.001, help: "Weight of the entropy bonus"),
        .int("batch", default: 4, help: "Samples per policy update"),
        .bool("normalize", default: true, help: "Divide the advantage by its moving average magnitude"),
    ]

    let space: SearchSpace
    var rng: TrainingRNG
    let lr, baselineDecay, entropyWeight: Double
    let batch: Int
    let normalize: Bool
    var logits: [[Double]]
    var gradient: [[Double]]
    var inBatch = 0
    var baseline: Double?
    var scale: Double?
    /// The distributions the last proposal was drawn from.
    var lastDistributions: [[Double]] = []

    public init(space: SearchSpace, options: PassOptions, rng: TrainingRNG) throws {
        lr = try options.double("lr")
        baselineDecay = try options.double("baseline")
        entropyWeight = try options.double("entropy")
        batch = try options.int("batch")
        normalize = try options.bool("normalize")
        guard lr > 0 else { throw SearchError("reinforce: lr must be positive, got \(lr)") }
        guard (0..<1).contains(baselineDecay) else { throw SearchError("reinforce: baseline must be in [0, 1), got \(baselineDecay)") }
        guard batch >= 1 else { throw SearchError("reinforce: batch must be at least 1, got \(batch)") }
        self.space = space
        self.rng = rng
        logits = space.decisions.map { Array(repeating: 0, count: $0.choices) }
        gradient = logits
    }

    /// The policy of decision `d`: softmax of its logits.
    func policy(_ d: Int) -> [Double] { softmax(logits[d]) }

    public mutating func propose() -> [Int]? {
        let policies = (0..<space.count).map(policy)
        let drawn = space.sampleWithDistributions(&rng) { d, v in policies[d][v] }
        lastDistributions = drawn.distributions
        return drawn.encoding
    }

    public mutating func observe(_ configuration: [Int], score: Double) {
        let reward = score.isFinite ? score : -1
        let b = baseline ?? reward
        var advantage = reward - b
        if normalize {
            let s = scale ?? abs(advantage)
            scale = baselineDecay * s + (1 - baselineDecay) * abs(advantage)
            if let s = scale, s > 1e-12 { advantage /= s } else { advantage = 0 }
        }
        baseline = baselineDecay * b + (1 - baselineDecay) * reward
        for d in 0..<space.count {
            let q = lastDistributions[d]
            let pi = policy(d)
            let h = -pi.reduce(0) { $0 + ($1 > 0 ? $1 * log($1) : 0) }
            for v in 0..<q.count {
                // ∇ log p(a) = onehot(a) − q over the distribution actually sampled from.
                let logGrad = (v == configuration[d] ? 1 : 0) - q[v]
                // ∇ H(π) = −π_v (log π_v + H).
                let entropyGrad = pi[v] > 0 ? -pi[v] * (log(pi[v]) + h) : 0
                gradient[d][v] += advantage * logGrad + entropyWeight * entropyGrad
            }
        }
        inBatch += 1
        if inBatch == batch {
            for d in 0..<space.count {
                for v in 0..<logits[d].count {
                    logits[d][v] += lr * gradient[d][v] / Double(batch)
                    gradient[d][v] = 0
                }
            }
            inBatch = 0
        }
    }
}

/// exp(x − max) normalized.
func softmax(_ x: [Double]) -> [Double] {
    let m = x.max() ?? 0
    let e = x.map { exp($0 - m) }
    let total = e.reduce(0, +)
    return e.map { $0 / total }
}
