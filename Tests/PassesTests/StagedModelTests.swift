// StagedModelTests: real architectures split into stages: every exit equals the masked reference, or a named refusal.

import XCTest
import IR
import ONNX
import Passes
import Runtime
import TestSupport

final class StagedModelTests: XCTestCase {
    static func torchvision(_ name: String) -> String {
        TestSupport.fixtures(of: "RuntimeTests").appendingPathComponent("torchvision/\(name).onnx").path
    }

    static func light(_ name: String) -> String? {
        TestSupport.onnxPackageDir.map { "\($0)/backend/test/data/light/light_\(name).onnx" }
    }

    /// The model imported with every constant replaced by seeded random values (the light models'
    /// weights are all one fill value): weights ±√(3/fan-in), vectors in [0.5, 1.5) (so
    /// BatchNormalization variances stay positive), then canonicalized. A tensor above `period`
    /// elements repeats its first `period` values (a prime, so the repetition lines up with no
    /// channel or kernel size): drawing VGG-19's 143 M weights one by one takes minutes in a debug
    /// build, copying them takes a fraction of a second.
    static func randomized(_ path: String) throws -> Graph {
        var graph = try ONNXLoader.load(path: path)
        var state: UInt64 = 99
        let period = 65_521
        for name in graph.constantNames {
            guard let t = graph.constants[name] else { continue }
            let fanIn = t.shape.count >= 2 ? max(1, t.count / max(1, t.shape[0])) : 1
            let scale = t.shape.count >= 2 ? Float((3.0 / Double(fanIn)).squareRoot()) : 0.5
            let drawn = (0..<min(t.count, period)).map { _ -> Float in
                state = state &* 6364136223846793005 &+ 1442695040888963407
                let u = Float(state >> 40) / Float(1 << 24)
                return t.shape.count >= 2 ? (2 * u - 1) * scale : 0.5 + u
            }
            var scalars = drawn
            scalars.reserveCapacity(t.count)
            while scalars.count < t.count { scalars += drawn.prefix(t.count - scalars.count) }
            try graph.replaceConstant(name, with: Tensor(shape: t.shape, scalars: scalars))
        }
        try PassManager(pipeline: "canonicalize").run(&graph)
        return graph
    }

    func check(_ source: Graph, _ options: [(String, Bool)], label: String) throws {
        let shape = source.inputs[0].type.shape(batch: 1)
        let input = stagedTestInput(shape)
        for (option, reuse) in options {
            var staged = source
            try PassManager(pipeline: "split-stages{\(option) reuse=\(reuse)},insert-exits", verifyEach: true).run(&staged)
            try assertStagedMatchesReference(source: source, staged: staged, reuse: reuse, input: input, label: "\(label) \(option) reuse=\(reuse)")
        }
    }

    /// The committed torchvision exports that split (ResNet, MobileNetV2/V3 and EfficientNet with
    /// squeeze-excitation, SqueezeNet and DenseNet Concats).
    func testTorchvisionExportsMatchMaskedReference() throws {
        for name in ["resnet18", "mobilenet_v2", "mobilenet_v3_small", "squeezenet1_1", "densenet121"] {
            var graph = try ONNXLoader.load(path: Self.torchvision(name))
            try PassManager(pipeline: "canonicalize").run(&graph)
            try check(graph, [("stages=2", true), ("stages=3", true), ("stages=2", false)], label: name)
        }
        // EfficientNet-B0's squeeze-excitation has 2-channel classes: two stages at most.
        var efficientnet = try ONNXLoader.load(path: Self.torchvision("efficientnet_b0"))
        try PassManager(pipeline: "canonicalize").run(&efficientnet)
        try check(efficientnet, [("stages=2", true)], label: "efficientnet_b0")
    }

    /// onnx's light models (opset 9 exports of ResNet-50 with bottleneck blocks and projection
    /// shortcuts, SqueezeNet, Inception-v2's Concats), random weights.
    func testLightModelsMatchMaskedReference() throws {
        guard TestSupport.requireONNXPackage() != nil else { return }
        for name in ["resnet50", "squeezenet", "inception_v2"] {
            guard let path = Self.light(name) else { continue }
            try check(try Self.randomized(path), [("stages=2", true)], label: "light_\(name)")
        }
    }

    /// onnx's light DenseNet-121 (Concats, BatchNormalization; 2.8 G MACs) and VGG-19 (a Flatten
    /// of a 7×7 map into 4096-wide layers; 143 M weights, 19.6 G MACs) at 224×224, random weights,
    /// one setting each (the torchvision DenseNet above and StagedFlattenTests' VGG-shaped graph run the others:
    /// here each exit's masked reference is a full forward pass, seconds in a debug build). All
    /// exits of a setting come from one interpreter pass (`assertAllExitsMatchReference`).
    func testLightDenseNetAndVGGMatchMaskedReference() throws {
        guard TestSupport.requireONNXPackage() != nil else { return }
        for (name, options) in [("densenet121", [("stages=3", false)]), ("vgg19", [("stages=2", true)])] {
            guard let path = Self.light(name) else { continue }
            let source = try Self.randomized(path)
            let input = stagedTestInput(source.inputs[0].type.shape(batch: 1))
            for (option, reuse) in options {
                var staged = source
                try PassManager(pipeline: "split-stages{\(option) reuse=\(reuse)},insert-exits", verifyEach: true).run(&staged)
                try assertAllExitsMatchReference(source: source, staged: staged, reuse: reuse, input: input,
                                                 label: "light_\(name) \(option) reuse=\(reuse)")
            }
        }
    }

    /// What cannot be split exactly fails with the node's name and the reason.
    func testRefusalsNameTheNode() throws {
        var cases: [(String, String)] = [
            (Self.torchvision("shufflenet_v2"), "node '/stage2/stage2.0/Reshape' (reshape): Reshape other than a flatten"),
            (Self.torchvision("regnet"), "grouped convolution (group = 2"),
        ]
        if let onnx = TestSupport.requireONNXPackage() {
            let dir = "\(onnx)/backend/test/data/light"
            cases += [("\(dir)/light_shufflenet.onnx", "node 'n4' (conv): grouped convolution (group = 4"),
                      ("\(dir)/light_inception_v1.onnx", "(lrn): LRN normalizes across neighbouring channels")]
        }
        // (AlexNet and ZFNet refuse at their LRN the same way; their 60 M weights make them slow to load.)
        for (path, message) in cases {
            var graph = try ONNXLoader.load(path: path)
            XCTAssertThrowsError(try PassManager(pipeline: "split-stages{stages=2}").run(&graph), path) { error in
                XCTAssertTrue("\(error)".contains(message), "\(path): \(error)")
            }
        }
    }
}
