// LightModelImportTests: onnx's nine light real-architecture models (opset 9) import with the expected output shapes.
import Foundation
import IR
import XCTest
@testable import ONNX

final class LightModelImportTests: XCTestCase {
    static let models = [
        "light_bvlc_alexnet", "light_densenet121", "light_inception_v1", "light_inception_v2", "light_resnet50",
        "light_shufflenet", "light_squeezenet", "light_vgg19", "light_zfnet512",
    ]

    /// Every light model imports; its single output has the shape of the reference output
    /// ([1, 1000], or [1, 1000, 1, 1] for the two that end in a global pool), its only runtime input
    /// is the image, and the initializers also listed as inputs became constants.
    func testLightModelsImport() throws {
        guard let onnxDir = DecoderTestSupport.requireONNXPackage() else { return }
        let dir = onnxDir + "/backend/test/data/light"
        for stem in Self.models {
            let path = "\(dir)/\(stem).onnx"
            let graph: Graph
            do {
                graph = try ONNXLoader.load(path: path)
            } catch {
                XCTFail("\(stem): \(error)")
                continue
            }
            let expected = try ONNXDecoder.decodeTensor(fileAt: "\(dir)/\(stem)_output_0.pb")
            XCTAssertEqual(graph.outputs.count, 1, stem)
            let out = try graph.type(of: graph.outputs[0])
            XCTAssertEqual(out, TensorType(shape: expected.dims), stem)
            XCTAssertEqual(expected.dims.reduce(1, *), 1000, stem)
            XCTAssertEqual(graph.inputs.count, 1, "\(stem): \(graph.inputs.map(\.name))")
            XCTAssertEqual(graph.inputs.first?.type, TensorType(shape: [1, 3, 224, 224]), stem)
            XCTAssertFalse(graph.constants.isEmpty, stem)
            assertValidIR(graph, stem, roundTrip: false)
        }
    }

    /// The opset-9 idioms the light models use import to the expected IR: Sum becomes a chain of
    /// adds, BatchNormalization keeps its epsilon, Dropout stays, Softmax over [1, 1000] at the
    /// default axis 1 is one softmax, and no shape arithmetic survives as nodes.
    func testLightModelIdioms() throws {
        guard let onnxDir = DecoderTestSupport.requireONNXPackage() else { return }
        let dir = onnxDir + "/backend/test/data/light"
        let resnet = try ONNXLoader.load(path: "\(dir)/light_resnet50.onnx")
        let ops = Dictionary(grouping: resnet.nodes, by: \.op.name).mapValues(\.count)
        XCTAssertEqual(ops["conv"], 53)
        XCTAssertEqual(ops["batch_norm"], 53)
        XCTAssertEqual(ops["add"], 16)
        XCTAssertEqual(ops["softmax"], 1)
        XCTAssertEqual(ops["reshape"], 1)
        let alexnet = try ONNXLoader.load(path: "\(dir)/light_bvlc_alexnet.onnx")
        XCTAssertEqual(alexnet.nodes.filter { if case .dropout(0.5) = $0.op { return true } else { return false } }.count, 2)
        XCTAssertEqual(alexnet.nodes.filter { $0.op.name == "lrn" }.count, 2)
        let squeezenet = try ONNXLoader.load(path: "\(dir)/light_squeezenet.onnx")
        // Softmax (opset 9, axis 1) on [1, 1000, 1, 1] normalizes over 1000 values: one softmax on axis 1.
        XCTAssertEqual(squeezenet.nodes.last?.op, .softmax(axis: 1))
    }
}
