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
        // Candidate thresholds of each outer exit: "never", then distinct confidences descending.
        let outerExits = s - 2
        var candidates: [[Double]] = (0..<outerExits).map { e in Self.cuts(scores.confidences[e]) }
        let combos = candidates.reduce(1.0) { $0 * Double($1.count) }
        var exact = true
        if combos * Double(n) * Double(s) > exactLimit {
            exact = false
            let perExit = max(2, Int(pow(exactLimit / (Double(n) * Double(s)), 1.0 / Double(outerExits))))
            candidates = candidates.map { Self.quantiles($0, count: perExit) }
        }
        let last = s - 2  // the exit whose threshold the sweep chooses
        let order = (0..<n).sorted {
            let a = scores.confidences[last][$0], b = scores.confidences[last][$1]
            return a != b ? a > b : $0 < $1
        }
        let never = Self.never(scores.confidences[last])

        var best: (value: Double, macs: Double, acc: Double, taus: [Double])?
        var lightest: (macs: Double, acc: Double, taus: [Double])?
        var exitAt = Array(repeating: -1, count: n)  // -1: reaches exit `last`
        var index = Array(repeating: 0, count: outerExits)
        while true {
            let outer = (0..<outerExits).map { candidates[$0][index[$0]] }
            var baseRight = 0
            var baseMACs = 0.0
            var reachRight = 0  // reaching samples, all at the last exit
            var reachCount = 0
            for i in 0..<n {
                var e = -1
                for k in 0..<outerExits where scores.confidences[k][i] >= outer[k] {
                    e = k
                    break
                }
                exitAt[i] = e
                if e >= 0 {
                    if scores.correct[e][i] { baseRight += 1 }
                    baseMACs += macs[e]
                } else {
                    reachCount += 1
                    if scores.correct[s - 1][i] { reachRight += 1 }
                }
            }
            // Sweep τ_{S−1} from "never" down through the distinct confidences.
            var right = baseRight + reachRight
            var moved = 0
            var tau = never
            var k = 0
            while true {
                let total = baseMACs + Double(moved) * macs[last] + Double(reachCount - moved) * macs[s - 1]
                let mean = total / Double(n)
                let acc = Double(right) / Double(n)
                let taus = outer + [tau]
                if let v = reward.value(accuracy: acc, macs: mean) {
                    if best == nil || v > best!.value || (v == best!.value && mean < best!.macs) {
                        best = (v, mean, acc, taus)
                    }
                } else if lightest == nil || mean < lightest!.macs || (mean == lightest!.macs && acc > lightest!.acc) {
                    lightest = (mean, acc, taus)
                }
                // Move the next tie group holding a running sample to exit `last`.
                var changed = false
                while !changed && k < n {
                    tau = scores.confidences[last][order[k]]
                    while k < n && scores.confidences[last][order[k]] == tau {
                        let i = order[k]
                        if exitAt[i] < 0 {
                            moved += 1
                            right += (scores.correct[last][i] ? 1 : 0) - (scores.correct[s - 1][i] ? 1 : 0)
                            changed = true
                        }
                        k += 1
                    }
                }
                if !changed { break }
            }
            // Next outer combination (odometer).
            var d = outerExits - 1
            while d >= 0 {
                index[d] += 1
                if index[d] < candidates[d].count { break }
                index[d] = 0
                d -= 1
            }
            if d < 0 { break }
        }
        // Every setting is feasible or not, so one of the two exists.
        let chosen = best.map { (acc: $0.acc, macs: $0.macs, taus: $0.taus) }
            ?? lightest.map { (acc: $0.acc, macs: $0.macs, taus: $0.taus) }
            ?? (acc: 0, macs: 0, taus: Array(repeating: never, count: s - 1))
        return Calibration(thresholds: chosen.taus, accuracy: chosen.acc, expectedMACs: chosen.macs,
                           exitFractions: Self.fractions(scores, chosen.taus), feasible: best != nil, exact: exact)
    }

    /// "Never" (just above the largest confidence), then the distinct confidences, descending.
    static func cuts(_ values: [Double]) -> [Double] {
        var distinct = Array(Set(values)).sorted(by: >)
        distinct.insert(never(values), at: 0)
        return distinct
    }

    /// A threshold no sample of this exit reaches: just above its largest confidence (and ≥ 1).
    static func never(_ values: [Double]) -> Double {
        (max(values.max() ?? 1, 1.0)).nextUp
    }

    /// `count` cuts spread evenly over `cuts` (keeping the first, "never", and the last).
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
