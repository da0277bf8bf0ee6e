// NodeTestImportTests: every ONNX backend node test whose ops s2dc supports imports, with the reference output shapes.
// The scope rule (which tests are in s2dc's op set, which inputs bind as constants) is NodeTestScope,
// shared with the runtime, pass and backend harnesses.
import Foundation
import IR
import NodeTestSupport
import XCTest
@testable import ONNX

final class NodeTestImportTests: XCTestCase {
    func testNodeTestsImport() throws {
        let dir = NodeTestScope.directory(repoRoot: DecoderTestSupport.repoRoot)
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: dir.path), !names.isEmpty else {
            XCTFail("""
                no ONNX node tests at \(dir.path): generate them with `make node-tests`, i.e. \
                `.venv/bin/python scripts/generate-node-tests.py .cache/onnx-node-tests` (or set S2DC_NODE_TESTS)
                """)
            return
        }
        try runCases(in: dir, names: names, listing: "node-test-import.txt")
    }

    /// The same for the models the onnx package ships exported by PyTorch (opsets 6 to 9, nn
    /// modules and operators) and its "simple" models.
    func testPackagedModelsImport() throws {
        guard let onnxDir = DecoderTestSupport.requireONNXPackage() else { return }
        let fm = FileManager.default
        var names: [String] = []
        for sub in ["pytorch-converted", "pytorch-operator", "simple"] {
            let dir = onnxDir + "/backend/test/data/" + sub
            names += ((try? fm.contentsOfDirectory(atPath: dir)) ?? []).map { "\(sub)/\($0)" }
        }
        XCTAssertGreaterThan(names.count, 100)
        try runCases(in: URL(fileURLWithPath: onnxDir + "/backend/test/data"), names: names, listing: "packaged-model-import.txt")
    }

    /// Imports every case directory (model.onnx, test_data_set_0) in scope, checks output shapes,
    /// verifies the IR and its text round trip, and prints a summary of what was skipped and why.
    private func runCases(in dir: URL, names: [String], listing listingName: String) throws {
        let fm = FileManager.default
        var imported: [String] = [], newerOpset = 0
        var skipped: [String: [String]] = [:]
        for name in names.sorted() {
            let caseDir = dir.appendingPathComponent(name)
            let modelPath = caseDir.appendingPathComponent("model.onnx").path
            guard fm.fileExists(atPath: modelPath) else { continue }
            let model: ONNXModel
            do { model = try ONNXDecoder.decodeModel(fileAt: modelPath) } catch {
                skipped["model does not decode", default: []].append(name)
                continue
            }
            let data = caseDir.appendingPathComponent("test_data_set_0")
            let scope = NodeTestScope.scope(model, data: data)
            if let reason = scope.reason {
                skipped[reason, default: []].append(name)
                continue
            }
            do {
                let graph = try ONNXImporter.importModel(model, file: modelPath,
                                                         options: ImportOptions(constantInputs: scope.bound, acceptNewerOpsets: true))
                for (j, output) in model.graph.outputs.enumerated() {
                    let path = data.appendingPathComponent("output_\(j).pb").path
                    guard fm.fileExists(atPath: path) else { continue }
                    let expected = try ONNXDecoder.decodeTensor(fileAt: path)
                    let got = try graph.type(of: graph.outputs[j])
                    XCTAssertEqual(got, TensorType(shape: expected.dims), "\(name): output \(j) '\(output.name)'")
                }
                assertValidIR(graph, name)
                imported.append(name)
                if model.defaultOpset > ONNXImporter.supportedOpsets.upperBound { newerOpset += 1 }
            } catch {
                XCTFail("\(name) is in scope but does not import: \(error)")
            }
        }
        let skippedCount = skipped.values.reduce(0) { $0 + $1.count }
        var summary = "\(listingName): \(imported.count + skippedCount) cases, imported \(imported.count)"
        summary += " (\(newerOpset) of them declare an opset above 22 and import with acceptNewerOpsets), skipped \(skippedCount):\n"
        for (reason, tests) in skipped.sorted(by: { ($0.value.count, $1.key) > ($1.value.count, $0.key) }) {
            summary += "  \(reason): \(tests.count)\n"
        }
        print(summary)
        var listing = summary + "\nimported:\n" + imported.joined(separator: "\n") + "\n\nskipped:\n"
        for (reason, tests) in skipped.sorted(by: { $0.key < $1.key }) {
            listing += tests.map { "\($0)\t\(reason)" }.joined(separator: "\n") + "\n"
        }
        let out = DecoderTestSupport.repoRoot.appendingPathComponent(".build/\(listingName)")
        try? listing.write(to: out, atomically: true, encoding: .utf8)
        print("listing: \(out.path)")
        XCTAssertGreaterThan(imported.count, 0)
    }
}
