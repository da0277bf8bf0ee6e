// PruneStrategy: `prune{rounds decay temperature}`, DDPNAS's dynamic distribution pruning of a joint categorical distribution.
import Foundation
import Passes
import Runtime

/// Dynamic distribution pruning (DDPNAS): the configurations are samples of a joint categorical
/// distribution, one factor per decision. Each epoch draws as many configurations as the widest
/// decision has choices, uniformly among the legal configurations of live choices. Every `rounds`
/// epochs each live (decision, choice) gets a score from the window's samples: with
/// `estimate=mean` the mean score of the samples that used it; with `estimate=additive` (the
/// default) its coefficient in a ridge regression of the scores on the one-hot choices, which
/// takes out the other decisions' share of each score. The factor probabilities become
/// softmax(`temperature` · scores) plus `decay` × the old probabilities, and each decision loses
/// its least probable live choice (never one whose removal leaves no legal configuration). When
/// every decision has one choice left, that configuration is proposed and the strategy is done.
public struct PruneStrategy: SearchStrategy {
    public static let name = "prune"
    public static let summary = "DDPNAS: sample a joint categorical distribution, prune each decision's worst choice every few epochs"
    public static let options: [PassOptionSpec] = [
        .int("rounds", default: 4, help: "Epochs between prunings"),
        .double("decay", default: 0.5, help: "Weight of the old probabilities in each update"),
        .double("temperature", default: 100, help: "Scale of the scores inside the softmax"),
        .string("estimate", default: "additive",
                help: "A choice's score: additive (its coefficient in a ridge fit of the window) or mean"),
    ]

    let space: SearchSpace
    var rng: TrainingRNG
    let rounds: Int
    let decay, temperature: Double
    let additive: Bool
    /// The window's samples, for the additive estimate.
    var window: [(configuration: [Int], score: Double)] = []
    /// Live choices of each decision.
    var alive: [Set<Int>]
    var theta: [[Double]]
    var drawnInEpoch = 0
    /// Per epoch of the current window: per decision and choice, (sum of scores, count).
    var epochScores: [[[(sum: Double, count: Int)]]] = []
    var finished = false
    var finalProposed = false

    public init(space: SearchSpace, options: PassOptions, rng: TrainingRNG) throws {
        rounds = try options.int("rounds")
        decay = try options.double("decay")
        temperature = try options.double("temperature")
        guard rounds >= 1 else { throw SearchError("prune: rounds must be at least 1, got \(rounds)") }
        guard decay >= 0, temperature > 0 else { throw SearchError("prune: decay must be >= 0 and temperature > 0") }
        let estimate = try options.string("estimate")
        guard estimate == "additive" || estimate == "mean" else {
            throw SearchError("prune: estimate must be additive or mean, got '\(estimate)'")
        }
        additive = estimate == "additive"
        self.space = space
        self.rng = rng
        alive = space.decisions.map { Set(0..<$0.choices) }
        theta = space.decisions.map { Array(repeating: 1 / Double($0.choices), count: $0.choices) }
        removeDeadChoices()
        startEpoch()
    }

    /// Samples per epoch: the widest decision's number of choices at the start (kept when choices
    /// are pruned, so the last, closest decisions get as many samples as the first).
    var epochLength: Int { space.decisions.map(\.choices).max() ?? 1 }

    mutating func startEpoch() {
        drawnInEpoch = 0
        epochScores.append(space.decisions.map { Array(repeating: (0.0, 0), count: $0.choices) })
    }

    public mutating func propose() -> [Int]? {
        if finished {
            if finalProposed { return nil }
            finalProposed = true
            return alive.map { $0.min() ?? 0 }
        }
        // Uniform over the legal configurations of live choices: coverage without replacement
        // (DDPNAS's sampler) would pair a class's late-epoch boundaries with whatever is left of
        // the other's, and bias the choices' mean scores through the ordering constraint.
        let live = alive
        let c = space.sample(&rng) { d, v in live[d].contains(v) ? 1 : 0 }
        return c
    }

    public mutating func observe(_ configuration: [Int], score: Double) {
        if finished { return }
        let s = score.isFinite ? score : -1
        for (d, v) in configuration.enumerated() {
            epochScores[epochScores.count - 1][d][v].sum += s
            epochScores[epochScores.count - 1][d][v].count += 1
        }
        window.append((configuration, s))
        drawnInEpoch += 1
        guard drawnInEpoch >= epochLength else { return }
        if epochScores.count < rounds {
            startEpoch()
            return
        }
        prune()
        epochScores = []
        window = []
        if alive.allSatisfy({ $0.count == 1 }) {
            finished = true
        } else {
            startEpoch()
        }
    }

    /// Updates the factor probabilities from the window's scores and removes each decision's
    /// least probable live choice.
    mutating func prune() {
        let coefficients = additive
            ? RidgeRegression(window.map { space.features($0.configuration) }, window.map(\.score), lambda: 1e-3).weights
            : []
        var offsets: [Int] = []
        var offset = 0
        for d in space.decisions {
            offsets.append(offset)
            offset += d.choices
        }
        for d in 0..<space.count where alive[d].count > 1 {
            let live = alive[d].sorted()
            // Each live choice's score over the window: its mean, or (additive) its coefficient in
            // a ridge fit of the scores on every decision's one-hot choices, which takes out what the
            // other decisions' draws contributed (the mean's noise). A choice never drawn (legality)
            // counts as the worst.
            let means = live.map { v -> Double? in
                let sum = epochScores.reduce(0.0) { $0 + $1[d][v].sum }
                let count = epochScores.reduce(0) { $0 + $1[d][v].count }
                guard count > 0 else { return nil }
                return additive ? coefficients[offsets[d] + v] : sum / Double(count)
            }
            let worst = means.compactMap { $0 }.min() ?? 0
            let p = softmax(means.map { temperature * ($0 ?? worst) })
            var expectation = Array(repeating: 0.0, count: theta[d].count)
            for (k, v) in live.enumerated() { expectation[v] = p[k] }
            for v in live { theta[d][v] = expectation[v] + decay * theta[d][v] }
            // The least probable live choice whose removal keeps a legal configuration (ties: lowest index).
            for v in live.sorted(by: { theta[d][$0] != theta[d][$1] ? theta[d][$0] < theta[d][$1] : $0 < $1 }) {
                alive[d].remove(v)
                if hasLegalConfiguration() { break }
                alive[d].insert(v)
            }
        }
        removeDeadChoices()
    }

    /// True when some legal configuration uses only live choices.
    func hasLegalConfiguration() -> Bool {
        for chain in space.chains {
            // Smallest feasible value at each position, greedily (a chain is strictly increasing).
            var previous = -1
            for d in chain {
                guard let v = alive[d].filter({ $0 > previous }).min() else { return false }
                previous = v
            }
        }
        return alive.allSatisfy { !$0.isEmpty }
    }

    /// Removes live choices that no legal configuration of live choices can use.
    mutating func removeDeadChoices() {
        for chain in space.chains {
            var changed = true
            while changed {
                changed = false
                for (k, d) in chain.enumerated() {
                    let lowerBound = k > 0 ? (alive[chain[k - 1]].min() ?? Int.max) : -1
                    let upperBound = k + 1 < chain.count ? (alive[chain[k + 1]].max() ?? Int.min) : Int.max
                    let keep = alive[d].filter { $0 > lowerBound && $0 < upperBound }
                    if keep.count != alive[d].count && !keep.isEmpty {
                        alive[d] = keep
                        changed = true
                    }
                }
            }
        }
    }
}
