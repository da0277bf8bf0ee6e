// NodeTestImportTests: every ONNX backend node test whose ops s2dc supports imports, with the reference output shapes.
import Foundation
import IR
import XCTest
@testable import ONNX

final class NodeTestImportTests: XCTestCase {
    /// The ONNX op types of the IR op set, fixed here (not read from the importer) so that an op
    /// dropped from the table fails this test instead of quietly moving tests out of scope.
    static let opSet: Set<String> = [
        "Conv", "BatchNormalization", "Relu", "LeakyRelu", "Clip", "Sigmoid", "HardSigmoid", "HardSwish",
        "Add", "Sub", "Mul", "Div", "Sum", "MaxPool", "AveragePool", "GlobalAveragePool", "ReduceMean", "LRN",
        "Gemm", "MatMul", "Flatten", "Reshape", "Transpose", "Concat", "Split", "Slice", "Pad", "Softmax",
        "Dropout", "Identity", "Squeeze", "Unsqueeze", "Gather", "Expand",
    ]
    /// Shape-arithmetic op types, evaluated at import; they must not read runtime data.
    static let shapeArithmetic: Set<String> = ["Constant", "Shape", "Size", "ConstantOfShape", "Cast", "Range", "Equal", "Where"]

    /// Ops the importer never folds: they compute on IR (float32) values, so integer data there is
    /// outside the IR (a bound int8 input of MaxPool, an int32 input of Pad).
    static let computeOnly: Set<String> = [
        "Conv", "BatchNormalization", "MaxPool", "AveragePool", "GlobalAveragePool", "ReduceMean", "LRN", "Gemm",
        "MatMul", "Pad", "Softmax", "Sigmoid", "Relu", "LeakyRelu", "HardSigmoid", "HardSwish",
    ]

    /// Inputs (by position) that the IR takes as attributes, so a test's graph input feeding one
    /// is bound as a constant even when it is float (Clip bounds, Pad value, Dropout ratio).
    static let attributeInputs: [String: Set<Int>] = [
        "Reshape": [1], "Slice": [1, 2, 3, 4], "Pad": [1, 2, 3], "Clip": [1, 2], "Split": [1], "Squeeze": [1],
        "Unsqueeze": [1], "ReduceMean": [1], "Dropout": [1, 2], "Gather": [1], "Expand": [1],
        "ConstantOfShape": [0], "Range": [0, 1, 2],
    ]

    static var nodeTestDirectory: URL {
        if let d = ProcessInfo.processInfo.environment["S2DC_NODE_TESTS"], !d.isEmpty { return URL(fileURLWithPath: d) }
        return DecoderTestSupport.repoRoot.appendingPathComponent(".cache/onnx-node-tests")
    }

    func testNodeTestsImport() throws {
        let dir = Self.nodeTestDirectory
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
            let scope = Self.scope(model, data: data)
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

    // MARK: Scope

    struct Scope {
        var reason: String?
        var bound: [String: ONNXTensor] = [:]
    }

    /// Whether a node test is in s2dc's scope, decided from the model alone (not from the
    /// importer's answer), and the inputs to bind as constants: every non-float input and every
    /// input the IR takes as an attribute.
    static func scope(_ model: ONNXModel, data: URL) -> Scope {
        let g = model.graph
        guard let opset = model.opsets[""] ?? model.opsets["ai.onnx"] else { return Scope(reason: "no default-domain opset") }
        if opset < ONNXImporter.supportedOpsets.lowerBound { return Scope(reason: "opset \(opset) below 7") }
        for node in g.nodes {
            if !node.domain.isEmpty && node.domain != "ai.onnx" { return Scope(reason: "op domain \(node.domain)") }
            if !opSet.contains(node.opType) && !shapeArithmetic.contains(node.opType) {
                return Scope(reason: "op \(node.opType) not in op set")
            }
        }
        var attributeFed = Set<String>()
        for node in g.nodes {
            for i in attributeInputs[node.opType] ?? [] where i < node.inputs.count { attributeFed.insert(node.inputs[i]) }
        }
        var scope = Scope()
        var constant = Set(g.initializers.map(\.name))
        // Values holding integer data: bound non-float inputs and what folds from them.
        var integer = Set(g.initializers.filter { !$0.dataType.isFloatingPoint }.map(\.name))
        let initializers = constant
        for (j, input) in g.inputs.enumerated() where !initializers.contains(input.name) {
            guard let type = input.elementType else { return Scope(reason: "input without tensor type") }
            let isFloat = type == .float || type == .float16 || type == .double
            if isFloat && !attributeFed.contains(input.name) { continue }
            switch type {
            case .string: return Scope(reason: "string input")
            case .other: return Scope(reason: "input of a float8/float4/int4/int2 type")
            default: break
            }
            let path = data.appendingPathComponent("input_\(j).pb").path
            guard let t = try? ONNXDecoder.decodeTensor(fileAt: path) else { return Scope(reason: "input without tensor data") }
            scope.bound[input.name] = t
            constant.insert(input.name)
            if !t.dataType.isFloatingPoint { integer.insert(input.name) }
        }
        if g.inputs.contains(where: { $0.elementType == .bfloat16 && scope.bound[$0.name] == nil }) {
            return Scope(reason: "bfloat16 runtime input")
        }
        // Which values fold: constants in, constants out, for every op (Shape and Size always).
        for node in g.nodes {
            let inputs = node.inputs.filter { !$0.isEmpty }
            let attributePositions = attributeInputs[node.opType] ?? []
            let dataInputs = node.inputs.enumerated().filter { !$0.element.isEmpty && !attributePositions.contains($0.offset) }.map(\.element)
            if computeOnly.contains(node.opType), dataInputs.contains(where: integer.contains) {
                return Scope(reason: "integer data in \(node.opType)")
            }
            switch node.opType {
            case "Shape", "Size":
                integer.formUnion(node.outputs)
            case "Cast":
                if case .int(let to)? = node.attributes["to"], !ONNXDataType(code: Int32(truncatingIfNeeded: to)).isFloatingPoint {
                    integer.formUnion(node.outputs)
                }
            default:
                if dataInputs.contains(where: integer.contains) { integer.formUnion(node.outputs) }
            }
            let allConstant = inputs.allSatisfy(constant.contains)
            if node.opType == "Shape" || node.opType == "Size" || allConstant {
                constant.formUnion(node.outputs)
                continue
            }
            switch node.opType {
            case "Equal", "Where", "Range", "ConstantOfShape":
                return Scope(reason: "\(node.opType) on runtime data")
            case "Cast":
                if case .int(let to)? = node.attributes["to"], ![1, 10, 11].contains(to) {
                    let type = ONNXDataType(code: Int32(truncatingIfNeeded: to))
                    if case .other = type { return Scope(reason: "Cast of runtime data to a float8/float4/int4/int2 type") }
                    return Scope(reason: "Cast of runtime data to \(type)")
                }
            case "BatchNormalization":
                if case .int(1)? = node.attributes["training_mode"] { return Scope(reason: "training-mode BatchNormalization") }
            case "Dropout":
                if node.inputs.count > 2, !node.inputs[2].isEmpty { return Scope(reason: "training-mode Dropout") }
                if node.outputs.count > 1 { return Scope(reason: "Dropout mask output") }
            case "MaxPool":
                if node.outputs.count > 1, !node.outputs[1].isEmpty { return Scope(reason: "MaxPool Indices output") }
            default:
                break
            }
        }
        return scope
    }
}
