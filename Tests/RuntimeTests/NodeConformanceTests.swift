// NodeConformanceTests: the ONNX backend node tests through the importer and the interpreter vs output_*.pb.
import Foundation
import IR
import NodeTestSupport
import ONNX
@testable import Runtime
import TestSupport
import XCTest

final class NodeConformanceTests: XCTestCase {
    /// The issue's tolerance: |actual − expected| ≤ atol + rtol·|expected|; NaN and ±∞ must agree.
    static let rtol: Float = 1e-3
    static let atol: Float = 1e-5
    /// Looser tolerances by op type, each with its reason. None is needed today.
    static let looser: [String: (rtol: Float, atol: Float, reason: String)] = [:]

    /// Every in-scope node test (ops and attributes in the IR's op set, float32 data) runs and
    /// matches every reference output of every data set. Prints `N passed, M failed` per op and
    /// in total, and lists the tests out of scope by reason.
    func testNodeTestsRunAndMatchReferenceOutputs() throws {
        let dir = NodeTestScope.directory(repoRoot: TestSupport.repoRoot)
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: dir.path), !names.isEmpty else {
            return XCTFail("""
                no ONNX node tests at \(dir.path): generate them with `make node-tests`, i.e. \
                `.venv/bin/python scripts/generate-node-tests.py .cache/onnx-node-tests` (or set S2DC_NODE_TESTS)
                """)
        }
        var passed: [String: [String]] = [:], failed: [String: [(name: String, why: String)]] = [:]
        var outOfScope: [String: [String]] = [:]
        for name in names.sorted() {
            let caseDir = dir.appendingPathComponent(name)
            guard FileManager.default.fileExists(atPath: caseDir.appendingPathComponent("model.onnx").path) else { continue }
            switch runCase(caseDir) {
            case .outOfScope(let reason): outOfScope[reason, default: []].append(name)
            case .passed(let op): passed[op, default: []].append(name)
            case .failed(let op, let why): failed[op, default: []].append((name, why))
            }
        }
        var report = "ONNX node tests through the importer and the interpreter (rtol \(Self.rtol), atol \(Self.atol)):\n"
        for op in Set(passed.keys).union(failed.keys).sorted() {
            report += "  \(op): \(passed[op]?.count ?? 0) passed, \(failed[op]?.count ?? 0) failed\n"
            for f in failed[op] ?? [] { report += "    FAILED \(f.name): \(f.why)\n" }
        }
        let scopeCount = outOfScope.values.reduce(0) { $0 + $1.count }
        report += "out of scope: \(scopeCount) tests\n"
        for (reason, tests) in outOfScope.sorted(by: { ($0.value.count, $1.key) > ($1.value.count, $0.key) }) {
            report += "  \(reason): \(tests.count) (\(tests.prefix(4).joined(separator: ", "))\(tests.count > 4 ? ", …" : ""))\n"
        }
        let p = passed.values.reduce(0) { $0 + $1.count }, f = failed.values.reduce(0) { $0 + $1.count }
        report += "\(p) passed, \(f) failed\n"
        print(report)
        var listing = report + "\nout of scope, every test:\n"
        for (reason, tests) in outOfScope.sorted(by: { $0.key < $1.key }) {
            listing += tests.map { "\($0)\t\(reason)" }.joined(separator: "\n") + "\n"
        }
        try? listing.write(to: TestSupport.repoRoot.appendingPathComponent(".build/node-test-conformance.txt"),
                           atomically: true, encoding: .utf8)
        XCTAssertEqual(f, 0, "in-scope node tests failed (see the report above)")
        XCTAssertGreaterThan(p, 200, "suspiciously few node tests ran")
    }

    enum Outcome {
        case outOfScope(String)
        case passed(op: String)
        case failed(op: String, why: String)
    }

    private func runCase(_ caseDir: URL) -> Outcome {
        let modelPath = caseDir.appendingPathComponent("model.onnx").path
        guard let model = try? ONNXDecoder.decodeModel(fileAt: modelPath) else { return .outOfScope("model does not decode") }
        let dataSets = ((try? FileManager.default.contentsOfDirectory(atPath: caseDir.path)) ?? [])
            .filter { $0.hasPrefix("test_data_set_") }.sorted().map { caseDir.appendingPathComponent($0) }
        guard let firstSet = dataSets.first else { return .outOfScope("no test data") }
        let scope = NodeTestScope.scope(model, data: firstSet)
        if let reason = scope.reason { return .outOfScope(reason) }
        // The IR computes in float32: float64 and float16 tests are outside it (float16 outputs
        // are rounded to 11 bits, so a float32 result cannot meet rtol 1e-3 reliably).
        for v in model.graph.inputs where scope.bound[v.name] == nil {
            if let t = v.elementType, t != .float { return .outOfScope("\(t) data") }
        }
        for v in model.graph.outputs {
            if let t = v.elementType, t != .float { return .outOfScope(t.isFloatingPoint ? "\(t) data" : "\(t) output") }
        }
        let ops = Set(model.graph.nodes.map(\.opType)).subtracting(NodeTestScope.shapeArithmetic)
        let op = ops.isEmpty ? "(shape arithmetic only)" : ops.sorted().joined(separator: "+")
        do {
            let graph = try ONNXImporter.importModel(model, file: modelPath,
                                                     options: ImportOptions(constantInputs: scope.bound, acceptNewerOpsets: true))
            let interpreter = try Interpreter(graph: graph)
            let tolerance = ops.compactMap { Self.looser[$0] }.max { $0.rtol < $1.rtol } ?? (Self.rtol, Self.atol, "")
            for data in dataSets {
                var inputs: [String: Tensor] = [:]
                for (j, v) in model.graph.inputs.enumerated() where scope.bound[v.name] == nil && graph.isDefined(v.name) {
                    inputs[v.name] = try tensor(ONNXDecoder.decodeTensor(fileAt: data.appendingPathComponent("input_\(j).pb").path))
                }
                let outputs = try interpreter.run(inputs)
                for (j, name) in graph.outputs.enumerated() {
                    let path = data.appendingPathComponent("output_\(j).pb").path
                    guard FileManager.default.fileExists(atPath: path) else { continue }
                    let expected = try tensor(ONNXDecoder.decodeTensor(fileAt: path))
                    guard let actual = outputs[name] else { return .failed(op: op, why: "output '\(name)' missing") }
                    if let why = Self.mismatch(actual, expected, rtol: tolerance.rtol, atol: tolerance.atol) {
                        return .failed(op: op, why: "\(data.lastPathComponent) output \(j) '\(name)': \(why)")
                    }
                }
            }
            return .passed(op: op)
        } catch {
            return .failed(op: op, why: "\(error)")
        }
    }

    private func tensor(_ t: ONNXTensor) throws -> Tensor {
        switch t.data {
        case .floats(let v): return Tensor(shape: t.dims, scalars: v)
        case .ints(let v): return Tensor(shape: t.dims, scalars: v.map(Float.init))
        }
    }

    /// Nil when `actual` matches `expected`; otherwise the first difference, in words.
    static func mismatch(_ actual: Tensor, _ expected: Tensor, rtol: Float, atol: Float) -> String? {
        guard actual.shape == expected.shape else { return "shape \(actual.shape), expected \(expected.shape)" }
        for (i, (a, e)) in zip(actual.scalars, expected.scalars).enumerated() {
            let ok: Bool
            if e.isNaN || a.isNaN { ok = e.isNaN && a.isNaN }
            else if e.isInfinite || a.isInfinite { ok = a == e }
            else { ok = abs(a - e) <= atol + rtol * abs(e) }
            if !ok { return "element \(i) is \(a), expected \(e)" }
        }
        return nil
    }
}
