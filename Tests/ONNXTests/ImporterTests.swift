// ImporterTests: the importer on models built in Swift — opset-dependent forms, defaults, folding, idioms and errors.
import Foundation
import IR
import NodeTestSupport
import XCTest
@testable import ONNX

final class ImporterTests: XCTestCase {
    // MARK: Graph level

    /// The table holds exactly the op set plus the shape-arithmetic ops the node tests assume.
    func testSupportedOpTypes() {
        XCTAssertEqual(Set(ONNXImporter.supportedOpTypes), NodeTestScope.opSet.union(NodeTestScope.shapeArithmetic))
        let familySizes = [OpImporters.convPool, OpImporters.elementwise, OpImporters.linear, OpImporters.reshaping,
                           OpImporters.dataMovement, OpImporters.shapeArithmetic].map(\.count)
        XCTAssertEqual(familySizes.reduce(0, +), ONNXImporter.supportedOpTypes.count, "families overlap")
    }

    func testInputsInitializersAndOutputsKeepNames() throws {
        var b = ModelBuilder(opset: 9)
        b.input("x", ["batch", 3, 4, 4])
        b.input("w", [2, 3, 1, 1])  // an initializer also listed as an input: a constant
        b.floats("w", [2, 3, 1, 1])
        b.floats("unused", [5])
        b.node("Conv", ["x", "w"], ["y"], name: "conv")
        b.outputs = ["y"]
        let g = try b.importGraph()
        XCTAssertEqual(g.inputs, [GraphInput(name: "x", type: TensorType(dims: [.symbol("batch"), .fixed(3), .fixed(4), .fixed(4)]))])
        XCTAssertEqual(g.constantNames, ["w"])  // unused initializers are not materialized
        XCTAssertEqual(g.nodes.map(\.name), ["conv"])
        XCTAssertEqual(g.outputs, ["y"])
        XCTAssertEqual(try g.type(of: "y"), TensorType(dims: [.symbol("batch"), .fixed(2), .fixed(4), .fixed(4)]))
    }

    /// The importer ends with the IR verifier: a graph output listed twice is refused there.
    func testImportedGraphIsVerified() {
        var b = ModelBuilder()
        b.input("x", [1, 2])
        b.node("Relu", ["x"], ["y"])
        b.outputs = ["y", "y"]
        assertImportFails(b, ["not valid IR", "graph output 'y' is listed twice"])
    }

    func testUnnamedLeadingDimUsesBatchSymbol() throws {
        var b = ModelBuilder()
        b.input("x", [nil, 3])
        b.node("Relu", ["x"], ["y"])
        b.outputs = ["y"]
        XCTAssertEqual(try b.importGraph().inputs[0].type.dims, [.symbol("N"), .fixed(3)])
        XCTAssertEqual(try b.importGraph(ImportOptions(batchSymbol: "B")).inputs[0].type.dims, [.symbol("B"), .fixed(3)])
    }

    func testInputChecks() throws {
        var b = ModelBuilder()
        b.input("x", [1, "seq", 3])
        b.node("Relu", ["x"], ["y"])
        b.outputs = ["y"]
        assertImportFails(b, ["test.onnx", "graph input 'x'", "'seq'", "index 1"])
        b.inputs = [ONNXValueInfo(name: "x", elementType: .float, dims: nil)]
        assertImportFails(b, ["graph input 'x' has no shape"])
        // An int input that only shape arithmetic reads is fine; one read as data is not.
        var s = ModelBuilder()
        s.input("x", [1, 3])
        s.input("ids", [2, 5], type: .int64)
        s.node("Shape", ["ids"], ["shape"])
        s.node("Reshape", ["x", "shape"], ["y"])
        s.outputs = ["y"]
        assertImportFails(s, ["cannot reshape"])
        s.nodes[0].inputs = ["ids"]
        s.inputs[0] = ONNXValueInfo(name: "x", elementType: .float, dims: [.value(2), .value(5)])
        XCTAssertEqual(try? s.importGraph().inputs.map(\.name), ["x"])
        var d = ModelBuilder()
        d.input("ids", [4], type: .int64)
        d.node("Relu", ["ids"], ["y"], name: "r")
        d.outputs = ["y"]
        assertImportFails(d, ["node 'r' (Relu, opset 13)", "graph input 'ids' has type int64", "constantInputs"])
        // Bound, it is a constant; integers still cannot be IR data.
        assertImportFails(d, ["'ids' holds int64 data"], options: ImportOptions(constantInputs: ["ids": .int64("ids", [1, 2, 3, 4])]))
        var r = ModelBuilder()
        r.input("x", [2, 6])
        r.input("shape", [2], type: .int64)
        r.node("Reshape", ["x", "shape"], ["y"])
        r.outputs = ["y"]
        assertImportFails(r, ["Reshape shape 'shape' must be known at import time"])
        let g = try? r.importGraph(ImportOptions(constantInputs: ["shape": .int64("shape", [3, -1])]))
        XCTAssertEqual(g?.inputs.map(\.name), ["x"])
        XCTAssertEqual(g?.nodes.map(\.op), [.reshape(shape: [3, -1], allowZero: false)])
        assertImportFails(d, ["binds 'nope'"], options: ImportOptions(constantInputs: ["nope": .int64("nope", [1])]))
    }

    func testOpsetRange() throws {
        var b = ModelBuilder(opset: 6)
        b.input("x", [1])
        b.node("Relu", ["x"], ["y"])
        b.outputs = ["y"]
        assertImportFails(b, ["opset 6 is not supported", "7...22"])
        b.opset = 23
        assertImportFails(b, ["opset 23 is not supported"])
        XCTAssertNoThrow(try b.importGraph(ImportOptions(acceptNewerOpsets: true)))
        b.opset = 22
        XCTAssertNoThrow(try b.importGraph())
    }

    func testEveryUnsupportedOpIsListedAtOnce() {
        var b = ModelBuilder(opset: 13)
        b.opsets = ["com.microsoft": 1]
        b.input("x", [1, 4])
        b.node("Tanh", ["x"], ["a"], name: "t1")
        b.node("Relu", ["a"], ["b"])
        b.node("LSTM", ["b"], ["c"], name: "l")
        b.node("FusedGemm", ["c"], ["d"], name: "f", domain: "com.microsoft")
        b.node("Tanh", ["d"], ["e"], name: "")
        b.outputs = ["e"]
        assertImportFails(b, ["unsupported operators (4)", "Tanh (node 't1', opset 13)", "LSTM (node 'l', opset 13)",
                              "com.microsoft.FusedGemm (node 'f', opset 1)", "Tanh (node 'Tanh #4', opset 13)"])
    }

    func testErrorsNameFileAndNode() {
        var b = ModelBuilder()
        b.input("x", [1, 3, 4, 4])
        b.floats("w", [2, 5, 3, 3])
        b.node("Conv", ["x", "w"], ["y"], name: "conv1")
        b.outputs = ["y"]
        assertImportFails(b, ["test.onnx: node 'conv1' (Conv, opset 13):", "input channels"])
    }

    func testAttributeTypeAndRange() {
        var b = ModelBuilder()
        b.input("x", [1, 4])
        b.node("LeakyRelu", ["x"], ["y"], name: "lr", ["alpha": .int(1)])
        b.outputs = ["y"]
        assertImportFails(b, ["node 'lr'", "attribute 'alpha' must be a float, got an int"])
        b.nodes[0] = ONNXNode(name: "g", opType: "Gemm", domain: "", inputs: ["x", "x"], outputs: ["y"], attributes: ["transB": .int(2)])
        assertImportFails(b, ["attribute 'transB' = 2 is out of range 0...1"])
    }

    // MARK: Opset-dependent forms

    func testClipBoundsAttributeAndInputs() throws {
        var b = ModelBuilder(opset: 10)
        b.input("x", [1, 4])
        b.node("Clip", ["x"], ["y"], ["min": .float(0), "max": .float(6)])
        b.outputs = ["y"]
        XCTAssertEqual(try b.importGraph().nodes[0].op, .clip(min: 0, max: 6))
        b.nodes[0].attributes = [:]
        XCTAssertEqual(try b.importGraph().nodes[0].op, .clip(min: -Float.greatestFiniteMagnitude, max: .greatestFiniteMagnitude))
        b.opset = 13
        b.floats("six", [], [6])
        b.nodes[0].inputs = ["x", "", "six"]
        XCTAssertEqual(try b.importGraph().nodes[0].op, .clip(min: -.infinity, max: 6))
        b.input("lo", [])
        b.nodes[0].inputs = ["x", "lo"]
        assertImportFails(b, ["Clip min 'lo' must be known at import time"])
        XCTAssertEqual(try b.importGraph(ImportOptions(constantInputs: ["lo": .float("lo", [1], dims: [])])).nodes[0].op,
                       .clip(min: 1, max: .infinity))
    }

    func testSoftmaxAxisDefaultsAndCoercion() throws {
        var b = ModelBuilder(opset: 11)
        b.input("x", ["N", 3, 4])
        b.node("Softmax", ["x"], ["y"], name: "sm")
        b.outputs = ["y"]
        // Opset 11, axis 1 on [N, 3, 4]: a softmax over 12 values per row.
        var g = try b.importGraph()
        XCTAssertEqual(g.nodes.map(\.op), [.reshape(shape: [0, 12], allowZero: false), .softmax(axis: 1),
                                           .reshape(shape: [0, 3, 4], allowZero: false)])
        XCTAssertEqual(g.outputs, ["y"])
        XCTAssertEqual(try g.type(of: "y"), try g.type(of: "x"))
        b.nodes[0].attributes = ["axis": .int(2)]
        XCTAssertEqual(try b.importGraph().nodes.map(\.op), [.softmax(axis: 2)])
        b.inputs = []
        b.input("x", ["N", 5, 1, 1])
        b.nodes[0].attributes = [:]
        XCTAssertEqual(try b.importGraph().nodes.map(\.op), [.softmax(axis: 1)])
        b.inputs = []
        b.input("x", ["N", 1, 1, 5])
        XCTAssertEqual(try b.importGraph().nodes.map(\.op), [.softmax(axis: 3)])
        b.opset = 13
        b.inputs = []
        b.input("x", ["N", 3, 4])
        g = try b.importGraph()
        XCTAssertEqual(g.nodes.map(\.op), [.softmax(axis: 2)])
    }

    func testConvAutoPad() throws {
        func pads(_ autoPad: String, input: Int = 5, kernel: Int = 4, stride: Int = 2) throws -> [Int] {
            var b = ModelBuilder()
            b.input("x", [1, 1, input, input])
            b.floats("w", [1, 1, kernel, kernel])
            b.node("Conv", ["x", "w"], ["y"], ["auto_pad": .string(autoPad), "strides": .ints([Int64(stride), Int64(stride)])])
            b.outputs = ["y"]
            guard case .conv(let a) = try b.importGraph().nodes[0].op else { return [] }
            return a.pads
        }
        // in 5, stride 2: out 3, total pad (3-1)*2 + 4 - 5 = 3.
        XCTAssertEqual(try pads("SAME_UPPER"), [1, 1, 2, 2])
        XCTAssertEqual(try pads("SAME_LOWER"), [2, 2, 1, 1])
        XCTAssertEqual(try pads("VALID"), [0, 0, 0, 0])
        XCTAssertEqual(try pads("NOTSET"), [0, 0, 0, 0])
        XCTAssertThrowsError(try pads("SAME"))
    }

    func testPoolAttributes() throws {
        var b = ModelBuilder(opset: 12)
        b.input("x", [1, 2, 7, 7])
        b.node("MaxPool", ["x"], ["y"], ["kernel_shape": .ints([3, 3]), "strides": .ints([2, 2]), "ceil_mode": .int(1),
                                          "dilations": .ints([1, 1]), "storage_order": .int(1)])
        b.node("AveragePool", ["y"], ["z"], ["kernel_shape": .ints([2, 2]), "pads": .ints([1, 1, 1, 1]), "count_include_pad": .int(1)])
        b.outputs = ["z"]
        let g = try b.importGraph()
        XCTAssertEqual(g.nodes[0].op, .maxPool(PoolAttributes(kernel: [3, 3], strides: [2, 2], ceilMode: true)))
        XCTAssertEqual(g.nodes[1].op, .averagePool(PoolAttributes(kernel: [2, 2], pads: [1, 1, 1, 1], countIncludePad: true)))
        b.nodes[0].outputs = ["y", "idx"]
        b.outputs = ["z", "idx"]
        assertImportFails(b, ["MaxPool's Indices output is used"])
        b.outputs = ["z"]
        XCTAssertNoThrow(try b.importGraph())  // an unused Indices output is fine
    }

    func testBatchNormalization() throws {
        var b = ModelBuilder(opset: 15)
        b.input("x", [1, 2, 3, 3])
        for p in ["s", "b", "m", "v"] { b.floats(p, [2]) }
        b.node("BatchNormalization", ["x", "s", "b", "m", "v"], ["y"], name: "bn", ["epsilon": .float(1e-3), "momentum": .float(0.1)])
        b.outputs = ["y"]
        XCTAssertEqual(try b.importGraph().nodes[0].op, .batchNormalization(epsilon: 1e-3))
        b.nodes[0].attributes["training_mode"] = .int(1)
        assertImportFails(b, ["node 'bn'", "training-mode BatchNormalization"])
        b.nodes[0].attributes["training_mode"] = nil
        b.nodes[0].outputs = ["y", "running_mean", "running_var"]
        b.outputs = ["y", "running_mean"]
        assertImportFails(b, ["training output 1 'running_mean' is used"])
        b.opset = 7
        b.outputs = ["y"]
        b.nodes[0].attributes["spatial"] = .int(0)
        XCTAssertNoThrow(try b.importGraph())  // per-channel parameters: same as spatial
    }

    func testDropoutForms() throws {
        var b = ModelBuilder(opset: 10)
        b.input("x", [1, 4])
        b.node("Dropout", ["x"], ["y"], ["ratio": .float(0.3)])
        b.outputs = ["y"]
        XCTAssertEqual(try b.importGraph().nodes[0].op, .dropout(ratio: 0.3))
        b.opset = 13
        b.floats("r", [], [0.2])
        b.initializers.append(ONNXTensor(name: "t", dims: [], dataType: .bool, data: .ints([1])))
        b.nodes[0] = ONNXNode(name: "d", opType: "Dropout", domain: "", inputs: ["x", "r"], outputs: ["y"], attributes: [:])
        XCTAssertEqual(try b.importGraph().nodes[0].op, .dropout(ratio: 0.2))
        b.nodes[0].inputs = ["x", "r", "t"]
        assertImportFails(b, ["training-mode Dropout"])
        b.nodes[0].inputs = ["x"]
        b.nodes[0].outputs = ["y", "mask"]
        b.outputs = ["y", "mask"]
        assertImportFails(b, ["mask output is used"])
    }

    func testSplitForms() throws {
        func sizes(_ b: ModelBuilder) throws -> [Int] {
            guard case .split(_, let s) = try b.importGraph().nodes[0].op else { return [] }
            return s
        }
        var b = ModelBuilder(opset: 11)
        b.input("x", [1, 7])
        b.node("Split", ["x"], ["a", "b"], ["axis": .int(1), "split": .ints([3, 4])])
        b.outputs = ["a", "b"]
        XCTAssertEqual(try sizes(b), [3, 4])
        b.opset = 13
        b.ints("s", [5, 2])
        b.nodes[0] = ONNXNode(name: "sp", opType: "Split", domain: "", inputs: ["x", "s"], outputs: ["a", "b"], attributes: ["axis": .int(-1)])
        XCTAssertEqual(try sizes(b), [5, 2])
        b.nodes[0].inputs = ["x"]
        assertImportFails(b, ["cannot split 7 elements into 2 equal parts"])
        b.opset = 18
        b.nodes[0].outputs = ["a", "b", "c", "d"]
        b.nodes[0].attributes["num_outputs"] = .int(4)
        b.outputs = ["a", "b", "c", "d"]
        XCTAssertEqual(try sizes(b), [2, 2, 2, 1])
    }

    func testSliceForms() throws {
        var b = ModelBuilder(opset: 9)
        b.input("x", ["N", 10, 6])
        b.node("Slice", ["x"], ["y"], ["starts": .ints([1]), "ends": .ints([Int64.max]), "axes": .ints([1])])
        b.outputs = ["y"]
        XCTAssertEqual(try b.importGraph().nodes[0].op, .slice(starts: [1], ends: [10], axes: [1], steps: [1]))
        b.opset = 13
        b.ints("st", [0, -1]); b.ints("en", [Int64.max, Int64.min]); b.ints("ax", [0, -1]); b.ints("sp", [1, -2])
        b.nodes[0] = ONNXNode(name: "s", opType: "Slice", domain: "", inputs: ["x", "st", "en", "ax", "sp"], outputs: ["y"], attributes: [:])
        let g = try b.importGraph()
        // The whole-range slice of the symbolic batch is dropped; INT64_MIN clamps to -n-1.
        XCTAssertEqual(g.nodes[0].op, .slice(starts: [-1], ends: [-7], axes: [2], steps: [-2]))
        XCTAssertEqual(try g.type(of: "y"), TensorType(dims: [.symbol("N"), .fixed(10), .fixed(3)]))
    }

    func testPadForms() throws {
        var b = ModelBuilder(opset: 10)
        b.input("x", [1, 2, 3, 3])
        b.node("Pad", ["x"], ["y"], ["pads": .ints([0, 0, 1, 1, 0, 0, 1, 1]), "value": .float(-1)])
        b.outputs = ["y"]
        XCTAssertEqual(try b.importGraph().nodes[0].op, .pad(pads: [0, 0, 1, 1, 0, 0, 1, 1], mode: .constant, value: -1))
        b.opset = 18
        b.ints("p", [1, 2, 1, 2]); b.floats("v", [], [3]); b.ints("a", [2, 3])
        b.nodes[0] = ONNXNode(name: "pad", opType: "Pad", domain: "", inputs: ["x", "p", "v", "a"], outputs: ["y"],
                              attributes: ["mode": .string("reflect")])
        XCTAssertEqual(try b.importGraph().nodes[0].op, .pad(pads: [0, 0, 1, 2, 0, 0, 1, 2], mode: .reflect, value: 3))
        b.nodes[0].attributes["mode"] = .string("mirror")
        assertImportFails(b, ["Pad mode 'mirror'"])
    }

    func testSqueezeUnsqueezeAsReshapeOrFolded() throws {
        var b = ModelBuilder(opset: 11)
        b.input("x", ["N", 3, 1, 1])
        b.node("Squeeze", ["x"], ["s"], ["axes": .ints([2, 3])])
        b.node("Unsqueeze", ["s"], ["u"], ["axes": .ints([-1])])
        b.outputs = ["u"]
        var g = try b.importGraph()
        XCTAssertEqual(g.nodes.map(\.op), [.reshape(shape: [0, 3], allowZero: false), .reshape(shape: [0, 3, 1], allowZero: false)])
        XCTAssertEqual(try g.type(of: "u"), TensorType(dims: [.symbol("N"), .fixed(3), .fixed(1)]))
        b.opset = 13
        b.ints("ax", [2, 3]); b.ints("a0", [2])
        b.nodes[0].inputs = ["x", "ax"]; b.nodes[0].attributes = [:]
        b.nodes[1].inputs = ["s", "a0"]; b.nodes[1].attributes = [:]
        g = try b.importGraph()
        XCTAssertEqual(g.nodes.count, 2)
        // On constants they fold: the densenet pattern Unsqueeze(bn scale) → Mul.
        var c = ModelBuilder(opset: 9)
        c.input("x", [1, 3, 2, 2])
        c.floats("scale", [3])
        c.node("Unsqueeze", ["scale"], ["s3"], ["axes": .ints([1, 2])])
        c.node("Mul", ["x", "s3"], ["y"])
        c.outputs = ["y"]
        g = try c.importGraph()
        XCTAssertEqual(g.opNames, ["mul"])
        XCTAssertEqual(g.constants["s3"]?.shape, [3, 1, 1])
    }

    func testReduceMeanForms() throws {
        var b = ModelBuilder(opset: 13)
        b.input("x", ["N", 4, 5, 5])
        b.node("ReduceMean", ["x"], ["y"], ["axes": .ints([-1, -2]), "keepdims": .int(0)])
        b.outputs = ["y"]
        var g = try b.importGraph()
        XCTAssertEqual(g.nodes[0].op, .reduceMean(axes: [2, 3], keepDims: false))
        XCTAssertEqual(try g.type(of: "y"), TensorType(dims: [.symbol("N"), .fixed(4)]))
        b.opset = 18
        b.ints("axes", [2, 3])
        b.nodes[0] = ONNXNode(name: "rm", opType: "ReduceMean", domain: "", inputs: ["x", "axes"], outputs: ["y"], attributes: [:])
        g = try b.importGraph()
        XCTAssertEqual(g.nodes[0].op, .reduceMean(axes: [2, 3], keepDims: true))
        b.nodes[0].inputs = ["x"]
        b.nodes[0].attributes["noop_with_empty_axes"] = .int(1)
        XCTAssertEqual(try b.importGraph().nodes[0].op, .identity)
    }

    func testGemmTransposeConcatFlattenAndSum() throws {
        var b = ModelBuilder(opset: 9)
        b.input("x", ["N", 2, 3])
        b.floats("w", [4, 6])
        b.node("Flatten", ["x"], ["f"])
        b.node("Gemm", ["f", "w"], ["g"], ["alpha": .float(2), "transB": .int(1)])
        b.input("u", [2, 3, 4])
        b.node("Transpose", ["u"], ["t"])
        b.node("Concat", ["g", "g"], ["c"], ["axis": .int(-1)])
        b.node("Sum", ["c", "c", "c"], ["s"], name: "sum")
        b.outputs = ["s", "t"]
        let g = try b.importGraph()
        XCTAssertEqual(g.nodes.map(\.op), [.flatten(axis: 1), .gemm(GemmAttributes(alpha: 2, transB: true)),
                                           .transpose(perm: [2, 1, 0]), .concat(axis: 1), .add, .add])
        XCTAssertEqual(try g.type(of: "t"), TensorType(shape: [4, 3, 2]))
        // Moving the symbolic batch away from the front is outside the IR.
        b.nodes[2].inputs = ["x"]
        assertImportFails(b, ["node 'transpose2' (Transpose, opset 9)", "only the leading (batch) dimension may be symbolic"])
        XCTAssertEqual(g.nodes.last?.name, "sum")
        XCTAssertEqual(try g.type(of: "s"), TensorType(dims: [.symbol("N"), .fixed(8)]))
    }

    func testConstantForms() throws {
        var b = ModelBuilder()
        b.input("x", [2])
        b.node("Constant", [], ["a"], ["value_float": .float(2)])
        b.node("Constant", [], ["b"], ["value_floats": .floats([1, 2])])
        b.node("Constant", [], ["c"], ["value": .tensor(.float("", [3, 4], dims: [2]))])
        b.node("Add", ["a", "b"], ["ab"])
        b.node("Mul", ["ab", "c"], ["abc"])
        b.node("Add", ["x", "abc"], ["y"])
        b.outputs = ["y"]
        let g = try b.importGraph()
        XCTAssertEqual(g.opNames, ["add"])
        XCTAssertEqual(g.constants["abc"]?.scalars, [9, 16])
        b.nodes[0].attributes = ["value_string": .string("s")]
        assertImportFails(b, ["value_string"])
        b.nodes[0].attributes = [:]
        assertImportFails(b, ["Constant sets no value"])
    }

    func testGatherOnRuntimeValues() throws {
        var b = ModelBuilder()
        b.input("x", ["N", 6, 2])
        b.ints("i", [1, 3, 5])
        b.ints("j", [4, 0])
        b.ints("k", [2], dims: [])
        b.node("Gather", ["x", "i"], ["a"], ["axis": .int(1)])
        b.node("Gather", ["x", "j"], ["b"], ["axis": .int(1)])
        b.node("Gather", ["x", "k"], ["c"], ["axis": .int(-2)])
        b.outputs = ["a", "b", "c"]
        let g = try b.importGraph()
        XCTAssertEqual(try g.type(of: "a"), TensorType(dims: [.symbol("N"), .fixed(3), .fixed(2)]))
        XCTAssertEqual(try g.type(of: "b"), TensorType(dims: [.symbol("N"), .fixed(2), .fixed(2)]))
        XCTAssertEqual(try g.type(of: "c"), TensorType(dims: [.symbol("N"), .fixed(2)]))
        XCTAssertEqual(g.nodes.map(\.op), [.slice(starts: [1], ends: [6], axes: [1], steps: [2]),
                                           .slice(starts: [4], ends: [-7], axes: [1], steps: [-4]),
                                           .slice(starts: [2], ends: [3], axes: [1], steps: [1]),
                                           .reshape(shape: [0, 2], allowZero: false)])
        // Indices that are no progression: one slice each, then a concat.
        b.ints("m", [0, 1, 3])
        b.nodes[0].inputs = ["x", "m"]
        XCTAssertEqual(try b.importGraph().opNames.prefix(4), ["slice", "slice", "slice", "concat"])
    }

    // MARK: Shape arithmetic

    /// The `x.view(x.size(0), -1)` chain built by hand, with the batch symbolic: Reshape [0, -1].
    func testShapeChainWithSymbolicBatch() throws {
        var b = ModelBuilder(opset: 13)
        b.input("x", ["batch", 4, 2, 2])
        b.node("Shape", ["x"], ["shape"])
        b.node("Constant", [], ["zero"], ["value": .tensor(.int64("", [0], dims: []))])
        b.node("Gather", ["shape", "zero"], ["n"], ["axis": .int(0)])
        b.ints("axes", [0])
        b.node("Unsqueeze", ["n", "axes"], ["n1"])
        b.ints("minus1", [-1])
        b.node("Concat", ["n1", "minus1"], ["target"], ["axis": .int(0)])
        b.node("Reshape", ["x", "target"], ["y"])
        b.outputs = ["y"]
        let g = try b.importGraph()
        XCTAssertEqual(g.nodes.map(\.op), [.reshape(shape: [0, -1], allowZero: false)])
        XCTAssertEqual(try g.type(of: "y"), TensorType(dims: [.symbol("batch"), .fixed(16)]))
        XCTAssertTrue(g.constants.isEmpty)
        // Arithmetic on the batch that s2dc cannot follow fails at the Reshape.
        b.ints("two", [2])
        b.node("Mul", ["n1", "two"], ["n2"])
        b.nodes[b.nodes.count - 2].inputs = ["x", "target"]
        b.node("Concat", ["n2", "minus1"], ["t2"], ["axis": .int(0)])
        b.node("Reshape", ["x", "t2"], ["z"], name: "r2")
        b.outputs = ["y", "z"]
        assertImportFails(b, ["node 'r2'", "symbolic"])
    }

    /// The tf2onnx form of a dynamic flatten: Shape → Cast(int32) → Slice(0:1) → Concat with
    /// [-1] → Cast(int64) → Reshape, after an NHWC → NCHW transpose of the input.
    func testTf2onnxFlattenChain() throws {
        var b = ModelBuilder(opset: 13)
        b.input("x", ["unk__0", 4, 4, 3])
        b.node("Transpose", ["x"], ["nchw"], ["perm": .ints([0, 3, 1, 2])])
        b.node("Shape", ["nchw"], ["s"])
        b.node("Cast", ["s"], ["s32"], ["to": .int(6)])
        b.ints("zero", [0]); b.ints("one", [1])
        b.node("Slice", ["s32", "zero", "one"], ["n"])
        b.initializers.append(ONNXTensor(name: "m1", dims: [1], dataType: .int32, data: .ints([-1])))
        b.node("Concat", ["n", "m1"], ["t32"], ["axis": .int(0)])
        b.node("Cast", ["t32"], ["t"], ["to": .int(7)])
        b.node("Reshape", ["nchw", "t"], ["y"])
        b.outputs = ["y"]
        let g = try b.importGraph()
        XCTAssertEqual(g.nodes.map(\.op), [.transpose(perm: [0, 3, 1, 2]), .reshape(shape: [0, -1], allowZero: false)])
        XCTAssertEqual(try g.type(of: "y"), TensorType(dims: [.symbol("unk__0"), .fixed(48)]))
    }

    func testFoldingArithmeticIsChecked() {
        var b = ModelBuilder()
        b.input("x", [1])
        b.ints("big", [Int64.max])
        b.node("Add", ["big", "big"], ["s"], name: "add")
        b.node("Reshape", ["x", "s"], ["y"])
        b.outputs = ["y"]
        assertImportFails(b, ["node 'add'", "integer overflow"])
        b.nodes[0] = ONNXNode(name: "div", opType: "Div", domain: "", inputs: ["big", "zero"], outputs: ["s"], attributes: [:])
        b.ints("zero", [0])
        assertImportFails(b, ["node 'div'", "division by zero"])
        var r = ModelBuilder()
        r.input("x", [1])
        r.ints("s", [0], dims: []); r.ints("l", [Int64.max], dims: []); r.ints("d", [1], dims: [])
        r.node("Range", ["s", "l", "d"], ["y"], name: "range")
        r.outputs = ["y"]
        assertImportFails(r, ["node 'range'", "more than 268435456 elements"])
        r.nodes[0] = ONNXNode(name: "cos", opType: "ConstantOfShape", domain: "", inputs: ["shape"], outputs: ["y"], attributes: [:])
        r.ints("shape", [1 << 40, 1 << 40])
        assertImportFails(r, ["node 'cos'", "more than"])
        r.initializers.removeLast()
        r.ints("shape", [-1])
        assertImportFails(r, ["negative dimension"])
    }

    func testFoldedIntegerOutputBecomesFloatConstant() throws {
        var b = ModelBuilder(opset: 15)
        b.input("x", [2, 3, 4])
        b.node("Shape", ["x"], ["s"], ["start": .int(-2)])
        b.outputs = ["s"]
        let g = try b.importGraph()
        XCTAssertEqual(g.constants["s"], Tensor(shape: [2], scalars: [3, 4]))
        XCTAssertEqual(g.outputs, ["s"])
    }

    func testCastAndExpandOnRuntimeValues() throws {
        var b = ModelBuilder()
        b.input("x", ["N", 1, 3])
        b.ints("shape", [1, 2, 1])
        b.node("Cast", ["x"], ["c"], ["to": .int(1)])
        b.node("Expand", ["c", "shape"], ["y"])
        b.outputs = ["c", "y"]
        let g = try b.importGraph()
        XCTAssertEqual(g.opNames, ["add", "identity"])  // the output alias 'c' keeps its name
        XCTAssertEqual(try g.type(of: "y"), TensorType(dims: [.symbol("N"), .fixed(2), .fixed(3)]))
        XCTAssertEqual(g.outputs, ["c", "y"])
        b.nodes[0].attributes = ["to": .int(7)]
        assertImportFails(b, ["Cast of runtime data to int64"])
    }

    // MARK: PyTorch idioms (Fixtures/import, from scripts/make-import-fixtures.py)

    func testTorchFlattenIdioms() throws {
        let dir = DecoderTestSupport.fixtures.appendingPathComponent("import")
        for (name, head) in [("flatten_opset11", Op.flatten(axis: 1)), ("flatten_opset17", .flatten(axis: 1)),
                             ("view_opset11", .reshape(shape: [0, -1], allowZero: false)),
                             ("view_opset17", .reshape(shape: [0, -1], allowZero: false)),
                             ("expand_opset17", .flatten(axis: 1))] {
            let g = try ONNXLoader.load(path: dir.appendingPathComponent("\(name).onnx").path)
            let expected: [Op] = name.hasPrefix("expand") ? [.identity, head] : [head]
            XCTAssertEqual(Array(g.nodes.map(\.op).dropFirst(3).dropLast()), expected, name)
            XCTAssertEqual(g.opNames.first, "conv", name)
            XCTAssertEqual(g.opNames.last, "gemm", name)
            XCTAssertEqual(g.outputs, ["logits"], name)
            XCTAssertEqual(try g.type(of: "logits"), TensorType(dims: [.symbol("batch"), .fixed(10)]), name)
            XCTAssertEqual(Set(g.constantNames), ["conv.weight", "conv.bias", "fc.weight", "fc.bias"], name)
            assertValidIR(g, name)
        }
    }
}
