// TrainerFitTests: Trainer.fit checkpoints and evaluates every epoch, stops between steps, and resumes exactly.
import Foundation
import IR
import Runtime
import XCTest

final class TrainerFitTests: XCTestCase {
    private func synthetic(_ n: Int) -> Dataset { syntheticQuadrants(n) }

    private func trainer(epochs: Int) throws -> Trainer {
        try Trainer(network: try TrainableGraph(graph: try smallCNN(seed: 3)),
                    configuration: TrainingConfiguration(epochs: epochs, batchSize: 32,
                                                         schedule: .cosine(base: 0.1, minimum: 0, warmupSteps: 2), seed: 4))
    }

    private func temporary(_ name: String) -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("s2dc-fit-\(UUID().uuidString)-\(name)").path
    }

    func testFitEvaluatesAndCheckpointsEveryEpochAndResumesToTheSameWeights() throws {
        let data = synthetic(64), heldOut = synthetic(20)
        let ckpt = temporary("a.ckpt")
        defer { try? FileManager.default.removeItem(atPath: ckpt) }
        let straight = try trainer(epochs: 2)
        var epochs: [(Int, EvaluationResult?)] = [], steps = 0
        let outcome = try straight.fit(data, options: FitOptions(checkpoint: ckpt, heldOut: heldOut)) { event in
            switch event {
            case .step: steps += 1
            case .epoch(let r, let eval): epochs.append((r.epoch, eval))
            case .resumed: XCTFail("not resuming")
            }
        }
        XCTAssertEqual(outcome, .finished)
        XCTAssertEqual(steps, 4)
        XCTAssertEqual(epochs.map(\.0), [1, 2])
        XCTAssertEqual(epochs.compactMap(\.1?.count), [20, 20])
        XCTAssertTrue(FileManager.default.fileExists(atPath: ckpt))

        // Stop after the first step of epoch 2: the checkpoint holds epoch 1; resuming finishes the
        // run with exactly the weights of the uninterrupted one.
        let ckpt2 = temporary("b.ckpt")
        defer { try? FileManager.default.removeItem(atPath: ckpt2) }
        let first = try trainer(epochs: 2)
        var seen = 0
        let stopped = try first.fit(data, options: FitOptions(checkpoint: ckpt2, shouldStop: { seen == 3 })) { event in
            if case .step = event { seen += 1 }
        }
        XCTAssertEqual(stopped, .stopped(epochsDone: 1))
        let resumed = try trainer(epochs: 2)
        var resumedAfter: Int?
        XCTAssertEqual(try resumed.fit(data, options: FitOptions(checkpoint: ckpt2, resume: true)) { event in
            if case .resumed(let done) = event { resumedAfter = done }
        }, .finished)
        XCTAssertEqual(resumedAfter, 1)
        XCTAssertEqual(resumed.network.parameters, straight.network.parameters)
        XCTAssertEqual(resumed.network.buffers, straight.network.buffers)
    }

    func testResumingWithoutACheckpointFailsNamingIt() throws {
        let ckpt = temporary("missing.ckpt")
        XCTAssertThrowsError(try trainer(epochs: 1).fit(synthetic(32), options: FitOptions(checkpoint: ckpt, resume: true))) {
            XCTAssertTrue("\($0)".contains(ckpt), "\($0)")
        }
    }
}
