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

extension ProtoDecoderTests {
    static let decodeDir = DecoderTestSupport.fixtures.appendingPathComponent("decode")

    /// Every tensor fixture decodes to the values python wrote: floats compared as float32 bit
    /// patterns (so -0, subnormals, inf and NaN must match exactly), integers as Int64.
    func testTensorFixturesOfEveryDataType() throws {
        let dir = Self.decodeDir.appendingPathComponent("tensors")
        let manifest = try String(contentsOf: dir.appendingPathComponent("expected.txt"), encoding: .utf8)
        var checked = 0
        for line in manifest.split(separator: "\n") {
            let fields = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            XCTAssertEqual(fields.count, 4, "bad manifest line: \(line)")
            guard fields.count == 4, let code = Int32(fields[1]) else { continue }
            let file = fields[0]
            let dims = fields[2].split(separator: ",").compactMap { Int($0) }
            let values = fields[3].split(separator: " ").map(String.init)
            let t = try ONNXDecoder.decodeTensor(fileAt: dir.appendingPathComponent(file).path)
            XCTAssertEqual(t.dataType, ONNXDataType(code: code), file)
            XCTAssertEqual(t.dims, dims, file)
            XCTAssertFalse(t.name.isEmpty, file)
            switch t.data {
            case .floats(let v):
                XCTAssertTrue(t.dataType.isFloatingPoint, file)
                XCTAssertEqual(v.map { "0x" + String(format: "%08x", $0.bitPattern) }, values, file)
            case .ints(let v):
                XCTAssertFalse(t.dataType.isFloatingPoint, file)
                XCTAssertEqual(v.map(String.init), values, file)
            }
            checked += 1
        }
        XCTAssertEqual(checked, 28, "tensor fixtures checked (13 dtypes × raw/typed, scalar, empty)")
    }

    /// The half-precision conversion agrees with the hardware-independent definition for all
    /// 65536 bit patterns: finite values exactly, NaN stays NaN with its payload.
    func testHalfConversionExhaustive() {
        for bits in 0...UInt16.max {
            let f = floatFromHalfBits(bits)
            let exponent = Int(bits >> 10) & 0x1f, mantissa = Double(bits & 0x3ff)
            let sign: Double = bits & 0x8000 != 0 ? -1 : 1
            if exponent == 0x1f {
                if mantissa == 0 { XCTAssertEqual(f, Float(sign) * .infinity) } else {
                    XCTAssertTrue(f.isNaN)
                    XCTAssertEqual(f.bitPattern & 0x007f_ffff, UInt32(bits & 0x3ff) << 13)
                }
                continue
            }
            let expected = exponent == 0 ? sign * mantissa * 0x1p-24 : sign * (1 + mantissa / 1024) * Double(sign: .plus, exponent: exponent - 15, significand: 1)
            XCTAssertEqual(Double(f), expected, "bits \(bits)")
            XCTAssertEqual(f.sign == .minus, bits & 0x8000 != 0, "sign of bits \(bits)")
        }
    }

    /// Every attribute kind, symbolic dims, opsets of two domains and the node fields.
    func testAttributesModel() throws {
        let model = try ONNXDecoder.decodeModel(fileAt: Self.decodeDir.appendingPathComponent("attributes.onnx").path)
        XCTAssertEqual(model.irVersion, 8)
        XCTAssertEqual(model.opsets, ["": 13, "test.domain": 2])
        XCTAssertEqual(model.producerName, "s2dc-fixtures")
        XCTAssertEqual(model.graph.name, "attributes")
        XCTAssertEqual(model.graph.nodes.map(\.name), ["const0", "custom0"])

        let const = model.graph.nodes[0]
        XCTAssertEqual(const.opType, "Constant")
        XCTAssertEqual(const.domain, "")
        XCTAssertEqual(const.inputs, [])
        XCTAssertEqual(const.outputs, ["c"])
        guard case .tensor(let value)? = const.attributes["value"] else { return XCTFail("value") }
        XCTAssertEqual(value.name, "const_value")
        XCTAssertEqual(value.dims, [2])
        guard case .floats(let cv) = value.data else { return XCTFail("value data") }
        XCTAssertEqual(cv, [0.5, -1.0])

        let custom = model.graph.nodes[1]
        XCTAssertEqual(custom.opType, "Custom")
        XCTAssertEqual(custom.domain, "test.domain")
        XCTAssertEqual(custom.inputs, ["x", "", "c"])
        XCTAssertEqual(custom.outputs, ["y", "z"])
        let a = custom.attributes
        XCTAssertEqual(a.count, 9)
        guard case .float(let f)? = a["f"], case .int(let i)? = a["i"], case .string(let s)? = a["s"],
            case .floats(let fs)? = a["floats"], case .ints(let is_)? = a["ints"], case .strings(let ss)? = a["strings"],
            case .tensor(let t)? = a["t"], case .unsupported(let kind)? = a["g"], case .ints(let empty)? = a["empty_ints"]
        else { return XCTFail("attribute kinds: \(a)") }
        XCTAssertEqual(f, 1.5)
        XCTAssertEqual(i, -3)
        XCTAssertEqual(s, "hello")
        XCTAssertEqual(fs, [0.25, 2.0])
        XCTAssertEqual(is_, [1, -2, 3])
        XCTAssertEqual(ss, ["a", "bc"])
        XCTAssertEqual(t.dataType, .int64)
        guard case .ints(let tv) = t.data else { return XCTFail("t data") }
        XCTAssertEqual(tv, [4, 5, 6])
        XCTAssertEqual(kind, "graph")
        XCTAssertEqual(empty, [])

        let x = try XCTUnwrap(model.graph.inputs.first)
        XCTAssertEqual(x.name, "x")
        XCTAssertEqual(x.elementType, .float)
        XCTAssertEqual(x.dims, [.param("N"), .value(3), .unknown, .value(5)])
        XCTAssertEqual(model.graph.outputs.map(\.name), ["y", "z"])
        XCTAssertEqual(model.graph.outputs[0].elementType, .float16)
        XCTAssertEqual(model.graph.outputs[0].dims, [.value(1), .value(2)])
        XCTAssertEqual(model.graph.outputs[1].elementType, .int64)
        XCTAssertNil(model.graph.outputs[1].dims)
    }

    /// Initializers saved by onnx.save(save_as_external_data=True, location="weights.bin",
    /// size_threshold=0): one file, four tensors at offsets 0, 96, 108, 124.
    func testExternalData() throws {
        let path = Self.decodeDir.appendingPathComponent("external/model.onnx").path
        let model = try ONNXDecoder.decodeModel(fileAt: path)
        try checkExternalModel(model)

        // Same bytes through the byte API: fine with the directory, an error without one.
        let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        try checkExternalModel(ONNXDecoder.decodeModel(bytes: bytes, file: "m.onnx", baseDirectory: directoryOf(path)))
        XCTAssertThrowsError(try ONNXDecoder.decodeModel(bytes: bytes, file: "m.onnx", baseDirectory: nil)) { e in
            XCTAssertTrue("\(e)".contains("m.onnx: initializer 'w': external data 'weights.bin' cannot be read: the model's directory is unknown"), "\(e)")
        }
    }

    private func checkExternalModel(_ model: ONNXModel) throws {
        let inits = Dictionary(uniqueKeysWithValues: model.graph.initializers.map { ($0.name, $0) })
        XCTAssertEqual(model.graph.initializers.map(\.name), ["w", "b", "shape", "h"])
        let w = try XCTUnwrap(inits["w"])
        XCTAssertEqual(w.dims, [2, 3, 4])
        guard case .floats(let wv) = w.data else { return XCTFail("w") }
        XCTAssertEqual(wv, (0..<24).map { Float($0) * 0.5 - 3 })
        guard case .floats(let bv)? = inits["b"]?.data else { return XCTFail("b") }
        XCTAssertEqual(bv, [1, -1, 0.5])
        guard case .ints(let sv)? = inits["shape"]?.data else { return XCTFail("shape") }
        XCTAssertEqual(sv, [4, 6])
        guard case .floats(let hv)? = inits["h"]?.data else { return XCTFail("h") }
        XCTAssertEqual(hv.map(\.bitPattern), [0, 0x8000_0000, 0x3f80_0000, 0xc020_0000])
        XCTAssertEqual(inits["h"]?.dataType, .float16)
    }

    /// A symbolic link inside the model's directory that points outside it is refused, as '..' is.
    func testExternalDataSymlinkEscapeIsRefused() throws {
        let fm = FileManager.default
        let tmp = fm.temporaryDirectory.appendingPathComponent("s2dc-symlink-\(getpid())")
        try? fm.removeItem(at: tmp)
        let modelDir = tmp.appendingPathComponent("model")
        try fm.createDirectory(at: modelDir, withIntermediateDirectories: true)
        defer { try? fm.removeItem(at: tmp) }
        let src = Self.decodeDir.appendingPathComponent("external")
        try fm.copyItem(at: src.appendingPathComponent("model.onnx"), to: modelDir.appendingPathComponent("model.onnx"))
        try fm.copyItem(at: src.appendingPathComponent("weights.bin"), to: tmp.appendingPathComponent("outside.bin"))
        try fm.createSymbolicLink(atPath: modelDir.appendingPathComponent("weights.bin").path, withDestinationPath: "../outside.bin")
        XCTAssertThrowsError(try ONNXDecoder.decodeModel(fileAt: modelDir.appendingPathComponent("model.onnx").path)) { e in
            XCTAssertTrue("\(e)".contains("escapes the model's directory (through a symbolic link)"), "\(e)")
        }
        // A link that stays inside the directory is fine.
        try fm.removeItem(at: modelDir.appendingPathComponent("weights.bin"))
        try fm.moveItem(at: tmp.appendingPathComponent("outside.bin"), to: modelDir.appendingPathComponent("real.bin"))
        try fm.createSymbolicLink(atPath: modelDir.appendingPathComponent("weights.bin").path, withDestinationPath: "real.bin")
        try checkExternalModel(ONNXDecoder.decodeModel(fileAt: modelDir.appendingPathComponent("model.onnx").path))
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
