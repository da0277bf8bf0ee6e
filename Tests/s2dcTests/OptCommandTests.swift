// OptCommandTests: `s2dc opt` end to end: pipelines, outputs, printing, errors, and a pass plugin.

import Foundation
import TestSupport
import XCTest

private let clipGraph = """
    graph @g(%x: f32[N,3]) -> (%y) {
      %i = identity(%x)
      %a = clip(%i) {min = 0.0}
      %b = clip(%a) {min = 0.0, max = 6.0}
      %y = sigmoid(%b)
      return %y
    }
    """

/// A scratch directory holding `clip.s2dir`.
private func scratch() throws -> URL {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("s2dc-opt-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    try clipGraph.write(to: dir.appendingPathComponent("clip.s2dir"), atomically: true, encoding: .utf8)
    return dir
}

/// Builds the example plugin package (Tests/PassesTests/Fixtures/plugin) with SwiftPM, as the
/// README says, and returns the path of its shared library.
func buildExamplePlugin(file: StaticString = #filePath, line: UInt = #line) -> String? {
    let package = TestSupport.fixtures(of: "PassesTests").appendingPathComponent("plugin")
    // Inside the main build folder: ignored by git, reused by later runs.
    let scratchPath = TestSupport.repoRoot.appendingPathComponent(".build/plugin-fixture").path
    guard let r = TestSupport.run("swift", ["build", "--package-path", package.path, "--scratch-path", scratchPath]) else {
        XCTFail("cannot run swift build", file: file, line: line)
        return nil
    }
    guard r.status == 0 else {
        XCTFail("building the plugin failed:\n\(r.out)\n\(r.err)", file: file, line: line)
        return nil
    }
    let library = scratchPath + "/debug/libExamplePlugin.so"
    XCTAssertTrue(FileManager.default.fileExists(atPath: library), library, file: file, line: line)
    return library
}

final class OptCommandTests: XCTestCase {
    func testListPasses() {
        let r = CLI.run(["opt", "--list-passes"])
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertTrue(r.out.hasPrefix("canonicalize\n    Runs the canonicalization passes"), r.out)
        XCTAssertTrue(r.out.contains("fold-batchnorm\n    Folds BatchNormalization into the Conv or Gemm"), r.out)
        XCTAssertTrue(r.out.contains("strip-softmax\n    Removes softmax nodes that produce graph outputs (example pass)\n    --only-outputs=<bool>  (default true)"), r.out)
    }

    func testPipelineOnTextWithPrintStatsAndAfterAll() throws {
        let dir = try scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        let input = dir.appendingPathComponent("clip.s2dir").path
        let out = dir.appendingPathComponent("out.s2dir").path
        let r = CLI.run(["opt", input, "--passes=eliminate-identity,dce", "--print-ir", "--stats", "--print-ir-after-all",
                         "--verify-each", "-o", out])
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertTrue(r.out.hasPrefix("graph @g(%x: f32[N,3]) -> (%y) {\n  %a: f32[N,3] = clip(%x)"), r.out)
        XCTAssertTrue(r.err.contains("// ----- IR after eliminate-identity ----- //\ngraph @g"), r.err)
        XCTAssertTrue(r.err.contains("// ----- IR after dce ----- //"), r.err)
        XCTAssertTrue(r.err.contains("eliminate-identity        2  4 -> 3"), r.err)
        XCTAssertEqual(try String(contentsOfFile: out, encoding: .utf8), r.out)
    }

    func testDefaultModelToONNXAgreesWithTheOriginal() throws {
        guard TestSupport.requireONNXPackage() != nil else { return }
        let dir = try scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("default.canonical.onnx").path
        let r = CLI.run(["opt", "models/default.onnx", "--passes=canonicalize", "--stats", "-o", out])
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertTrue(r.err.contains("canonicalize"), r.err)
        let script = TestSupport.repoRoot.appendingPathComponent("scripts/compare-onnx-models.py").path
        let check = TestSupport.run(TestSupport.python, [script, "models/default.onnx", out], cwd: TestSupport.repoRoot)
        XCTAssertEqual(check?.status, 0, "\(check?.out ?? "")\(check?.err ?? "")")
        // Opt reads its own ONNX output back; the exported activations fuse again (18 nodes,
        // 4 of them convs with an activation, written as 22 ONNX nodes).
        let again = CLI.run(["opt", out, "--passes=canonicalize", "--stats"])
        XCTAssertEqual(again.status, 0, again.err)
        XCTAssertTrue(again.err.contains("22 -> 18"), again.err)
    }

    func testErrorsNameWhatIsValid() throws {
        let dir = try scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        let input = dir.appendingPathComponent("clip.s2dir").path
        let unknown = CLI.run(["opt", input, "--passes=dce,fold-bn"])
        XCTAssertNotEqual(unknown.status, 0)
        XCTAssertTrue(unknown.err.contains("unknown pass 'fold-bn' at column 5; valid passes: canonicalize, channel-classes, cse, dce"), unknown.err)
        let option = CLI.run(["opt", input, "--passes=canonicalize{iterations=2}"])
        XCTAssertTrue(option.err.contains("valid options: max-iterations (int, default 10)"), option.err)
        let missing = CLI.run(["opt", "no/such.s2dir", "--passes=dce"])
        XCTAssertTrue(missing.err.contains("no/such.s2dir"), missing.err)
        let noModel = CLI.run(["opt", "--passes=dce"])
        XCTAssertNotEqual(noModel.status, 0)
        XCTAssertTrue(CLI.run(["opt", input, "--load-pass-plugin", "/no/such/lib.so"]).err.contains("cannot load pass plugin '/no/such/lib.so'"))
    }

    func testPluginBuiltWithSwiftPMLoadsAndRuns() throws {
        guard let library = buildExamplePlugin() else { return }
        let list = CLI.run(["opt", "--load-pass-plugin", library, "--list-passes"])
        XCTAssertEqual(list.status, 0, list.err)
        XCTAssertTrue(list.out.contains("clip-to-relu\n    Rewrites clip(0, +inf) into relu (plugin example) [\(library)]"), list.out)
        XCTAssertTrue(list.out.contains("--tag=<string>  (default plugin)"), list.out)
        let dir = try scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        let input = dir.appendingPathComponent("clip.s2dir").path
        let r = CLI.run(["opt", input, "--load-pass-plugin", library, "--passes=eliminate-identity,clip-to-relu{tag=\"a b\"},dce",
                         "--print-ir", "--verify-each", "--stats"])
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertEqual(r.out, """
            graph @g(%x: f32[N,3]) -> (%y) {
              %a: f32[N,3] = relu(%x) name = "a"
              %b: f32[N,3] = clip(%a) {min = 0.0, max = 6.0} name = "b"
              %y: f32[N,3] = sigmoid(%b) name = "y"
              return %y
            }

            """)
        XCTAssertTrue(r.err.contains("clip-to-relu              1"), r.err)
        // The plugin's own option check runs in the plugin and comes back as an error.
        let bad = CLI.run(["opt", input, "--load-pass-plugin", library, "--passes=clip-to-relu{min=1.0}"])
        XCTAssertNotEqual(bad.status, 0)
        XCTAssertTrue(bad.err.contains("only min=0 makes a clip a relu"), bad.err)
    }
}
