// GoldenTests: the emitted text of small graphs (Golden/*.ir) against the committed files
// Golden/<name>.c, .h and .swift. Record mode: S2DC_RECORD_GOLDEN=1 rewrites them.

import Backend
import Foundation
import IR
import TestSupport
import XCTest

final class GoldenTests: XCTestCase {
    static let dir = TestSupport.repoRoot.appendingPathComponent("Tests/BackendTests/Golden")
    static var recording: Bool { ProcessInfo.processInfo.environment["S2DC_RECORD_GOLDEN"] == "1" }

    /// Each Golden/<name>.ir, emitted as C and as Swift, equals the recorded files byte for byte;
    /// and a second emission gives the same bytes (the output is deterministic).
    func testEmittedTextMatchesGoldenFiles() throws {
        let names = try FileManager.default.contentsOfDirectory(atPath: Self.dir.path).filter { $0.hasSuffix(".ir") }.sorted()
        XCTAssertGreaterThanOrEqual(names.count, 3)
        for irName in names {
            let name = String(irName.dropLast(3))
            let graph = try TextParser.parse(String(contentsOf: Self.dir.appendingPathComponent(irName), encoding: .utf8))
            for target in EmitTarget.allCases {
                let options = EmitOptions(prefix: name, weights: .inline)
                let files = try CodeGenerator.emit(graph, target: target, name: name, options: options).files
                let again = try CodeGenerator.emit(graph, target: target, name: name, options: options).files
                XCTAssertEqual(files.map(\.contents), again.map(\.contents), "\(name) \(target): emission is not deterministic")
                for f in files {
                    let url = Self.dir.appendingPathComponent(f.name)
                    if Self.recording {
                        try Data(f.contents).write(to: url)
                        continue
                    }
                    guard let golden = FileManager.default.contents(atPath: url.path) else {
                        XCTFail("no golden file \(f.name): run with S2DC_RECORD_GOLDEN=1 to record it")
                        continue
                    }
                    if Array(golden) != f.contents {
                        let got = String(decoding: f.contents, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
                        let want = String(decoding: golden, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
                        let line = zip(got, want).enumerated().first { $0.element.0 != $0.element.1 }?.offset ?? min(got.count, want.count)
                        XCTFail("""
                            \(f.name) differs from the golden file at line \(line + 1):
                              emitted: \(line < got.count ? got[line] : "<end>")
                              golden:  \(line < want.count ? want[line] : "<end>")
                            (S2DC_RECORD_GOLDEN=1 records the new text after review)
                            """)
                    }
                }
            }
        }
    }

    /// The golden graphs' C compiles under the strict flags and runs (their numbers are checked by
    /// the node tests and real models; this keeps the recorded text buildable).
    func testGoldenCCompiles() throws {
        for name in ["conv_bn_relu", "residual_pool_fc", "split_concat_softmax"] {
            XCTAssertNil(Harness.compile(Self.dir, sources: ["\(name).c"], exe: "/dev/null", flags: Harness.strictFlags + ["-c"]), name)
        }
    }
}
