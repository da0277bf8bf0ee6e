// DriverTests: checkpoints, kill-and-resume equality, unlabeled search, search.json and the front.
import Foundation
import Passes
import Runtime
import Search
import XCTest

final class DriverTests: XCTestCase {
    var directory = ""

    override func setUpWithError() throws {
        directory = NSTemporaryDirectory() + "search-tests-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: directory)
    }

    func settings(_ strategy: String, evaluations: Int = 30, checkpoint: String? = nil) -> SearchSettings {
        SearchSettings(space: Synthetic.space, strategy: strategy, budget: 0.45, staticMACs: 100,
                       evaluations: evaluations, seed: 3, checkpoint: checkpoint)
    }

    /// Interrupt after k evaluations (the evaluator throws, as a kill would stop it), resume from
    /// the checkpoint: the result equals the uninterrupted run's, and nothing finished is evaluated again.
    func testKillAndResumeEqualsUninterruptedRun() throws {
        for strategy in ["random", "evolution{population=6}", "reinforce{batch=2}", "surrogate{initial=5 pool=40 batch=3}", "prune"] {
            let reference = try SearchDriver(settings: settings(strategy)).run(ExitEvaluator())
            let path = directory + "/\(strategy.prefix(4)).ckpt"
            for k in [1, 13] {
                try? FileManager.default.removeItem(atPath: path)
                let first = ExitEvaluator(failAfter: k)
                XCTAssertThrowsError(try SearchDriver(settings: settings(strategy, checkpoint: path)).run(first))
                let second = ExitEvaluator()
                let resumed = try SearchDriver(settings: settings(strategy, checkpoint: path)).run(second, resume: true)
                XCTAssertEqual(resumed, reference, "\(strategy) interrupted after \(k)")
                XCTAssertEqual(second.evaluated.count, reference.evaluations.count - k, strategy)
                XCTAssertTrue(Set(second.evaluated).isDisjoint(with: Set(first.evaluated)), "\(strategy): re-evaluated a finished one")
                let leftovers = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.contains(".tmp-") }
                XCTAssertEqual(leftovers, [], "no temporary file left behind")
            }
            // A finished checkpoint resumes without any evaluation.
            let third = ExitEvaluator()
            XCTAssertEqual(try SearchDriver(settings: settings(strategy, checkpoint: path)).run(third, resume: true), reference)
            XCTAssertEqual(third.evaluated.count, 0)
        }
    }

    func testResumeRefusesAnotherSearchsCheckpoint() throws {
        let path = directory + "/c.json"
        _ = try SearchDriver(settings: settings("random", evaluations: 3, checkpoint: path)).run(ExitEvaluator())
        var other = settings("random", evaluations: 3, checkpoint: path)
        other.seed = 4
        XCTAssertThrowsError(try SearchDriver(settings: other).run(ExitEvaluator(), resume: true)) { error in
            XCTAssertEqual("\(error)", "checkpoint \(path) was written by a different search (seed 3 vs 4)")
        }
        try Data("{".utf8).write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try SearchDriver(settings: settings("random", checkpoint: path)).run(ExitEvaluator(), resume: true)) { error in
            XCTAssertTrue("\(error)".hasPrefix("checkpoint \(path): not a search checkpoint"), "\(error)")
        }
    }

    func testUnlabeledSearchReadsNoLabels() throws {
        let evaluator = ExitEvaluator()
        evaluator.labelsForbidden = true
        var s = settings("random", evaluations: 5)
        XCTAssertThrowsError(try SearchDriver(settings: s).run(evaluator))
        s.unlabeled = true
        let result = try SearchDriver(settings: s).run(evaluator)
        XCTAssertEqual(result.evaluations.count, 5)
        XCTAssertTrue(result.unlabeled)
    }

    func testResultJSONFrontAndProgress() throws {
        var reports: [SearchProgress] = []
        let result = try SearchDriver(settings: settings("evolution{population=8}", evaluations: 24)).run(ExitEvaluator()) {
            reports.append($0)
        }
        XCTAssertEqual(reports.map(\.done), Array(1...24))
        XCTAssertEqual(reports.last?.eta ?? -1, 0, accuracy: 1e-9)
        // The front: non-dominated, sorted by MACs, and every other point dominated by one of it.
        let points = result.evaluations.map { ($0.accuracy, $0.expectedMACs) }
        for i in result.front {
            XCTAssertFalse(points.contains { ($0.0 >= points[i].0 && $0.1 < points[i].1) || ($0.0 > points[i].0 && $0.1 <= points[i].1) })
        }
        XCTAssertEqual(result.front.map { points[$0].1 }, result.front.map { points[$0].1 }.sorted())
        for (i, p) in points.enumerated() where !result.front.contains(i) {
            XCTAssertTrue(result.front.contains { points[$0].0 >= p.0 && points[$0].1 <= p.1 })
        }
        // The best meets the budget, and its progress figure is the best feasible accuracy.
        let best = try XCTUnwrap(result.best)
        XCTAssertTrue(best.feasible)
        XCTAssertLessThanOrEqual(best.expectedMACs, 45)
        XCTAssertEqual(reports.last?.bestAccuracy, best.accuracy)
        XCTAssertEqual(best.accuracy, result.evaluations.filter(\.feasible).map(\.accuracy).max())
        XCTAssertEqual(best.boundaries["a"], Array(best.encoding[0...1]))
        XCTAssertEqual(best.reuse["conv2"], best.encoding[5] == 1)
        XCTAssertEqual(best.thresholds.count, 2)
        // search.json reads back equal.
        let path = directory + "/search.json"
        try result.write(to: path)
        let back = try JSONDecoder().decode(SearchResult.self, from: Data(contentsOf: URL(fileURLWithPath: path)))
        XCTAssertEqual(back, result)
    }
}

final class DriverErrorTests: XCTestCase {
    func testSoftRewardScoresEveryEvaluation() throws {
        let s = SearchSettings(space: Synthetic.space, strategy: "random", reward: "soft{w=-0.5}", budget: 0.4,
                               staticMACs: 100, evaluations: 10, seed: 1)
        let result = try SearchDriver(settings: s).run(ExitEvaluator())
        XCTAssertEqual(result.reward, "soft{w=-0.5}")
        for r in result.evaluations {
            XCTAssertTrue(r.feasible)
            XCTAssertEqual(r.score, r.accuracy * pow(r.expectedMACs / 40, -0.5), accuracy: 1e-12)
        }
        XCTAssertEqual(result.best?.encoding, result.evaluations.max { $0.score < $1.score }?.encoding)
    }

    /// A strategy that proposes an illegal configuration stops the search with a clear error.
    struct Illegal: SearchStrategy {
        static let name = "illegal"
        static let summary = "Proposes equal boundaries"
        static let options: [PassOptionSpec] = []
        init(space: SearchSpace, options: PassOptions, rng: TrainingRNG) throws {}
        mutating func propose() -> [Int]? { [2, 2, 0, 1, 0, 0, 0] }
        mutating func observe(_ configuration: [Int], score: Double) {}
    }

    func testIllegalProposalIsAnError() throws {
        let registry = SearchStrategyRegistry()
        try registry.register(Illegal.self)
        let s = SearchSettings(space: Synthetic.space, strategy: "illegal", budget: 0.4, staticMACs: 100, evaluations: 3)
        XCTAssertThrowsError(try SearchDriver(settings: s).run(ExitEvaluator(), registry: registry)) { error in
            XCTAssertEqual("\(error)", "strategy 'illegal' proposed an illegal configuration: "
                           + "boundaries must strictly increase: 'a.b1' = 2, 'a.b2' = 2")
        }
    }

    func testBadSettingsAreErrors() throws {
        var s = SearchSettings(space: Synthetic.space, budget: 0, staticMACs: 100, evaluations: 3)
        XCTAssertThrowsError(try SearchDriver(settings: s).run(ExitEvaluator())) { error in
            XCTAssertEqual("\(error)", "budget must be positive, got 0.0")
        }
        s.budget = 0.5
        s.evaluations = 0
        XCTAssertThrowsError(try SearchDriver(settings: s).run(ExitEvaluator())) { error in
            XCTAssertEqual("\(error)", "evaluations must be at least 1, got 0")
        }
        s.evaluations = 3
        s.reward = "soft{w=x}"
        XCTAssertThrowsError(try SearchDriver(settings: s).run(ExitEvaluator())) { error in
            XCTAssertEqual("\(error)", "option 'w' of reward 'soft' at column 6 takes double, got 'x'")
        }
    }
}
