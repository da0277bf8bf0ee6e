// ShapeInferenceTests: expected output types per op, ONNX spec examples, and errors naming the node.
import XCTest
@testable import IR

/// A fixed type.
private func T(_ dims: Int...) -> TensorType { TensorType(shape: dims) }
/// A type with a symbolic batch "N" in front of the fixed dims.
private func NT(_ dims: Int...) -> TensorType { TensorType(dims: [.symbol("N")] + dims.map { .fixed($0) }) }

private func infer(_ op: Op, _ inputs: TensorType...) throws -> [TensorType] {
    try ShapeInference.outputTypes(op: op, inputs: inputs)
}

private func inferOne(_ op: Op, _ inputs: TensorType...) throws -> TensorType {
    let out = try ShapeInference.outputTypes(op: op, inputs: inputs)
    guard out.count == 1 else { throw IRError("expected one output, got \(out.count)") }
    return out[0]
}

/// Asserts that inference fails with a message containing `fragment`.
private func assertFails(_ op: Op, _ inputs: [TensorType], _ fragment: String, file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertThrowsError(try ShapeInference.outputTypes(op: op, inputs: inputs), file: file, line: line) { error in
        let text = (error as? IRError)?.message ?? "\(error)"
        XCTAssertTrue(text.contains(fragment), "'\(text)' does not mention '\(fragment)'", file: file, line: line)
    }
}

final class ShapeInferenceTests: XCTestCase {
    // MARK: Elementwise

    func testUnaryOpsKeepTheType() throws {
        let ops: [Op] = [.relu, .leakyRelu(alpha: 0.1), .clip(min: 0, max: 6), .sigmoid,
                         .hardSigmoid(alpha: 0.2, beta: 0.5), .hardSwish, .dropout(ratio: 0.5), .identity]
        for op in ops { XCTAssertEqual(try inferOne(op, NT(3, 8, 8)), NT(3, 8, 8), op.name) }
    }

    func testBinaryBroadcast() throws {
        XCTAssertEqual(try inferOne(.add, NT(3, 8, 8), T(3, 1, 1)), NT(3, 8, 8))
        XCTAssertEqual(try inferOne(.mul, T(2, 1, 4), T(3, 1)), T(2, 3, 4))
        XCTAssertEqual(try inferOne(.div, T(1), NT(5)), NT(5))
        XCTAssertEqual(try inferOne(.sub, TensorType(shape: []), T(2, 2)), T(2, 2))
        assertFails(.add, [NT(3), T(4)], "do not broadcast")
        assertFails(.add, [NT(3), T(2, 3)], "do not broadcast")
        assertFails(.add, [NT(3), TensorType(dims: [.symbol("M"), .fixed(3)])], "do not broadcast")
        assertFails(.add, [NT(3)], "add takes 2 inputs, got 1")
    }

    // MARK: Conv

    func testConvWithSymbolicBatch() throws {
        // ResNet stem: 7×7 stride 2 pad 3 on 224 gives 112.
        let a = ConvAttributes(kernel: [7, 7], strides: [2, 2], pads: [3, 3, 3, 3])
        XCTAssertEqual(try inferOne(.conv(a), NT(3, 224, 224), T(64, 3, 7, 7)), NT(64, 112, 112))
        XCTAssertEqual(try inferOne(.conv(a), NT(3, 224, 224), T(64, 3, 7, 7), T(64)), NT(64, 112, 112))
    }

    func testConvGroupsDilationAsymmetricPads() throws {
        // Depthwise, stride 2, pad 1: floor((56 + 2 - 3) / 2) + 1 = 28.
        let dw = ConvAttributes(kernel: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], group: 32)
        XCTAssertEqual(try inferOne(.conv(dw), T(1, 32, 56, 56), T(32, 1, 3, 3)), T(1, 32, 28, 28))
        // Dilation 2 makes a 3×3 kernel span 5: 16 + 4 - 5 + 1 = 16.
        let dil = ConvAttributes(kernel: [3, 3], pads: [2, 2, 2, 2], dilations: [2, 2], group: 2)
        XCTAssertEqual(try inferOne(.conv(dil), T(1, 8, 16, 16), T(6, 4, 3, 3)), T(1, 6, 16, 16))
        // Pads only at the end (top 0, left 0, bottom 1, right 1): floor((5 + 1 - 2) / 2) + 1 = 3.
        let asym = ConvAttributes(kernel: [2, 2], strides: [2, 2], pads: [0, 0, 1, 1])
        XCTAssertEqual(try inferOne(.conv(asym), T(1, 1, 5, 5), T(4, 1, 2, 2)), T(1, 4, 3, 3))
        // Different height and width.
        let rect = ConvAttributes(kernel: [1, 7], pads: [0, 3, 0, 3])
        XCTAssertEqual(try inferOne(.conv(rect), NT(8, 17, 17), T(8, 8, 1, 7)), NT(8, 17, 17))
    }

    func testConvOneAndThreeSpatialDimensions() throws {
        XCTAssertEqual(try inferOne(.conv(ConvAttributes(kernel: [3], strides: [2])), T(2, 4, 11), T(8, 4, 3)), T(2, 8, 5))
        XCTAssertEqual(try inferOne(.conv(ConvAttributes(kernel: [3, 3, 3], pads: [1, 1, 1, 1, 1, 1])),
                                    NT(2, 4, 6, 6), T(5, 2, 3, 3, 3)), NT(5, 4, 6, 6))
    }

    func testConvErrors() {
        let k3 = ConvAttributes(kernel: [3, 3])
        assertFails(.conv(k3), [NT(4, 8, 8), T(8, 3, 3, 3)], "expects 3 input channels, input has 4")
        assertFails(.conv(ConvAttributes(kernel: [3, 3], group: 3)), [NT(4, 8, 8), T(6, 1, 3, 3)], "group 3 must divide")
        assertFails(.conv(ConvAttributes(kernel: [3, 3], group: 0)), [NT(4, 8, 8), T(6, 4, 3, 3)], "group 0")
        assertFails(.conv(ConvAttributes(kernel: [5, 5])), [NT(3, 8, 8), T(8, 3, 3, 3)], "does not match weight")
        assertFails(.conv(k3), [NT(3, 8, 8), T(8, 3, 3, 3), T(4)], "bias")
        assertFails(.conv(k3), [NT(3, 2, 2), T(8, 3, 3, 3)], "larger than the padded input")
        assertFails(.conv(ConvAttributes(kernel: [3, 3], strides: [0, 1])), [NT(3, 8, 8), T(8, 3, 3, 3)], "must be >= 1")
        assertFails(.conv(ConvAttributes(kernel: [3, 3], pads: [-1, 0, 0, 0])), [NT(3, 8, 8), T(8, 3, 3, 3)], "pads must be >= 0")
        assertFails(.conv(ConvAttributes(kernel: [3])), [NT(3, 8, 8), T(8, 3, 3, 3)], "spatial dimensions")
        assertFails(.conv(k3), [TensorType(dims: [.fixed(1), .symbol("C"), .fixed(8), .fixed(8)]), T(8, 3, 3, 3)],
                    "static size")
    }

    // MARK: Normalization

    func testBatchNormAndLRN() throws {
        XCTAssertEqual(try inferOne(.batchNormalization(epsilon: 1e-5), NT(16, 4, 4), T(16), T(16), T(16), T(16)), NT(16, 4, 4))
        assertFails(.batchNormalization(epsilon: 1e-5), [NT(16, 4, 4), T(16), T(8), T(16), T(16)], "must be f32[16]")
        assertFails(.batchNormalization(epsilon: 1e-5), [NT(16, 4, 4), T(16)], "takes 5 inputs, got 2")
        XCTAssertEqual(try inferOne(.lrn(size: 5, alpha: 1e-4, beta: 0.75, bias: 1), NT(96, 55, 55)), NT(96, 55, 55))
        assertFails(.lrn(size: 0, alpha: 1e-4, beta: 0.75, bias: 1), [NT(96, 55, 55)], "size must be >= 1")
        XCTAssertEqual(try inferOne(.softmax(axis: -1), NT(1000)), NT(1000))
        XCTAssertEqual(try inferOne(.softmax(axis: 1), NT(1000)), NT(1000))
        assertFails(.softmax(axis: 2), [NT(1000)], "axis 2 is out of range for rank 2")
        assertFails(.softmax(axis: -3), [NT(1000)], "out of range")
    }

    // MARK: Pooling

    func testPoolFloorMode() throws {
        let p = PoolAttributes(kernel: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1])
        XCTAssertEqual(try inferOne(.maxPool(p), NT(64, 112, 112)), NT(64, 56, 56))
        XCTAssertEqual(try inferOne(.averagePool(PoolAttributes(kernel: [2, 2], strides: [2, 2])), T(1, 8, 7, 7)), T(1, 8, 3, 3))
        // Dilation 2 spreads a 2-wide window over 3 cells: 8 - 3 + 1 = 6.
        XCTAssertEqual(try inferOne(.maxPool(PoolAttributes(kernel: [2], dilations: [2])), T(1, 1, 8)), T(1, 1, 6))
        XCTAssertEqual(try inferOne(.averagePool(PoolAttributes(kernel: [2, 2, 2], strides: [2, 2, 2])), T(1, 2, 4, 6, 8)),
                       T(1, 2, 2, 3, 4))
    }

    /// ONNX/PyTorch: out = ceil((in + pads - dilation·(k-1) - 1) / stride) + 1, then dropped by one if
    /// the last window would start in the right padding.
    func testPoolCeilMode() throws {
        func pool1D(_ n: Int, k: Int, s: Int, pad: Int, ceil: Bool) throws -> TensorType {
            try inferOne(.maxPool(PoolAttributes(kernel: [k], strides: [s], pads: [pad, pad], ceilMode: ceil)), T(1, 1, n))
        }
        // GoogLeNet (torchvision) after the stem: MaxPool(3, 2, ceil_mode=True) takes 112 to 56; floor gives 55.
        XCTAssertEqual(try pool1D(112, k: 3, s: 2, pad: 0, ceil: true), T(1, 1, 56))
        XCTAssertEqual(try pool1D(112, k: 3, s: 2, pad: 0, ceil: false), T(1, 1, 55))
        // SqueezeNet 1.1: 111 → 55 → 27 → 13 with ceil mode (exact divisions, ceil changes nothing).
        XCTAssertEqual(try pool1D(111, k: 3, s: 2, pad: 0, ceil: true), T(1, 1, 55))
        XCTAssertEqual(try pool1D(55, k: 3, s: 2, pad: 0, ceil: true), T(1, 1, 27))
        XCTAssertEqual(try pool1D(5, k: 2, s: 2, pad: 0, ceil: true), T(1, 1, 3))
        XCTAssertEqual(try pool1D(5, k: 2, s: 2, pad: 0, ceil: false), T(1, 1, 2))
        // ceil((5 + 2 - 2) / 2) + 1 = 4, but the 4th window would start at padded index 6, in the
        // right padding, so PyTorch (and ONNX) drop it: 3. Same size as floor mode here.
        XCTAssertEqual(try pool1D(5, k: 2, s: 2, pad: 1, ceil: true), T(1, 1, 3))
        // 6 with k3 s2 p1: ceil(5 / 2) + 1 = 4; the last window starts at padded index 6 < 6 + 1: kept.
        XCTAssertEqual(try pool1D(6, k: 3, s: 2, pad: 1, ceil: true), T(1, 1, 4))
        XCTAssertEqual(try pool1D(6, k: 3, s: 2, pad: 1, ceil: false), T(1, 1, 3))
    }

    func testPoolErrors() {
        assertFails(.maxPool(PoolAttributes(kernel: [2, 2], pads: [2, 0, 0, 0])), [NT(3, 8, 8)], "smaller than the kernel")
        assertFails(.maxPool(PoolAttributes(kernel: [9, 9])), [NT(3, 8, 8)], "larger than the padded input")
        assertFails(.averagePool(PoolAttributes(kernel: [2])), [NT(3, 8, 8)], "spatial dimensions")
        assertFails(.maxPool(PoolAttributes(kernel: [2, 2])), [NT(3)], "N×C×spatial")
    }

    func testGlobalPoolAndReduceMean() throws {
        XCTAssertEqual(try inferOne(.globalAveragePool, NT(512, 7, 7)), NT(512, 1, 1))
        XCTAssertEqual(try inferOne(.globalAveragePool, T(2, 8, 3, 4, 5)), T(2, 8, 1, 1, 1))
        assertFails(.globalAveragePool, [NT(512)], "rank >= 3")
        XCTAssertEqual(try inferOne(.reduceMean(axes: [2, 3], keepDims: false), NT(512, 7, 7)), NT(512))
        XCTAssertEqual(try inferOne(.reduceMean(axes: [-1, -2], keepDims: true), NT(512, 7, 7)), NT(512, 1, 1))
        XCTAssertEqual(try inferOne(.reduceMean(axes: [], keepDims: false), T(2, 3)), TensorType(shape: []))
        assertFails(.reduceMean(axes: [2, -2], keepDims: true), [NT(512, 7, 7)], "repeat an axis")
        assertFails(.reduceMean(axes: [4], keepDims: true), [NT(512, 7, 7)], "out of range")
    }

    // MARK: Gemm and MatMul

    func testGemm() throws {
        let fc = GemmAttributes(transB: true)
        XCTAssertEqual(try inferOne(.gemm(fc), NT(512), T(1000, 512), T(1000)), NT(1000))
        XCTAssertEqual(try inferOne(.gemm(fc), NT(512), T(1000, 512)), NT(1000))
        // C is unidirectionally broadcast to (M, N): scalar, [N], [1, N], [M, 1] and [M, N] all fit.
        XCTAssertEqual(try inferOne(.gemm(GemmAttributes()), T(4, 6), T(6, 5), TensorType(shape: [])), T(4, 5))
        XCTAssertEqual(try inferOne(.gemm(GemmAttributes()), T(4, 6), T(6, 5), T(1, 5)), T(4, 5))
        XCTAssertEqual(try inferOne(.gemm(GemmAttributes()), T(4, 6), T(6, 5), T(4, 1)), T(4, 5))
        XCTAssertEqual(try inferOne(.gemm(GemmAttributes()), T(4, 6), T(6, 5), T(4, 5)), T(4, 5))
        assertFails(.gemm(GemmAttributes()), [T(4, 6), T(6, 5), T(2, 5)], "does not broadcast")
        assertFails(.gemm(GemmAttributes()), [T(4, 6), T(6, 5), T(1, 4, 5)], "does not broadcast")
        // transA: A is [K, M].
        XCTAssertEqual(try inferOne(.gemm(GemmAttributes(transA: true)), T(6, 4), T(6, 5)), T(4, 5))
        assertFails(.gemm(fc), [NT(512), T(512, 1000)], "inner dimensions differ")
        assertFails(.gemm(fc), [NT(512, 1), T(1000, 512)], "must be 2-D")
    }

    func testMatMulOneDimensionalAndBroadcast() throws {
        XCTAssertEqual(try inferOne(.matMul, T(3, 4), T(4, 5)), T(3, 5))
        // NumPy: a 1-D left operand gets a 1 prepended and removed again, a 1-D right one a 1 appended.
        XCTAssertEqual(try inferOne(.matMul, T(4), T(4)), TensorType(shape: []))
        XCTAssertEqual(try inferOne(.matMul, T(4), T(4, 5)), T(5))
        XCTAssertEqual(try inferOne(.matMul, T(3, 4), T(4)), T(3))
        XCTAssertEqual(try inferOne(.matMul, T(4), T(2, 4, 5)), T(2, 5))
        // Batch dimensions broadcast: [2, 1] with [5] gives [2, 5].
        XCTAssertEqual(try inferOne(.matMul, T(2, 1, 3, 4), T(5, 4, 6)), T(2, 5, 3, 6))
        XCTAssertEqual(try inferOne(.matMul, NT(3, 4), T(4, 6)), NT(3, 6))
        assertFails(.matMul, [T(3, 4), T(5, 6)], "inner dimensions differ")
        assertFails(.matMul, [T(2, 3, 4), T(3, 4, 6)], "do not broadcast")
    }

    // MARK: Shape ops

    func testFlatten() throws {
        XCTAssertEqual(try inferOne(.flatten(axis: 1), NT(512, 1, 1)), NT(512))
        XCTAssertEqual(try inferOne(.flatten(axis: 0), T(2, 3, 4)), T(1, 24))
        XCTAssertEqual(try inferOne(.flatten(axis: -1), T(2, 3, 4)), T(6, 4))
        XCTAssertEqual(try inferOne(.flatten(axis: 3), T(2, 3, 4)), T(24, 1))
        // The batch may only stay whole: [N·1] is fine, [1, N·192] is not expressible.
        XCTAssertEqual(try inferOne(.flatten(axis: 2), NT(1, 8)), NT(8))
        assertFails(.flatten(axis: 0), [NT(3, 8, 8)], "symbolic")
        assertFails(.flatten(axis: 2), [NT(3, 8, 8)], "symbolic")
        assertFails(.flatten(axis: 4), [T(2, 3, 4)], "out of range")
    }

    func testReshape() throws {
        // Reshape(0, -1) is how PyTorch exports x.view(x.size(0), -1).
        XCTAssertEqual(try inferOne(.reshape(shape: [0, -1], allowZero: false), NT(512, 1, 1)), NT(512))
        XCTAssertEqual(try inferOne(.reshape(shape: [-1, 512], allowZero: false), NT(512, 1, 1)), NT(512))
        XCTAssertEqual(try inferOne(.reshape(shape: [-1, 1, 512], allowZero: false), NT(512)), NT(1, 512))
        XCTAssertEqual(try inferOne(.reshape(shape: [4, -1], allowZero: false), T(2, 3, 4)), T(4, 6))
        // A 0 copies the input dimension at the same index.
        XCTAssertEqual(try inferOne(.reshape(shape: [4, 0, 2], allowZero: false), T(2, 3, 4)), T(4, 3, 2))
        XCTAssertEqual(try inferOne(.reshape(shape: [0, 3, -1], allowZero: false), NT(6, 2)), NT(3, 4))
        // allowzero: a 0 is a real zero size.
        XCTAssertEqual(try inferOne(.reshape(shape: [3, 0], allowZero: true), T(0, 3)), T(3, 0))
    }

    func testReshapeErrors() {
        assertFails(.reshape(shape: [-1, -1], allowZero: false), [T(2, 3)], "more than one -1")
        assertFails(.reshape(shape: [5, -1], allowZero: false), [T(2, 3, 4)], "cannot reshape")
        assertFails(.reshape(shape: [5, 5], allowZero: false), [T(2, 3, 4)], "24 elements")
        assertFails(.reshape(shape: [-2, 12], allowZero: false), [T(2, 3, 4)], "negative size")
        assertFails(.reshape(shape: [2, 3, 4, 0], allowZero: false), [T(2, 3, 4)], "copies dimension 3")
        // ONNX: "It is invalid to set allowzero = 1 with a shape containing both 0 and -1."
        assertFails(.reshape(shape: [0, -1], allowZero: true), [T(2, 3)], "both 0 and -1")
        // The symbolic batch must stay whole and in front.
        assertFails(.reshape(shape: [-1, 256], allowZero: false), [NT(512)], "symbolic")
        assertFails(.reshape(shape: [1, 512], allowZero: false), [NT(512)], "symbolic")
        assertFails(.reshape(shape: [512, -1], allowZero: false), [NT(512)], "only the leading")
    }

    func testTranspose() throws {
        XCTAssertEqual(try inferOne(.transpose(perm: [0, 2, 3, 1]), NT(3, 4, 5)), NT(4, 5, 3))
        XCTAssertEqual(try inferOne(.transpose(perm: [1, 0]), T(2, 3)), T(3, 2))
        assertFails(.transpose(perm: [0, 1, 1, 2]), [NT(3, 4, 5)], "not a permutation")
        assertFails(.transpose(perm: [0, 1]), [NT(3, 4, 5)], "not a permutation")
        assertFails(.transpose(perm: [1, 0]), [NT(3)], "only the leading")
    }

    func testConcatAndSplit() throws {
        XCTAssertEqual(try inferOne(.concat(axis: 1), NT(64, 28, 28), NT(32, 28, 28), NT(32, 28, 28)), NT(128, 28, 28))
        XCTAssertEqual(try inferOne(.concat(axis: -3), NT(64, 28, 28), NT(32, 28, 28)), NT(96, 28, 28))
        XCTAssertEqual(try inferOne(.concat(axis: 1), NT(64, 28, 28)), NT(64, 28, 28))
        assertFails(.concat(axis: 1), [NT(64, 28, 28), NT(32, 14, 14)], "differ outside axis")
        assertFails(.concat(axis: 1), [NT(64, 28, 28), NT(32, 28)], "differ in rank")
        assertFails(.concat(axis: 0), [NT(64), NT(64)], "static size")
        assertFails(.concat(axis: 4), [NT(64, 28, 28)], "out of range")

        XCTAssertEqual(try infer(.split(axis: 1, sizes: [32, 64]), NT(96, 7, 7)), [NT(32, 7, 7), NT(64, 7, 7)])
        XCTAssertEqual(try infer(.split(axis: -1, sizes: [1, 1, 1]), T(2, 3)), [T(2, 1), T(2, 1), T(2, 1)])
        assertFails(.split(axis: 1, sizes: [32, 32]), [NT(96, 7, 7)], "do not add up to 96")
        assertFails(.split(axis: 1, sizes: [-1, 97]), [NT(96, 7, 7)], "do not add up")
    }

    func testPad() throws {
        XCTAssertEqual(try inferOne(.pad(pads: [0, 0, 1, 2, 0, 0, 3, 4], mode: .constant, value: 0), NT(3, 8, 8)), NT(3, 12, 14))
        // Negative pads crop.
        XCTAssertEqual(try inferOne(.pad(pads: [0, 0, -1, -1, 0, 0, -1, -1], mode: .edge, value: 0), NT(3, 8, 8)), NT(3, 6, 6))
        assertFails(.pad(pads: [0, 0, 1, 1], mode: .constant, value: 0), [NT(3, 8, 8)], "needs 8 pads")
        assertFails(.pad(pads: [1, 0, 0, 0, 0, 0, 0, 0], mode: .constant, value: 0), [NT(3, 8, 8)], "static size")
        assertFails(.pad(pads: [0, 0, -5, 0, 0, 0, -5, 0], mode: .constant, value: 0), [NT(3, 8, 8)], "negative")
    }

    // MARK: Slice

    /// Shapes from the ONNX operator spec's Slice examples and backend test cases.
    func testSliceONNXExamples() throws {
        func slice(_ x: TensorType, starts: [Int], ends: [Int], axes: [Int]? = nil, steps: [Int]? = nil) throws -> TensorType {
            try inferOne(.slice(starts: starts, ends: ends, axes: axes ?? Array(0..<starts.count),
                                steps: steps ?? Array(repeating: 1, count: starts.count)), x)
        }
        // Spec example 1: [[5, 7]].
        XCTAssertEqual(try slice(T(2, 4), starts: [1, 0], ends: [2, 3], steps: [1, 2]), T(1, 2))
        // Spec example 2: ends -1 and 1000 give [[2, 3, 4]].
        XCTAssertEqual(try slice(T(2, 4), starts: [0, 1], ends: [-1, 1000]), T(1, 3))
        let x = T(20, 10, 5)
        XCTAssertEqual(try slice(x, starts: [0, 0], ends: [3, 10]), T(3, 10, 5))                               // test_slice
        XCTAssertEqual(try slice(x, starts: [0], ends: [-1], axes: [1]), T(20, 9, 5))                          // test_slice_neg
        XCTAssertEqual(try slice(x, starts: [1000], ends: [1000], axes: [1]), T(20, 0, 5))                     // start out of bounds
        XCTAssertEqual(try slice(x, starts: [1], ends: [1000], axes: [1]), T(20, 9, 5))                        // end out of bounds
        XCTAssertEqual(try slice(x, starts: [0, 0, 3], ends: [20, 10, 4], axes: [0, -2, -1]), T(20, 10, 1))   // negative axes
        // test_slice_neg_steps: x[20:0:-1, 10:0:-3, 4:1:-2].
        XCTAssertEqual(try slice(x, starts: [20, 10, 4], ends: [0, 0, 1], steps: [-1, -3, -2]), T(19, 3, 2))
        // Reversal with INT_MAX / INT_MIN, as the spec recommends for "to the end".
        XCTAssertEqual(try slice(T(5), starts: [Int.max], ends: [Int.min], steps: [-1]), T(5))
        // A symbolic batch is untouched when another axis is sliced.
        XCTAssertEqual(try slice(NT(10, 4), starts: [2], ends: [8], axes: [1], steps: [3]), NT(2, 4))
    }

    /// The clamping rules of the spec: starts to [0, n] (positive step) or [0, n-1] (negative step);
    /// ends to [0, n] or [-1, n-1].
    func testSliceClamping() {
        let n = 5
        XCTAssertEqual(ShapeInference.sliceCount(n: n, start: -100, end: 100, step: 1), 5)
        XCTAssertEqual(ShapeInference.sliceCount(n: n, start: 100, end: -100, step: -1), 5)
        XCTAssertEqual(ShapeInference.sliceCount(n: n, start: -1, end: -100, step: -2), 3)   // 4, 2, 0
        XCTAssertEqual(ShapeInference.sliceCount(n: n, start: 3, end: 1, step: 1), 0)
        XCTAssertEqual(ShapeInference.sliceCount(n: n, start: 1, end: 3, step: -1), 0)
        XCTAssertEqual(ShapeInference.sliceCount(n: n, start: 4, end: -1, step: -1), 0)      // end -1 means index 4
        // A start before the beginning clamps to 0 (not -1) with a negative step, so element 0 is
        // taken; NumPy would return nothing here, ONNX one element.
        XCTAssertEqual(ShapeInference.sliceCount(n: n, start: -10, end: Int.min, step: -1), 1)
        XCTAssertEqual(ShapeInference.sliceCount(n: 0, start: 0, end: Int.min, step: -1), 0)
        XCTAssertEqual(ShapeInference.sliceCount(n: 0, start: 0, end: Int.max, step: 1), 0)
        // Giant steps take one element and must not overflow (onnx test_slice_giant_step).
        XCTAssertEqual(ShapeInference.sliceCount(n: 2, start: 0, end: 200, step: 200), 1)
        XCTAssertEqual(ShapeInference.sliceCount(n: n, start: 0, end: Int.max, step: Int.max), 1)
        XCTAssertEqual(ShapeInference.sliceCount(n: n, start: Int.max, end: Int.min, step: Int.min), 1)
    }

    func testSliceErrors() {
        assertFails(.slice(starts: [0], ends: [1], axes: [0], steps: [0]), [T(4)], "step must not be 0")
        assertFails(.slice(starts: [0, 0], ends: [1, 1], axes: [1, -1], steps: [1, 1]), [T(4, 4)], "repeat an axis")
        assertFails(.slice(starts: [0], ends: [1, 2], axes: [0], steps: [1]), [T(4)], "differ in length")
        assertFails(.slice(starts: [0], ends: [1], axes: [2], steps: [1]), [T(4, 4)], "out of range")
        assertFails(.slice(starts: [0], ends: [1], axes: [0], steps: [1]), [NT(4)], "static size")
    }

    // MARK: Graphs and node names

    func testSymbolicBatchThroughConvFlattenReshapeGemm() throws {
        var g = Graph()
        try g.addInput("x", type: NT(3, 8, 8))
        try g.addConstant("w", Tensor(shape: [4, 3, 3, 3], repeating: 0.1))
        try g.addConstant("fc", Tensor(shape: [10, 144], repeating: 0.1))
        try g.addConstant("fcb", Tensor(shape: [10], repeating: 0))
        let c = try g.append(.conv(ConvAttributes(kernel: [3, 3])), ["x", "w"], name: "conv0")
        let r = try g.append(.relu, [c], name: "relu0")
        let f = try g.append(.flatten(axis: 1), [r], name: "flat")
        let s = try g.append(.reshape(shape: [0, -1], allowZero: false), [f], name: "view")
        let y = try g.append(.gemm(GemmAttributes(transB: true)), [s, "fc", "fcb"], name: "fc0")
        try g.setOutputs([y])
        XCTAssertEqual(try g.type(of: c), NT(4, 6, 6))
        XCTAssertEqual(try g.type(of: f), NT(144))
        XCTAssertEqual(try g.type(of: s), NT(144))
        XCTAssertEqual(try g.type(of: y), NT(10))
    }

    func testErrorsNameTheNode() throws {
        var g = Graph()
        try g.addInput("x", type: NT(3, 8, 8))
        try g.addConstant("w", Tensor(shape: [4, 5, 3, 3], repeating: 0.1))
        XCTAssertThrowsError(try g.append(.conv(ConvAttributes(kernel: [3, 3])), ["x", "w"], name: "bad_conv")) { error in
            XCTAssertEqual((error as? IRError)?.node, "bad_conv")
            XCTAssertTrue("\(error)".hasPrefix("node 'bad_conv': conv weight"), "\(error)")
        }
        XCTAssertThrowsError(try g.append(.concat(axis: 1), ["x", "w"], name: "cat")) { error in
            XCTAssertEqual((error as? IRError)?.node, "cat")
            XCTAssertTrue("\(error)".contains("concat inputs"), "\(error)")
        }
        XCTAssertThrowsError(try g.append(.reshape(shape: [7, -1], allowZero: false), ["x"], name: "view")) { error in
            XCTAssertEqual((error as? IRError)?.node, "view")
        }
        // A node listing the wrong number of outputs for its op.
        XCTAssertThrowsError(try g.appendNode(Node(name: "sp", op: .split(axis: 1, sizes: [1, 2]), inputs: ["x"], outputs: ["a"]))) { error in
            XCTAssertEqual(error as? IRError, IRError("split produces 2 outputs, node lists 1", node: "sp"))
        }
    }
}

