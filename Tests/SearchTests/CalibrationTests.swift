// CalibrationTests: exact threshold calibration against brute force over every threshold setting.
import Foundation
import Runtime
import Search
import XCTest

final class CalibrationTests: XCTestCase {
    /// Random exit scores with ties (confidences on a coarse grid) and increasing MACs.
    func randomScores(exits: Int, samples: Int, rng: inout TrainingRNG) throws -> ExitScores {
        let conf = (0..<exits).map { _ in (0..<samples).map { _ in Double(rng.nextInt(below: 6)) / 5 } }
        let correct = (0..<exits).map { e in (0..<samples).map { _ in rng.nextUnitDouble() < 0.4 + 0.15 * Double(e) } }
        var macs: [Double] = []
        var total = 0.0
        for _ in 0..<exits {
            total += Double(1 + rng.nextInt(below: 10))
            macs.append(total)
        }
        return try ExitScores(confidences: conf, correct: correct, cumulativeMACs: macs)
    }

    /// The best (value, MACs) over every setting of τ in {distinct confidences} ∪ {above all},
    /// computed directly, or the lightest infeasible setting's (accuracy, MACs).
    func bruteForce(_ s: ExitScores, _ reward: Reward) -> (value: Double?, macs: Double, acc: Double) {
        let options = (0..<(s.exits - 1)).map { e in Array(Set(s.confidences[e])).sorted() + [2.0] }
        var best: (Double, Double, Double)?
        var lightest: (Double, Double)?
        var index = Array(repeating: 0, count: s.exits - 1)
        while true {
            let taus = (0..<index.count).map { options[$0][index[$0]] }
            var right = 0, macs = 0.0
            for i in 0..<s.samples {
                var e = s.exits - 1
                for k in 0..<(s.exits - 1) where s.confidences[k][i] >= taus[k] { e = k; break }
                right += s.correct[e][i] ? 1 : 0
                macs += s.cumulativeMACs[e]
            }
            let acc = Double(right) / Double(s.samples), mean = macs / Double(s.samples)
            if let v = reward.value(accuracy: acc, macs: mean) {
                if best == nil || v > best!.0 + 1e-12 || (abs(v - best!.0) <= 1e-12 && mean < best!.1) { best = (v, mean, acc) }
            } else if lightest == nil || mean < lightest!.0 || (mean == lightest!.0 && acc > lightest!.1) {
                lightest = (mean, acc)
            }
            var d = index.count - 1
            while d >= 0 {
                index[d] += 1
                if index[d] < options[d].count { break }
                index[d] = 0
                d -= 1
            }
            if d < 0 { break }
        }
        if let b = best { return (b.0, b.1, b.2) }
        return (nil, lightest!.0, lightest!.1)
    }

    func checkAgainstBruteForce(exits: Int, cases: Int, samples: ClosedRange<Int>) throws {
        var rng = TrainingRNG(seed: UInt64(exits) * 1000 + 7)
        var infeasibleCases = 0
        for c in 0..<cases {
            let n = samples.lowerBound + rng.nextInt(below: samples.count)
            let scores = try randomScores(exits: exits, samples: n, rng: &rng)
            let last = scores.cumulativeMACs[exits - 1]
            // Budgets from very tight (often infeasible) to loose, and the soft reward.
            let fraction = [0.15, 0.4, 0.6, 0.8, 1.0][c % 5]
            let rewards: [Reward] = [.hard(limit: fraction * last), .soft(target: fraction * last, w: -0.07),
                                     .soft(target: fraction * last, w: -0.5)]
            for reward in rewards {
                let cal = ThresholdCalibrator().calibrate(scores, reward: reward)
                let brute = bruteForce(scores, reward)
                let context = "exits \(exits) case \(c) n \(n) reward \(reward)"
                // The thresholds reproduce the reported outcome.
                let replay = scores.outcome(thresholds: cal.thresholds)
                XCTAssertEqual(replay.accuracy, cal.accuracy, accuracy: 1e-12, context)
                XCTAssertEqual(replay.expectedMACs, cal.expectedMACs, accuracy: 1e-9, context)
                XCTAssertTrue(cal.exact, context)
                if let v = brute.value {
                    XCTAssertTrue(cal.feasible, context)
                    XCTAssertEqual(reward.value(accuracy: cal.accuracy, macs: cal.expectedMACs) ?? -1, v,
                                   accuracy: 1e-12, context)
                    XCTAssertEqual(cal.expectedMACs, brute.macs, accuracy: 1e-9, context)
                } else {
                    infeasibleCases += 1
                    XCTAssertFalse(cal.feasible, context)
                    XCTAssertEqual(cal.expectedMACs, brute.macs, accuracy: 1e-9, context)
                    XCTAssertEqual(cal.accuracy, brute.acc, accuracy: 1e-12, context)
                }
            }
        }
        XCTAssertGreaterThan(infeasibleCases, 0, "the cases include budgets no threshold meets")
    }

    func testTwoExitsMatchBruteForce() throws { try checkAgainstBruteForce(exits: 2, cases: 60, samples: 1...14) }
    func testThreeExitsMatchBruteForce() throws { try checkAgainstBruteForce(exits: 3, cases: 60, samples: 1...10) }
    func testFourExitsMatchBruteForce() throws { try checkAgainstBruteForce(exits: 4, cases: 40, samples: 1...7) }

    func testOneExitHasNoThresholds() throws {
        let s = try ExitScores(confidences: [[0.2, 0.9]], correct: [[true, false]], cumulativeMACs: [10])
        let cal = ThresholdCalibrator().calibrate(s, reward: .hard(limit: 10))
        XCTAssertEqual(cal.thresholds, [])
        XCTAssertEqual(cal.accuracy, 0.5)
        XCTAssertTrue(cal.feasible)
        XCTAssertFalse(ThresholdCalibrator().calibrate(s, reward: .hard(limit: 9)).feasible)
    }

    /// A hand-checked case: exit 1 is right on its confident samples, so the best threshold
    /// under a budget sends exactly those out early.
    func testHandCase() throws {
        let s = try ExitScores(confidences: [[0.9, 0.8, 0.3, 0.2], [1, 1, 1, 1]],
                               correct: [[true, true, false, false], [true, true, true, false]],
                               cumulativeMACs: [10, 30])
        let cal = ThresholdCalibrator().calibrate(s, reward: .hard(limit: 20))
        XCTAssertEqual(cal.thresholds, [0.8])
        XCTAssertEqual(cal.accuracy, 0.75)
        XCTAssertEqual(cal.expectedMACs, 20)
        XCTAssertEqual(cal.exitFractions, [0.5, 0.5])
        // With no budget pressure every sample goes to the end ("never" is above every confidence).
        let loose = ThresholdCalibrator().calibrate(s, reward: .hard(limit: 30))
        XCTAssertEqual(loose.accuracy, 0.75)
        XCTAssertEqual(loose.expectedMACs, 20, "equal accuracy goes to fewer MACs")
    }

    /// Above the exact limit (S = 4 on many samples) the outer thresholds use quantiles, the
    /// result says so and still meets the budget.
    func testQuantileFallbackIsMarked() throws {
        var rng = TrainingRNG(seed: 5)
        let s = try randomScores(exits: 4, samples: 400, rng: &rng)
        let cal = ThresholdCalibrator(exactLimit: 1e4).calibrate(s, reward: .hard(limit: 0.6 * s.cumulativeMACs[3]))
        XCTAssertFalse(cal.exact)
        XCTAssertTrue(cal.feasible)
        XCTAssertLessThanOrEqual(cal.expectedMACs, 0.6 * s.cumulativeMACs[3])
    }

    func testUnlabeledScoringComparesWithTheReference() throws {
        let outputs = ExitOutputs(confidences: [[0.5, 0.5, 0.5]], predictions: [[1, 2, 3]], cumulativeMACs: [5])
        let scores = try outputs.scored(against: [1, 0, 3])
        XCTAssertEqual(scores.correct, [[true, false, true]])
        XCTAssertThrowsError(try outputs.scored(against: [1, 2])) { error in
            XCTAssertTrue("\(error)".contains("3 confidences and 3 predictions for 2 validation samples"), "\(error)")
        }
    }

    func testRewardParsing() throws {
        XCTAssertEqual(try Reward.parse("hard", target: 50), .hard(limit: 50))
        XCTAssertEqual(try Reward.parse("soft", target: 50), .soft(target: 50, w: -0.07))
        XCTAssertEqual(try Reward.parse("soft{w=-0.2}", target: 50), .soft(target: 50, w: -0.2))
        XCTAssertThrowsError(try Reward.parse("soft{x=1}", target: 50)) { error in
            XCTAssertEqual("\(error)", "unknown option 'x' of reward 'soft' at column 6; valid options: w (double, default -0.07)")
        }
        XCTAssertThrowsError(try Reward.parse("medium", target: 50)) { error in
            XCTAssertEqual("\(error)", "unknown reward 'medium'; valid rewards: hard, soft")
        }
        XCTAssertEqual(Reward.soft(target: 2, w: -1).value(accuracy: 0.8, macs: 4), 0.4)
    }

    func testParetoFront() {
        let points: [(accuracy: Double, macs: Double)] = [(0.5, 10), (0.7, 20), (0.6, 30), (0.7, 15), (0.9, 40), (0.9, 40), (0.4, 5)]
        XCTAssertEqual(paretoFront(points), [6, 0, 3, 4])
    }
}
