// InspectCommandTests: `s2dc inspect` on the default model, the onnx wheel's real models, and bad input.
import Foundation
import TestSupport
import XCTest

final class InspectCommandTests: XCTestCase {
    /// The default model's MACs, counted by hand from its architecture (scripts/make-default-model.py):
    /// a 3×3 stem 1→16 at 28×28, basic blocks 16→16 (28×28), 16→32 and 32→64 (stride 2, with 1×1
    /// downsample convs), and a 64→10 fully connected head.
    func testDefaultModelTotalsMatchTheArchitecture() throws {
        func conv(_ cout: Int, _ hw: Int, _ cin: Int, _ k: Int) -> Int { cout * hw * hw * cin * k * k }
        let expectedMACs = conv(16, 28, 1, 3)
            + 2 * conv(16, 28, 16, 3)
            + conv(32, 14, 16, 3) + conv(32, 14, 32, 3) + conv(32, 14, 16, 1)
            + conv(64, 7, 32, 3) + conv(64, 7, 64, 3) + conv(64, 7, 32, 1)
            + 64 * 10
        // Conv weights + 4 BatchNorm vectors per conv + fc weight and bias.
        let convs = [(16, 1, 3), (16, 16, 3), (16, 16, 3), (32, 16, 3), (32, 32, 3), (32, 16, 1), (64, 32, 3), (64, 64, 3), (64, 32, 1)]
        let expectedParams = convs.map { $0.0 * $0.1 * $0.2 * $0.2 + 4 * $0.0 }.reduce(0, +) + 64 * 10 + 10

        let report = try XCTUnwrap(CLI.inspectJSON("models/default.onnx"))
        XCTAssertEqual(CLI.total(report, "macs"), expectedMACs)
        XCTAssertEqual(CLI.total(report, "parameters"), expectedParams)
        let nodes = try XCTUnwrap(report["nodes"] as? [[String: Any]])
        XCTAssertEqual(nodes.first?["name"] as? String, "/stem/conv/Conv")
        XCTAssertEqual(nodes.last?["output_shapes"] as? [[AnyHashable]], [["batch", 10]])

        // --batch scales every MAC count, since the batch dimension is symbolic.
        let batched = try XCTUnwrap(CLI.inspectJSON("models/default.onnx", extra: ["--batch", "8"]))
        XCTAssertEqual(CLI.total(batched, "macs"), 8 * expectedMACs)
    }

    func testTableListsEveryNodeAndTotals() {
        let r = CLI.run(["inspect", "models/default.onnx"])
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertTrue(r.out.contains("/layer3/Add"), r.out)
        XCTAssertTrue(r.out.contains("[batch,64,7,7]"), r.out)
        XCTAssertTrue(r.out.contains("total MACs"), r.out)
    }

    /// The real-architecture models shipped in the onnx wheel, each within 1% of an independent
    /// count of its MACs at its own 224×224 input (the figures of the issue that asked for them).
    func testLightModelTotalsMatchIndependentCounts() throws {
        guard let onnxDir = TestSupport.requireONNXPackage() else { return }
        let expected: [(String, Double)] = [
            ("resnet50", 4.089e9), ("vgg19", 19.632e9), ("bvlc_alexnet", 0.655e9), ("densenet121", 2.834e9),
            ("inception_v1", 1.432e9), ("inception_v2", 2.019e9), ("squeezenet", 0.349e9),
            ("shufflenet", 0.125e9), ("zfnet512", 1.482e9),
        ]
        for (name, reference) in expected {
            let path = "\(onnxDir)/backend/test/data/light/light_\(name).onnx"
            guard let report = CLI.inspectJSON(path), let macs = CLI.total(report, "macs") else { continue }
            let error = abs(Double(macs) - reference) / reference
            print("inspect light_\(name): \(macs) MACs, reference \(reference), off by \(String(format: "%.3f", error * 100))%")
            XCTAssertLessThan(error, 0.01, "light_\(name): \(macs) MACs vs reference \(reference)")
        }
    }

    func testMissingFileFailsWithItsName() {
        let r = CLI.run(["inspect", "no/such/model.onnx"])
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.err.contains("no/such/model.onnx"), r.err)
        XCTAssertEqual(r.out, "")
    }

    func testBadFlagsFail() {
        let badBatch = CLI.run(["inspect", "models/default.onnx", "--batch", "0"])
        XCTAssertNotEqual(badBatch.status, 0)
        XCTAssertTrue(badBatch.err.contains("--batch"), badBatch.err)
        let unknown = CLI.run(["inspect", "models/default.onnx", "--frobnicate"])
        XCTAssertNotEqual(unknown.status, 0)
        XCTAssertTrue(unknown.err.contains("frobnicate"), unknown.err)
    }

    func testNotAnONNXFileFailsCleanly() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("s2dc-not-onnx-\(getpid()).onnx")
        try Data("this is not protobuf\n".utf8).write(to: path)
        defer { try? FileManager.default.removeItem(at: path) }
        let r = CLI.run(["inspect", path.path])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.err.contains(path.lastPathComponent), r.err)
    }
}
