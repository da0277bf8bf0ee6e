// RealModelTests: whole models vs onnxruntime on seeded random inputs (onnx's light models, torchvision exports).
import Foundation
import IR
import ONNX
@testable import Runtime
import TestSupport
import XCTest

final class RealModelTests: XCTestCase {
    /// The issue's bound: max |s2dc − onnxruntime| ≤ 1e-4 · max |onnxruntime| per output.
    static let bound: Float = 1e-4

    static let lightModels = [
        "light_bvlc_alexnet", "light_densenet121", "light_inception_v1", "light_inception_v2", "light_resnet50",
        "light_shufflenet", "light_squeezenet", "light_vgg19", "light_zfnet512",
    ]
    static let torchvisionModels = [
        "resnet18", "mobilenet_v2", "mobilenet_v3_small", "efficientnet_b0", "shufflenet_v2", "squeezenet1_1",
        "densenet121", "regnet",
    ]

    /// Each model runs through the importer and the interpreter on the inputs
    /// scripts/make-reference-outputs.py drew (batch 2 where the batch is symbolic), and every
    /// output is within the bound of onnxruntime's. Prints the relative difference per model.
    /// The light models' constant weights are replaced by random ones first (see the script), so
    /// that their outputs depend on the input; that makes their files full size (VGG-19: 550 MB)
    /// in a temporary folder removed afterwards.
    func testModelsMatchOnnxruntime() throws {
        guard let onnxDir = TestSupport.requireONNXPackage() else { return }
        let light = Self.lightModels.map { "\(onnxDir)/backend/test/data/light/\($0).onnx" }
        let exported = Self.torchvisionModels.map {
            TestSupport.fixtures(of: "RuntimeTests").appendingPathComponent("torchvision/\($0).onnx").path
        }
        let models = light + exported
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("s2dc-references-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: work) }
        let script = TestSupport.repoRoot.appendingPathComponent("scripts/make-reference-outputs.py").path
        guard let r = TestSupport.run(TestSupport.python, [script, work.path] + models + ["--batch", "2"]), r.status == 0 else {
            return XCTFail("make-reference-outputs.py failed (onnxruntime installed in \(TestSupport.python)?)")
        }
        var report = "models vs onnxruntime (max |difference| / max |reference|, bound \(Self.bound)):\n"
        for path in models {
            let stem = URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent
            do {
                // The script writes the model it ran beside the outputs (the light models with random weights).
                let ratio = try compare(model: work.appendingPathComponent("\(stem).onnx").path,
                                        reference: work.appendingPathComponent("\(stem).npz").path)
                report += "  \(stem.padding(toLength: 20, withPad: " ", startingAt: 0)) \(String(format: "%.2e", ratio))\n"
                XCTAssertLessThanOrEqual(ratio, Self.bound, stem)
            } catch {
                XCTFail("\(stem): \(error)")
            }
        }
        print(report)
    }

    /// The largest relative difference over the model's outputs.
    private func compare(model: String, reference: String) throws -> Float {
        let graph = try ONNXLoader.load(path: model)
        let interpreter = try Interpreter(graph: graph)
        let arrays = try NPZ.read(fileAt: reference)
        var inputs: [String: Tensor] = [:]
        for (name, array) in arrays where name.hasPrefix("in:") {
            let input = String(name.dropFirst(3))
            inputs[input] = try array.floatTensor(forInput: input)
        }
        let outputs = try interpreter.run(inputs)
        var worst: Float = 0
        for (name, array) in arrays where name.hasPrefix("out:") {
            let output = String(name.dropFirst(4))
            let expected = try array.floatTensor(forInput: output)
            guard let actual = outputs[output] else { throw RuntimeError("no output '\(output)'") }
            XCTAssertEqual(actual.shape, expected.shape, output)
            let scale = expected.scalars.map(abs).max() ?? 0
            let difference = zip(actual.scalars, expected.scalars).map { abs($0 - $1) }.max() ?? 0
            guard scale > 0, difference.isFinite else { throw RuntimeError("output '\(output)': reference scale \(scale), difference \(difference)") }
            worst = max(worst, difference / scale)
        }
        return worst
    }
}
