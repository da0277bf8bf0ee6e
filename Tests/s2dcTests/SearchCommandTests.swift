// SearchCommandTests: `s2dc search` end to end on the default model's supernet: outputs, resume, materialize, path checks.
import Foundation
import TestSupport
import XCTest

final class SearchCommandTests: XCTestCase {
    private var dir: URL!

    override func setUpWithError() throws {
        guard FileManager.default.fileExists(atPath: "/usr/share/datasets/fashion-mnist") else {
            throw XCTSkip("the Debian package dataset-fashion-mnist is not installed")
        }
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("s2dc-search-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { if let dir { try? FileManager.default.removeItem(at: dir) } }

    func testSearchResumeAndMaterialize() throws {
        let supernet = dir.appendingPathComponent("sn.s2dir").path
        var r = CLI.run(["opt", "models/default.onnx", "--passes", "canonicalize,split-stages{fractions=[0.25,0.5]},insert-exits",
                         "-o", supernet])
        XCTAssertEqual(r.status, 0, r.err)
        let config = dir.appendingPathComponent("config.json").path
        let rec = dir.appendingPathComponent("rec.s2dir").path
        func search(_ n: Int, _ extra: [String] = []) -> (status: Int32, out: String, err: String) {
            CLI.run(["search", supernet, "--data", "fashion-mnist", "--budget", "0.35", "--strategy", "evolution{population=4}",
                     "--evaluations", "\(n)", "--validation-size", "200", "--limit", "64", "--calibration-images", "64",
                     "--all-classes", "--uniform-bins", "8", "-o", config] + extra)
        }
        // Output paths are checked before any work.
        r = CLI.run(["search", supernet, "--data", "fashion-mnist", "--budget", "0.35", "-o", dir.appendingPathComponent("no/c.json").path])
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.err.contains("does not exist"), r.err)

        r = search(2, ["--recalibrated", rec])
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertTrue(r.err.contains("2/2 evaluations"), r.err)
        let searchJSON = dir.appendingPathComponent("search.json").path
        let result = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: searchJSON))) as? [String: Any]
        XCTAssertEqual((result?["evaluations"] as? [Any])?.count, 2)
        let chosen = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: config))) as? [String: Any]
        XCTAssertEqual((chosen?["thresholds"] as? [Any])?.count, 2)
        XCTAssertEqual(chosen?["stages"] as? Int, 3)
        XCTAssertNotNil(chosen?["expectedMACs"] as? Double)
        // The same file splits the static model into that partition with those thresholds.
        let resplit = dir.appendingPathComponent("resplit.s2dir").path
        r = CLI.run(["opt", "models/default.onnx", "--passes", "canonicalize,split-stages{config=\(config)},insert-exits{config=\(config)}",
                     "--verify-each", "-o", resplit])
        XCTAssertEqual(r.status, 0, r.err)

        // --resume continues from the checkpoint: the first two are not evaluated again.
        r = search(3, ["--resume"])
        XCTAssertEqual(r.status, 0, r.err)
        let resumed = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: searchJSON))) as? [String: Any]
        XCTAssertEqual((resumed?["evaluations"] as? [Any])?.count, 3)

        // The materialized graph evaluates like the recalibrated supernet under the configuration.
        let fixed = dir.appendingPathComponent("chosen.s2dir").path
        r = CLI.run(["opt", rec, "--passes", "materialize{config=\(config)}", "-o", fixed])
        XCTAssertEqual(r.status, 0, r.err)
        let a = CLI.run(["eval", fixed, "--data", "fashion-mnist", "--limit", "50"])
        let b = CLI.run(["eval", rec, "--data", "fashion-mnist", "--limit", "50", "--configuration", config,
                         "--all-classes", "--uniform-bins", "8"])
        XCTAssertEqual(a.status, 0, a.err)
        XCTAssertEqual(b.status, 0, b.err)
        XCTAssertEqual(a.out.split(separator: "\n").dropFirst(), b.out.split(separator: "\n").dropFirst())
    }
}
