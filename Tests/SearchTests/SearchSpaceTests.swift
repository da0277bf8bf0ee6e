// SearchSpaceTests: legality, uniform legal sampling, variation operators and the configuration JSON.
import Foundation
import Runtime
import Search
import XCTest

final class SearchSpaceTests: XCTestCase {
    func testLegalityAndSize() throws {
        let space = Synthetic.space
        XCTAssertEqual(space.size, 1800)
        XCTAssertEqual(space.allConfigurations()?.count, 1800)
        XCTAssertNil(space.illegality([0, 1, 0, 5, 0, 1, 1]))
        XCTAssertEqual(space.illegality([2, 2, 0, 5, 0, 1, 1]),
                       "boundaries must strictly increase: 'a.b1' = 2, 'a.b2' = 2")
        XCTAssertEqual(space.illegality([0, 6, 0, 5, 0, 1, 1]), "decision 'a.b2' has choice 6, valid 0..<6")
        XCTAssertEqual(space.illegality([0, 1]), "configuration has 2 choices, the space has 7 decisions")
        XCTAssertThrowsError(try SearchSpace(decisions: [.boundary(classID: "c", stage: 1, bins: 2),
                                                         .boundary(classID: "c", stage: 2, bins: 2),
                                                         .boundary(classID: "c", stage: 3, bins: 2)]))
        XCTAssertThrowsError(try SearchSpace(decisions: [.reuse(layer: "x"), .reuse(layer: "x")])) { error in
            XCTAssertEqual("\(error)", "decision 'x.reuse' appears twice")
        }
    }

    /// Every legal configuration comes up, about equally often (chi-square well under its 0.1% critical value).
    func testRandomSamplingIsUniformOverLegalConfigurations() throws {
        let space = try SearchSpace(decisions: [.boundary(classID: "c", stage: 1, bins: 5),
                                                .boundary(classID: "c", stage: 2, bins: 5),
                                                .boundary(classID: "c", stage: 3, bins: 5), .reuse(layer: "l")])
        XCTAssertEqual(space.size, 20)
        var rng = TrainingRNG(seed: 1)
        var counts: [[Int]: Int] = [:]
        let draws = 20000
        for _ in 0..<draws {
            let c = space.randomConfiguration(&rng)
            XCTAssertTrue(space.isLegal(c))
            counts[c, default: 0] += 1
        }
        XCTAssertEqual(counts.count, 20)
        let expected = Double(draws) / 20
        let chi2 = counts.values.reduce(0) { $0 + pow(Double($1) - expected, 2) / expected }
        XCTAssertLessThan(chi2, 43.8, "chi-square with 19 degrees of freedom")
    }

    func testMutationAndCrossoverStayLegal() {
        let space = Synthetic.space
        var rng = TrainingRNG(seed: 2)
        for _ in 0..<500 {
            let a = space.randomConfiguration(&rng), b = space.randomConfiguration(&rng)
            let m = space.mutate(a, probability: 0.3, &rng)
            XCTAssertTrue(space.isLegal(m))
            XCTAssertNotEqual(m, a, "a mutation changes something")
            let c = space.crossover(a, b, &rng)
            XCTAssertTrue(space.isLegal(c))
            for d in 0..<space.count { XCTAssertTrue(c[d] == a[d] || c[d] == b[d]) }
        }
    }

    func testConfigurationRecordRoundTrip() throws {
        let space = Synthetic.space
        let record = ConfigurationRecord(space: space, encoding: Synthetic.optimum, thresholds: [0.9, 0.75],
                                         accuracy: 0.91, expectedMACs: 1234.5, feasible: true)
        XCTAssertEqual(record.boundaries, ["a": [1, 4], "b": [2, 3]])
        XCTAssertEqual(record.reuse, ["conv1": true, "conv2": false, "conv3": true])
        let data = try record.jsonData()
        let back = try ConfigurationRecord.read(data, file: "config.json")
        XCTAssertEqual(back, record)
        XCTAssertEqual(try back.encoding(in: space), Synthetic.optimum)
        var bad = record
        bad.boundaries["a"] = [4, 1]
        XCTAssertThrowsError(try bad.encoding(in: space)) { error in
            XCTAssertEqual("\(error)", "boundaries must strictly increase: 'a.b1' = 4, 'a.b2' = 1")
        }
        bad = record
        bad.boundaries["z"] = [1, 2]
        XCTAssertThrowsError(try bad.encoding(in: space)) { error in
            XCTAssertEqual("\(error)", "configuration names class 'z', which the search space does not have")
        }
        bad = record
        bad.reuse["conv2"] = nil
        XCTAssertThrowsError(try bad.encoding(in: space)) { error in
            XCTAssertEqual("\(error)", "configuration has no reuse flag for layer 'conv2'")
        }
        XCTAssertThrowsError(try ConfigurationRecord.read(Data("[1]".utf8), file: "c.json")) { error in
            XCTAssertTrue("\(error)".hasPrefix("c.json: not a configuration"), "\(error)")
        }
    }
}
