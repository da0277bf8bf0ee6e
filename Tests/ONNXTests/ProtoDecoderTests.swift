// ProtoDecoderTests: decodes onnx's light models, test tensors of every dtype and external data.
import Foundation
import XCTest
@testable import ONNX

final class ProtoDecoderTests: XCTestCase {
    /// Per light model, values printed by python (onnx 1.23.2): nodes, initializers, inputs,
    /// outputs, first and last initializer names, float initializer element count and sum, int64
    /// initializer element count and sum.
    struct LightModel {
        var nodes, initializers, inputs, outputs: Int
        var firstInit, lastInit: String
        var floatCount: Int, floatSum: Double, intCount: Int, intSum: Int64
    }
    static let lightModels: [String: LightModel] = [
        "light_bvlc_alexnet": .init(nodes: 40, initializers: 17, inputs: 18, outputs: 1, firstInit: "conv1_b_0__SHAPE", lastInit: "OC2_DUMMY_1", floatCount: 0, floatSum: 0, intCount: 36, intSum: 48502),
        "light_densenet121": .init(nodes: 1746, initializers: 848, inputs: 849, outputs: 1, firstInit: "conv1/bn_b_0", lastInit: "fc6_w_0__SHAPE", floatCount: 768, floatSum: 425.042499, intCount: 1199, intSum: 304665),
        "light_inception_v1": .init(nodes: 237, initializers: 118, inputs: 119, outputs: 1, firstInit: "conv1/7x7_s2_b_0", lastInit: "OC2_DUMMY_3", floatCount: 1072, floatSum: 483.685061, intCount: 271, intSum: 40028),
        "light_inception_v2": .init(nodes: 916, initializers: 486, inputs: 487, outputs: 1, firstInit: "conv1/7x7_s2/bn/sc_b_0", lastInit: "OC2_DUMMY_139", floatCount: 4800, floatSum: 452870.794894, intCount: 617, intSum: 94310),
        "light_resnet50": .init(nodes: 415, initializers: 269, inputs: 270, outputs: 1, firstInit: "gpu_0/conv1_w_0__SHAPE", lastInit: "OC2_DUMMY_1", floatCount: 1793, floatSum: 1211.680164, intCount: 401, intSum: 159818),
        "light_shufflenet": .init(nodes: 446, initializers: 281, inputs: 282, outputs: 1, firstInit: "gpu_0/conv3_0_b_0", lastInit: "OC2_DUMMY_65", floatCount: 120, floatSum: 166.649019, intCount: 537, intSum: 79348),
        "light_squeezenet": .init(nodes: 105, initializers: 52, inputs: 53, outputs: 1, firstInit: "conv10_b_0__SHAPE", lastInit: "fire9/squeeze1x1_w_0__SHAPE", floatCount: 640, floatSum: 14.637290, intCount: 117, intSum: 10603),
        "light_vgg19": .init(nodes: 82, initializers: 39, inputs: 40, outputs: 1, firstInit: "conv1_1_b_0", lastInit: "OC2_DUMMY_1", floatCount: 128, floatSum: 32.650135, intCount: 89, intSum: 92724),
        "light_zfnet512": .init(nodes: 38, initializers: 18, inputs: 19, outputs: 1, firstInit: "gpu_0/conv1_b_0__SHAPE", lastInit: "OC2_DUMMY_1", floatCount: 1, floatSum: 0, intCount: 36, intSum: 59422),
    ]

    func testLightModels() throws {
        guard let onnxDir = DecoderTestSupport.requireONNXPackage() else { return }
        let dir = onnxDir + "/backend/test/data/light"
        for (stem, expected) in Self.lightModels.sorted(by: { $0.key < $1.key }) {
            let model = try ONNXDecoder.decodeModel(fileAt: "\(dir)/\(stem).onnx")
            let g = model.graph
            XCTAssertEqual(model.irVersion, 3, stem)
            XCTAssertEqual(model.opsets, ["": 9], stem)
            XCTAssertEqual(model.defaultOpset, 9, stem)
            XCTAssertEqual(model.producerName, "onnx-caffe2", stem)
            XCTAssertEqual(g.nodes.count, expected.nodes, stem)
            XCTAssertEqual(g.initializers.count, expected.initializers, stem)
            XCTAssertEqual(g.inputs.count, expected.inputs, stem)
            XCTAssertEqual(g.outputs.count, expected.outputs, stem)
            XCTAssertEqual(g.initializers.first?.name, expected.firstInit, stem)
            XCTAssertEqual(g.initializers.last?.name, expected.lastInit, stem)
            XCTAssertEqual(g.nodes.first?.opType, "ConstantOfShape", stem)
            var floatCount = 0, floatSum = 0.0, intCount = 0, intSum: Int64 = 0
            for t in g.initializers {
                XCTAssertEqual(t.dims.reduce(1, *), t.elementCount, "\(stem) \(t.name)")
                switch t.data {
                case .floats(let v): floatCount += v.count; floatSum += v.reduce(0.0) { $0 + Double($1) }
                case .ints(let v): intCount += v.count; intSum += v.reduce(0, +)
                }
            }
            XCTAssertEqual(floatCount, expected.floatCount, stem)
            XCTAssertEqual(floatSum, expected.floatSum, accuracy: max(1e-3, abs(expected.floatSum) * 1e-5), stem)
            XCTAssertEqual(intCount, expected.intCount, stem)
            XCTAssertEqual(intSum, expected.intSum, stem)

            // The saved output tensor of each light model: float32 raw_data, [1, 1000] or [1, 1000, 1, 1].
            let out = try ONNXDecoder.decodeTensor(fileAt: "\(dir)/\(stem)_output_0.pb")
            XCTAssertEqual(out.dataType, .float, stem)
            XCTAssertEqual(out.dims.prefix(2), [1, 1000], stem)
            XCTAssertEqual(out.elementCount, 1000, stem)
        }
    }

    /// The first Conv of light_resnet50 keeps its attributes and inputs; the graph input has a shape.
    func testResNetNodeDetails() throws {
        guard let onnxDir = DecoderTestSupport.requireONNXPackage() else { return }
        let model = try ONNXDecoder.decodeModel(fileAt: onnxDir + "/backend/test/data/light/light_resnet50.onnx")
        let conv = try XCTUnwrap(model.graph.nodes.first { $0.opType == "Conv" })
        XCTAssertEqual(conv.inputs.count, 2)
        guard case .ints(let strides)? = conv.attributes["strides"] else { return XCTFail("strides: \(String(describing: conv.attributes["strides"]))") }
        XCTAssertEqual(strides, [2, 2])
        guard case .ints(let kernel)? = conv.attributes["kernel_shape"] else { return XCTFail("kernel_shape") }
        XCTAssertEqual(kernel, [7, 7])
        let data = try XCTUnwrap(model.graph.inputs.first { $0.name == "gpu_0/data_0" })
        XCTAssertEqual(data.elementType, .float)
        XCTAssertEqual(data.dims, [.value(1), .value(3), .value(224), .value(224)])
    }
}

extension ONNXTensor {
    var elementCount: Int {
        switch data {
        case .floats(let v): return v.count
        case .ints(let v): return v.count
        }
    }
}
