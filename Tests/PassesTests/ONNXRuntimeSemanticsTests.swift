// ONNXRuntimeSemanticsTests: passes keep the function, with onnxruntime as the reference executor.

import Foundation
import XCTest
import IR
import ONNX
import Passes
import TestSupport

/// Every pass that must keep a graph's function, alone and as the default pipeline.
let functionPreservingPipelines = [
    "fold-constants", "eliminate-identity", "fold-batchnorm", "fold-channel-affine", "fuse-activation",
    "flatten-patterns", "cse", "dce", "canonicalize",
]

/// Seeded uniform values in [lo, hi).
struct SeededUniform {
    var state: UInt64
    mutating func next(_ lo: Float, _ hi: Float) -> Float {
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return lo + (hi - lo) * Float(state >> 40) / Float(1 << 24)
    }
}

/// The graph with every weight replaced by seeded random values: the onnx wheel's "light" models
/// have constant weights, whose outputs are all alike and would hide a wrong rewrite. Vectors
/// (BatchNorm statistics, biases) get values in [0.5, 1.5), so variances stay positive; weights get
/// ±sqrt(3 / fan-in), so activations keep their scale through deep networks.
func randomizedWeights(_ graph: Graph, seed: UInt64 = 7) throws -> Graph {
    var g = graph
    var rng = SeededUniform(state: seed)
    for name in g.constantNames {
        guard let t = g.constants[name], t.count > 1 else { continue }
        let values: [Float]
        if t.shape.count <= 1 {
            values = (0..<t.count).map { _ in rng.next(0.5, 1.5) }
        } else {
            let bound = (3 / Float(max(t.count / max(t.shape[0], 1), 1))).squareRoot()
            values = (0..<t.count).map { _ in rng.next(-bound, bound) }
        }
        try g.replaceConstant(name, with: Tensor(shape: t.shape, scalars: values))
    }
    return g
}

final class ONNXRuntimeSemanticsTests: XCTestCase {
    private func lightModel(_ name: String) -> String? {
        guard let dir = TestSupport.requireONNXPackage() else { return nil }
        return "\(dir)/backend/test/data/light/light_\(name).onnx"
    }

    private func scratch() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("s2dc-passes-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }

    /// Exports `graph` as the reference, and after each pipeline (verified after every pass) as a
    /// candidate; onnxruntime must agree on seeded random inputs.
    private func assertPipelinesKeepFunction(_ graph: Graph, reference: String? = nil, pipelines: [String],
                                             file: StaticString = #filePath, line: UInt = #line) throws {
        let dir = try scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        let referencePath = reference ?? dir.appendingPathComponent("reference.onnx").path
        if reference == nil { try ONNXExporter.export(graph, to: referencePath) }
        var candidates: [String] = []
        for pipeline in pipelines {
            var g = graph
            let stats = try PassManager(pipeline: pipeline, verifyEach: true).run(&g)
            let path = dir.appendingPathComponent((pipeline.isEmpty ? "no-passes" : pipeline) + ".onnx").path
            try ONNXExporter.export(g, to: path)
            candidates.append(path)
            print("\(graph.name) \(pipeline): \(stats.map(\.changes).reduce(0, +)) changes, \(graph.nodes.count) -> \(g.nodes.count) nodes")
        }
        let script = TestSupport.repoRoot.appendingPathComponent("scripts/compare-onnx-models.py").path
        guard let result = TestSupport.run(TestSupport.python, [script, referencePath] + candidates) else {
            return XCTFail("cannot run \(TestSupport.python)", file: file, line: line)
        }
        print(result.out, terminator: "")
        XCTAssertEqual(result.status, 0, "outputs differ:\n\(result.out)\(result.err)", file: file, line: line)
        XCTAssertEqual(result.out.split(separator: "\n").filter { $0.contains("\"ok\": true") }.count, candidates.count,
                       result.out, file: file, line: line)
    }

    /// The default model against its own ONNX file: checks the importer → exporter round trip too.
    func testDefaultModelEveryPassAgainstTheOriginalFile() throws {
        guard TestSupport.requireONNXPackage() != nil else { return }
        let path = TestSupport.repoRoot.appendingPathComponent("models/default.onnx").path
        try assertPipelinesKeepFunction(try ONNXLoader.load(path: path), reference: path,
                                        pipelines: [""] + functionPreservingPipelines)
    }

    func testSqueezenetEveryPassWithRandomWeights() throws {
        guard let path = lightModel("squeezenet") else { return }
        try assertPipelinesKeepFunction(try randomizedWeights(try ONNXLoader.load(path: path)),
                                        pipelines: functionPreservingPipelines)
    }

    func testRealArchitecturesCanonicalizeWithRandomWeights() throws {
        for name in ["resnet50", "shufflenet", "inception_v1", "densenet121"] {
            guard let path = lightModel(name) else { return }
            try assertPipelinesKeepFunction(try randomizedWeights(try ONNXLoader.load(path: path)), pipelines: ["canonicalize"])
        }
    }

    /// The light models as shipped (constant weights): the exported file must still check and run.
    func testShippedLightModelsExportAndAgree() throws {
        for name in ["squeezenet", "inception_v2", "bvlc_alexnet"] {
            guard let path = lightModel(name) else { return }
            try assertPipelinesKeepFunction(try ONNXLoader.load(path: path), reference: path, pipelines: ["", "canonicalize"])
        }
    }
}
