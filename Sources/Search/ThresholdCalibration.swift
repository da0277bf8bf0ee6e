// ThresholdCalibration: exact choice of exit thresholds τ₁…τ_{S−1} on sorted validation confidences.
import Foundation

/// The thresholds chosen for one configuration and what they give on the validation split.
public struct Calibration: Equatable, Sendable {
    /// τ₁…τ_{S−1} (a value above every confidence of an exit means "never leave there").
    public var thresholds: [Double]
    public var accuracy: Double
    /// Expected MACs per sample: Σₛ P(exit at s) · cumulative MACs(s).
    public var expectedMACs: Double
    /// The fraction of samples leaving at each exit.
    public var exitFractions: [Double]
    /// Whether the reward's constraint holds (when no setting meets a hard budget, the lightest
    /// setting is returned with `feasible == false`).
    public var feasible: Bool
    /// False when the outer thresholds were searched over quantiles because the exact search was
    /// above `ThresholdCalibrator.exactLimit` operations (only for S ≥ 4 on large splits).
    public var exact: Bool
}

/// Chooses thresholds maximizing a reward over the validation split, exactly.
///
/// Only the set of samples with confidence ≥ τₛ matters at each exit, so τₛ ranges over the
/// distinct confidences of exit s plus "never". The outer thresholds τ₁…τ_{S−2} are enumerated
/// over those values; for each, the last one, τ_{S−1}, is found by one sweep over the samples
/// still running sorted by their exit-(S−1) confidence, in which every cut is one prefix. That is
/// O(N^{S−1}) for N samples: exact for S ≤ 3 on any split. When the enumeration would exceed
/// `exactLimit` operations (S ≥ 4 on thousands of samples), the outer thresholds are taken from
/// evenly spaced quantiles instead and the result says `exact == false`. Ties of equal reward go
/// to fewer MACs, then to the first setting in the enumeration (deterministic).
public struct ThresholdCalibrator: Sendable {
    /// The largest number of sample visits an exact calibration may take.
    public var exactLimit: Double

    public init(exactLimit: Double = 3e8) { self.exactLimit = exactLimit }

    public func calibrate(_ scores: ExitScores, reward: Reward) -> Calibration {
        let s = scores.exits
        let n = scores.samples
        let macs = scores.cumulativeMACs
        if s == 1 {
            let right = scores.correct[0].filter { $0 }.count
            let acc = Double(right) / Double(n)
            return Calibration(thresholds: [], accuracy: acc, expectedMACs: macs[0], exitFractions: [1],
                               feasible: reward.value(accuracy: acc, macs: macs[0]) != nil, exact: true)
        }
        // Candidate thresholds of each outer exit: its distinct confidences, descending ("never"
        // comes first implicitly).
        let outerExits = s - 2
        var candidates: [[Double]] = (0..<outerExits).map { Array(Set(scores.confidences[$0])).sorted(by: >) }
        let combos = candidates.reduce(1.0) { $0 * Double($1.count + 1) }
        var exact = true
        if combos * Double(n) > exactLimit {
            exact = false
            let perExit = max(2, Int(pow(exactLimit / Double(n), 1.0 / Double(outerExits))) - 1)
            candidates = candidates.map { Self.quantiles($0, count: perExit) }
        }
        var search = ExactSearch(scores: scores, reward: reward, candidates: candidates)
        search.descend(0)
        let chosen = search.best ?? search.lightest ?? (value: 0, macs: 0, acc: 0, taus: search.taus)
        return Calibration(thresholds: chosen.taus, accuracy: chosen.acc, expectedMACs: chosen.macs,
                           exitFractions: Self.fractions(scores, chosen.taus), feasible: search.best != nil,
                           exact: exact)
    }

    /// A threshold no sample of this exit reaches: just above its largest confidence (and ≥ 1).
    static func never(_ values: [Double]) -> Double {
        (max(values.max() ?? 1, 1.0)).nextUp
    }

    /// `count` cuts spread evenly over `cuts` (keeping the first and the last).
    static func quantiles(_ cuts: [Double], count: Int) -> [Double] {
        guard cuts.count > count, count >= 2 else { return cuts }
        var out: [Double] = []
        for j in 0..<count {
            let v = cuts[Int((Double(j) * Double(cuts.count - 1) / Double(count - 1)).rounded())]
            if out.last != v { out.append(v) }
        }
        return out
    }

    /// The fraction of samples leaving at each exit at `taus`.
    static func fractions(_ scores: ExitScores, _ taus: [Double]) -> [Double] {
        var counts = Array(repeating: 0, count: scores.exits)
        for i in 0..<scores.samples {
            var e = scores.exits - 1
            for k in 0..<(scores.exits - 1) where scores.confidences[k][i] >= taus[k] {
                e = k
                break
            }
            counts[e] += 1
        }
        return counts.map { Double($0) / Double(scores.samples) }
    }
}

/// The depth-first enumeration behind `ThresholdCalibrator`: exit k's threshold steps down through
/// its candidates, each step moving the samples it newly lets out (of those still running) to
/// exit k; the leaf sweeps the last threshold. Counts are integers, so the cost of a setting is
/// computed the same way wherever it is reached (no drift from adding and removing).
private struct ExactSearch {
    let reward: Reward
    let n: Int
    let exits: Int
    let macs: [Double]
    let candidates: [[Double]]
    /// Per outer exit: sample indices by confidence, descending, and those confidences.
    let orders: [[Int]]
    let sortedConfidence: [[Double]]
    /// Per outer exit and sample: correct there.
    let correct: [[Bool]]
    let correctAtFinal: [Bool]
    /// The exit the sweep chooses a threshold for (S−2, 0-based): order, confidences, and the
    /// change in correct answers when a sample leaves there instead of at the final exit.
    let lastOrder: [Int]
    let lastSorted: [Double]
    let lastGain: [Int]
    let never: [Double]

    /// The outer exit each sample leaves at, or −1 while it runs on.
    var stage: [Int]
    var leaving: [Int]
    var baseRight = 0
    var reachCount: Int
    var reachRight: Int
    var taus: [Double]
    var best: (value: Double, macs: Double, acc: Double, taus: [Double])?
    var lightest: (value: Double, macs: Double, acc: Double, taus: [Double])?

    init(scores: ExitScores, reward: Reward, candidates: [[Double]]) {
        self.reward = reward
        n = scores.samples
        exits = scores.exits
        macs = scores.cumulativeMACs
        self.candidates = candidates
        let outer = exits - 2
        func order(_ e: Int) -> [Int] {
            let c = scores.confidences[e]
            return (0..<scores.samples).sorted { c[$0] != c[$1] ? c[$0] > c[$1] : $0 < $1 }
        }
        let orders = (0..<outer).map(order)
        self.orders = orders
        sortedConfidence = (0..<outer).map { e in orders[e].map { scores.confidences[e][$0] } }
        correct = Array(scores.correct[0..<outer])
        correctAtFinal = scores.correct[exits - 1]
        let last = exits - 2
        let lastOrder = order(last)
        self.lastOrder = lastOrder
        lastSorted = lastOrder.map { scores.confidences[last][$0] }
        let lastCorrect = scores.correct[last], finalCorrect = scores.correct[scores.exits - 1]
        lastGain = lastOrder.map { (lastCorrect[$0] ? 1 : 0) - (finalCorrect[$0] ? 1 : 0) }
        never = (0..<(scores.exits - 1)).map { ThresholdCalibrator.never(scores.confidences[$0]) }
        stage = Array(repeating: -1, count: n)
        leaving = Array(repeating: 0, count: max(outer, 1))
        reachCount = n
        reachRight = correctAtFinal.filter { $0 }.count
        taus = never
    }

    mutating func descend(_ k: Int) {
        if k == exits - 2 {
            sweep()
            return
        }
        taus[k] = never[k]
        descend(k + 1)
        let order = orders[k]
        let sorted = sortedConfidence[k]
        var p = 0
        for v in candidates[k] {
            while p < n && sorted[p] >= v {
                let i = order[p]
                if stage[i] < 0 {
                    stage[i] = k
                    leaving[k] += 1
                    if correct[k][i] { baseRight += 1 }
                    reachCount -= 1
                    if correctAtFinal[i] { reachRight -= 1 }
                }
                p += 1
            }
            taus[k] = v
            descend(k + 1)
        }
        for q in 0..<p where stage[order[q]] == k {
            let i = order[q]
            stage[i] = -1
            leaving[k] -= 1
            if correct[k][i] { baseRight -= 1 }
            reachCount += 1
            if correctAtFinal[i] { reachRight += 1 }
        }
        taus[k] = never[k]
    }

    /// Every cut of the last threshold for the current outer thresholds.
    mutating func sweep() {
        let last = exits - 2
        var baseMACs = 0.0
        for e in 0..<(exits - 2) { baseMACs += Double(leaving[e]) * macs[e] }
        var right = baseRight + reachRight
        var moved = 0
        consider(right: right, macs: baseMACs + Double(reachCount) * macs[exits - 1], tau: never[last])
        // Local copies: the hot loop (N per outer setting) then reads plain, unaliased arrays.
        let sorted = lastSorted, order = lastOrder, gain = lastGain, running = stage, count = n
        var p = 0
        while p < count {
            let v = sorted[p]
            var changed = false
            while p < count && sorted[p] == v {
                if running[order[p]] < 0 {
                    moved += 1
                    right += gain[p]
                    changed = true
                }
                p += 1
            }
            if changed {
                consider(right: right,
                         macs: baseMACs + Double(moved) * macs[last] + Double(reachCount - moved) * macs[exits - 1],
                         tau: v)
            }
        }
    }

    /// Scalars of the best and lightest settings so far, apart from their thresholds, so the
    /// hot comparison copies no array.
    var bestValue = -Double.infinity, bestMACs = Double.infinity
    var lightestMACs = Double.infinity, lightestAcc = -Double.infinity
    var bestRight = 0
    var isHard: Bool {
        if case .hard = reward { return true }
        return false
    }

    mutating func consider(right: Int, macs total: Double, tau: Double) {
        // Under a hard budget the value is the accuracy, monotone in `right`: a setting with
        // fewer correct answers than a feasible best cannot win (no division needed to know).
        if isHard && best != nil && right < bestRight { return }
        let mean = total / Double(n)
        let acc = Double(right) / Double(n)
        if let v = reward.value(accuracy: acc, macs: mean) {
            guard best == nil || v > bestValue || (v == bestValue && mean < bestMACs) else { return }
            bestValue = v
            bestMACs = mean
            bestRight = right
            var t = taus
            t[exits - 2] = tau
            best = (v, mean, acc, t)
        } else if best == nil {
            guard lightest == nil || mean < lightestMACs || (mean == lightestMACs && acc > lightestAcc) else { return }
            lightestMACs = mean
            lightestAcc = acc
            var t = taus
            t[exits - 2] = tau
            lightest = (0, mean, acc, t)
        }
    }
}
