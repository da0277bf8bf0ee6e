// FuzzTargetTests: the fuzz targets replay every saved crash input without trapping, and reach the graph stage on real inputs.
import Foundation
import FuzzTargets
import Passes
import TestSupport
import XCTest

final class FuzzTargetTests: XCTestCase {
    static let fixtures = TestSupport.fixtures(of: "FuzzTests")

    /// The saved inputs of one target (Fixtures/onnx, Fixtures/ir): every crash the fuzzer found
    /// once, kept so that it never comes back (`make fuzz` and `make test` add new ones there as
    /// `found-*`), and hand-made edge cases (`edge-*`, `budget-*`).
    func regressionInputs(_ target: String) -> [String] {
        Replay.files([Self.fixtures.appendingPathComponent(target).path])
    }

    /// Each saved ONNX input runs through decode, import, canonicalize and export without
    /// trapping (a trap here kills the test process, which fails the run).
    func testONNXRegressionInputs() throws {
        let files = regressionInputs("onnx")
        XCTAssertFalse(files.isEmpty, "no regression inputs in \(Self.fixtures.path)/onnx")
        for file in files {
            _ = ONNXTarget.run([UInt8](try Data(contentsOf: URL(fileURLWithPath: file))))
        }
    }

    func testIRRegressionInputs() throws {
        let files = regressionInputs("ir")
        XCTAssertFalse(files.isEmpty, "no regression inputs in \(Self.fixtures.path)/ir")
        for file in files {
            _ = IRTarget.run([UInt8](try Data(contentsOf: URL(fileURLWithPath: file))))
        }
    }

    /// The targets are not vacuous: a real model and its textual IR get past decoding and parsing
    /// (so canonicalize and the rest run on them), and a ConstantOfShape of 2^30 floats is refused
    /// by the budget before the importer allocates it.
    func testTargetsReachTheGraphStage() throws {
        let model = [UInt8](try Data(contentsOf: TestSupport.repoRoot.appendingPathComponent("models/default.onnx")))
        XCTAssertTrue(ONNXTarget.run(model))
        XCTAssertFalse(ONNXTarget.run(Array("not a model".utf8)))
        let ir = """
            graph @g(%x: f32[N,2,4,4]) -> (%y) {
              const %w: f32[2,2,1,1] = dense<[1.0, 0.0, 0.0, 1.0]>
              %c = conv(%x, %w) {kernel = [1, 1]}
              %y = relu(%c)
              return %y
            }
            """
        XCTAssertTrue(IRTarget.run(Array(ir.utf8)))
        XCTAssertFalse(IRTarget.run(Array("graph @g(".utf8)))
        let huge = try XCTUnwrap(FileManager.default.contents(
            atPath: Self.fixtures.appendingPathComponent("onnx/budget-constant-of-shape-2e30.onnx").path))
        XCTAssertFalse(ONNXTarget.run([UInt8](huge)), "the 2^30-element ConstantOfShape should be over the budget")
    }

    /// Every pass the IR target runs is registered under the name it uses.
    func testIRTargetPassesAreRegistered() {
        XCTAssertTrue(IRTarget.passes.contains("canonicalize"))
        for name in IRTarget.passes {
            XCTAssertNotNil(PassRegistry.shared.descriptor(named: name), "IRTarget.passes names '\(name)', which is not registered")
        }
    }
}
