// NodeTestCases: the in-scope ONNX node tests, imported, with their data as raw float files.

import Backend
import Foundation
import IR
import NodeTestSupport
import ONNX
import TestSupport
import XCTest

/// One in-scope node test, ready to emit: its graph and, per data set, input files and expected outputs.
struct NodeCase {
    var name: String
    /// The ONNX op types it exercises ("Conv", "Add+Relu"), for the per-op summary.
    var op: String
    var graph: Graph
    var dataSets: [(inputs: [URL], expected: [[Float]])]
}

enum NodeCases {
    /// Every in-scope node test (the runtime harness's rule: scope from the model, float32 data
    /// only), prepared under `work`; the rest by reason.
    static func load(work: URL) -> (cases: [NodeCase], outOfScope: [String: [String]], broken: [(String, String)]) {
        let dir = NodeTestScope.directory(repoRoot: TestSupport.repoRoot)
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []).sorted()
        var cases: [NodeCase] = [], outOfScope: [String: [String]] = [:], broken: [(String, String)] = []
        for name in names {
            let caseDir = dir.appendingPathComponent(name)
            let modelPath = caseDir.appendingPathComponent("model.onnx").path
            guard FileManager.default.fileExists(atPath: modelPath) else { continue }
            guard let model = try? ONNXDecoder.decodeModel(fileAt: modelPath) else {
                outOfScope["model does not decode", default: []].append(name); continue
            }
            let sets = ((try? FileManager.default.contentsOfDirectory(atPath: caseDir.path)) ?? [])
                .filter { $0.hasPrefix("test_data_set_") }.sorted().map { caseDir.appendingPathComponent($0) }
            guard let first = sets.first else { outOfScope["no test data", default: []].append(name); continue }
            let scope = NodeTestScope.scope(model, data: first)
            if let reason = scope.reason { outOfScope[reason, default: []].append(name); continue }
            var reason: String?
            for v in model.graph.inputs where scope.bound[v.name] == nil {
                if let t = v.elementType, t != .float { reason = "\(t) data" }
            }
            for v in model.graph.outputs {
                if let t = v.elementType, t != .float { reason = t.isFloatingPoint ? "\(t) data" : "\(t) output" }
            }
            if let reason { outOfScope[reason, default: []].append(name); continue }
            let ops = Set(model.graph.nodes.map(\.opType)).subtracting(NodeTestScope.shapeArithmetic)
            let op = ops.isEmpty ? "(shape arithmetic only)" : ops.sorted().joined(separator: "+")
            do {
                let graph = try ONNXImporter.importModel(model, file: modelPath,
                                                         options: ImportOptions(constantInputs: scope.bound, acceptNewerOpsets: true))
                let caseWork = work.appendingPathComponent(name)
                try FileManager.default.createDirectory(at: caseWork, withIntermediateDirectories: true)
                var dataSets: [(inputs: [URL], expected: [[Float]])] = []
                for (k, data) in sets.enumerated() {
                    var inputs: [URL] = []
                    for input in graph.inputs {
                        guard let j = model.graph.inputs.firstIndex(where: { $0.name == input.name }) else { throw BackendError("input \(input.name)") }
                        let t = try ONNXDecoder.decodeTensor(fileAt: data.appendingPathComponent("input_\(j).pb").path)
                        let url = caseWork.appendingPathComponent("set\(k)_in\(inputs.count).raw")
                        try Harness.writeRaw(floats(t), to: url)
                        inputs.append(url)
                    }
                    var expected: [[Float]] = []
                    for j in graph.outputs.indices {
                        expected.append(try floats(ONNXDecoder.decodeTensor(fileAt: data.appendingPathComponent("output_\(j).pb").path)))
                    }
                    dataSets.append((inputs, expected))
                }
                cases.append(NodeCase(name: name, op: op, graph: graph, dataSets: dataSets))
            } catch {
                broken.append((name, "does not import: \(error)"))
            }
        }
        return (cases, outOfScope, broken)
    }

    static func floats(_ t: ONNXTensor) -> [Float] {
        switch t.data {
        case .floats(let v): return v
        case .ints(let v): return v.map(Float.init)
        }
    }
}
