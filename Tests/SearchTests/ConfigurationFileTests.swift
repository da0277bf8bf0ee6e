// ConfigurationFileTests: the config.json that s2dc search writes is read by split-stages, insert-exits and materialize alike.
import Foundation
import IR
import Passes
import Runtime
import Search
import XCTest

final class ConfigurationFileTests: XCTestCase {
    /// A chosen configuration written as `s2dc search` writes it (every key of
    /// `ChosenConfiguration`) splits the static model into exactly that partition with those
    /// thresholds, and computes at every exit what `materialize` of the supernet computes.
    func testSearchConfigurationRoundTripsIntoSplitStages() throws {
        let (stat, staged) = try tinySupernet()
        guard let info = staged.stageInfo else { return XCTFail("not staged") }
        let space = try SupernetSpace(info, allClasses: true)
        let e = try SupernetEvaluator(supernet: staged, space: space, validation: quadrants(6), calibration: nil,
                                      calibrationImages: 0, batchSize: 6, reference: nil)
        var rng = TrainingRNG(seed: 5)
        let enc = e.searchSpace.randomConfiguration(&rng)
        let record = ConfigurationRecord(space: e.searchSpace, encoding: enc, thresholds: [0.55, 0.8], accuracy: 0.5,
                                         expectedMACs: 1000, feasible: true)
        let configuration = try e.configuration(enc)
        let chosen = ChosenConfiguration(record, configuration: configuration, staticMACs: try e.staticMACs())
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("chosen-\(UUID().uuidString).json").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try chosen.write(to: path)
        // Every key the search writes is one the reader sets or documents as ignored.
        let keys = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as? [String: Any]).keys
        XCTAssertEqual(Set(keys), Set(ConfigurationFile.settingKeys + ConfigurationFile.informationKeys))

        var split = stat
        try PassManager(pipeline: "split-stages{config=\(path)},insert-exits{config=\(path)}", verifyEach: true).run(&split)
        let splitInfo = try XCTUnwrap(split.stageInfo)
        XCTAssertEqual(Dictionary(uniqueKeysWithValues: splitInfo.classes.map { ($0.name, $0.boundaries) }), configuration.boundaries)
        XCTAssertEqual(splitInfo.exits.map(\.threshold), [0.55, 0.8, .infinity])

        var fixed = staged
        try PassManager(pipeline: "materialize{config=\(path)}", verifyEach: true).run(&fixed)
        XCTAssertEqual(fixed.stageInfo?.exits.map(\.threshold), splitInfo.exits.map(\.threshold))
        XCTAssertEqual(fixed.stageInfo?.classes.map(\.boundaries), splitInfo.classes.map(\.boundaries))
        let a = try StagedInterpreter(graph: split), b = try StagedInterpreter(graph: fixed)
        XCTAssertEqual(a.exitMACs, b.exitMACs)
        let x = Tensor(shape: [3, 1, 8, 8], scalars: (0..<192).map { Float(($0 * 37) % 19) / 19 - 0.5 })
        for s in 1...3 {
            let u = try XCTUnwrap(a.run(["x": x], exitAt: s).outputs[stat.outputs[0]])
            let v = try XCTUnwrap(b.run(["x": x], exitAt: s).outputs[stat.outputs[0]])
            let diff = zip(u.scalars, v.scalars).map { abs($0 - $1) }.max() ?? 1
            XCTAssertLessThanOrEqual(diff, 1e-4 * max(1, u.scalars.map(abs).max() ?? 1), "exit \(s)")
        }
    }
}
