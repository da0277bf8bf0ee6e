// ConvTests: convolution against hand-computed values and the direct reference, on every code path.
import IR
@testable import Runtime
import XCTest

final class ConvTests: XCTestCase {
    /// The ONNX operator documentation's example: a 5×5 ramp under a 3×3 kernel of ones.
    func testONNXDocumentationExample() {
        let x = arange([1, 1, 5, 5]), w = Tensor(shape: [1, 1, 3, 3], repeating: 1)
        let padded = run1(.conv(ConvAttributes(kernel: [3, 3], pads: [1, 1, 1, 1])), [x, w])
        XCTAssertEqual(padded.scalars, [12, 21, 27, 33, 24, 33, 54, 63, 72, 51, 63, 99, 108, 117, 81,
                                        93, 144, 153, 162, 111, 72, 111, 117, 123, 84])
        let valid = run1(.conv(ConvAttributes(kernel: [3, 3])), [x, w])
        XCTAssertEqual(valid.shape, [1, 1, 3, 3])
        XCTAssertEqual(valid.scalars, [54, 63, 72, 99, 108, 117, 144, 153, 162])
        // Stride 2 with padding 1 (test_conv_with_strides_padding on a 5×5 input).
        let strided = run1(.conv(ConvAttributes(kernel: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1])), [x, w])
        XCTAssertEqual(strided.scalars, [12, 27, 24, 63, 108, 81, 72, 117, 84])
    }

    func testBiasAndFusedActivation() {
        let x = arange([1, 1, 2, 2]), w = Tensor(shape: [2, 1, 1, 1], scalars: [1, -1])
        let b = Tensor(shape: [2], scalars: [0.5, 1])
        let y = Kernels.conv(x, weight: w, bias: b, attributes: ConvAttributes(kernel: [1, 1]),
                             outputShape: [1, 2, 2, 2], activation: .relu)
        XCTAssertEqual(y.scalars, [0.5, 1.5, 2.5, 3.5, 1, 0, 0, 0])
    }

    /// Every path (im2col per image, batched im2col, 1×1 direct, grouped, depthwise with and without
    /// a channel multiplier, strides, dilations, asymmetric pads) against the direct definition.
    func testOptimizedPathsMatchReference() {
        var rng = SeededRandom(seed: 7)
        let cases: [(x: [Int], w: [Int], a: ConvAttributes)] = [
            ([2, 3, 9, 8], [4, 3, 3, 3], ConvAttributes(kernel: [3, 3], pads: [1, 1, 1, 1])),
            ([5, 4, 6, 6], [6, 4, 3, 3], ConvAttributes(kernel: [3, 3], strides: [2, 2], pads: [1, 0, 2, 1])),
            ([3, 8, 5, 5], [6, 8, 1, 1], ConvAttributes(kernel: [1, 1])),
            // One input channel at batch > 1: a chunk of images is one GEMM row longer than the
            // channel stride (BLAS refused ldb < n and the result was garbage).
            ([3, 1, 4, 4], [4, 1, 1, 1], ConvAttributes(kernel: [1, 1])),
            ([1, 8, 40, 40], [6, 8, 1, 1], ConvAttributes(kernel: [1, 1])),
            ([2, 8, 7, 7], [6, 8, 1, 1], ConvAttributes(kernel: [1, 1], strides: [2, 2])),
            ([2, 6, 7, 9], [9, 2, 3, 3], ConvAttributes(kernel: [3, 3], pads: [1, 1, 1, 1], group: 3)),
            ([3, 5, 8, 8], [5, 1, 3, 3], ConvAttributes(kernel: [3, 3], pads: [1, 1, 1, 1], group: 5)),
            ([2, 4, 9, 9], [4, 1, 5, 5], ConvAttributes(kernel: [5, 5], strides: [2, 2], pads: [2, 2, 2, 2], group: 4)),
            ([2, 3, 8, 8], [6, 1, 3, 3], ConvAttributes(kernel: [3, 3], pads: [0, 1, 2, 1], group: 3)),
            ([1, 2, 11, 10], [3, 2, 3, 2], ConvAttributes(kernel: [3, 2], strides: [2, 3], pads: [2, 0, 1, 3], dilations: [2, 3])),
            ([2, 4, 10, 10], [4, 1, 3, 3], ConvAttributes(kernel: [3, 3], pads: [2, 2, 2, 2], dilations: [2, 2], group: 4)),
            ([70, 2, 4, 4], [3, 2, 3, 3], ConvAttributes(kernel: [3, 3], pads: [1, 1, 1, 1])),
        ]
        for (i, c) in cases.enumerated() {
            let x = rng.tensor(c.x), w = rng.tensor(c.w), b = rng.tensor([c.w[0]])
            let expected = referenceConv2D(x, w, b, c.a)
            let actual = run1(.conv(c.a), [x, w, b])
            assertClose(actual, expected, rtol: 1e-4, atol: 1e-5, "case \(i)")
        }
    }

    /// 1-D convolution runs as 2-D with height 1.
    func testConv1D() {
        let x = Tensor(shape: [1, 1, 5], scalars: [1, 2, 3, 4, 5])
        let w = Tensor(shape: [1, 1, 2], scalars: [1, -1])
        let y = run1(.conv(ConvAttributes(kernel: [2], pads: [1, 0])), [x, w])
        XCTAssertEqual(y.scalars, [-1, -1, -1, -1, -1])
    }

    /// 3-D convolution takes the N-d im2col path; checked against a 2-D one with depth 1.
    func testConv3DMatchesConv2DWithUnitDepth() {
        var rng = SeededRandom(seed: 3)
        let x2 = rng.tensor([2, 3, 6, 5]), w2 = rng.tensor([4, 3, 3, 3])
        let y2 = referenceConv2D(x2, w2, nil, ConvAttributes(kernel: [3, 3], strides: [1, 2], pads: [1, 1, 1, 0]))
        let x3 = x2.reshaped([2, 3, 1, 6, 5]), w3 = w2.reshaped([4, 3, 1, 3, 3])
        let y3 = run1(.conv(ConvAttributes(kernel: [1, 3, 3], strides: [1, 1, 2], pads: [0, 1, 1, 0, 1, 0])), [x3, w3])
        assertClose(y3.reshaped(y2.shape), y2, rtol: 1e-4)
    }

    func testEmptyBatch() {
        let y = run1(.conv(ConvAttributes(kernel: [3, 3])), [Tensor(shape: [0, 2, 5, 5], scalars: []), Tensor(shape: [3, 2, 3, 3], repeating: 1)])
        XCTAssertEqual(y.shape, [0, 3, 3, 3])
    }
}

extension ConvTests {
    /// Depthwise planes of every small width and height (vector stores that run past a row must
    /// never leave the plane), strides 1 and 2, against the direct reference.
    func testDepthwiseSmallPlanes() {
        var rng = SeededRandom(seed: 17)
        for h in 1...9 {
            for w in [1, 2, 3, 7, 8, 9, 15, 17] {
                for stride in [1, 2] {
                    let a = ConvAttributes(kernel: [3, 3], strides: [stride, stride], pads: [1, 1, 1, 1], group: 3)
                    let x = rng.tensor([2, 3, h, w]), wt = rng.tensor([6, 1, 3, 3]), b = rng.tensor([6])
                    assertClose(run1(.conv(a), [x, wt, b]), referenceConv2D(x, wt, b, a), rtol: 1e-4, "h \(h) w \(w) stride \(stride)")
                    let relu6 = Kernels.conv(x, weight: wt, bias: b, attributes: a, outputShape: referenceConv2D(x, wt, b, a).shape,
                                             activation: .clip(min: 0, max: 6), input: .nchw, output: .cnhw)
                    let expected = Kernels.activation(referenceConv2D(x, wt, b, a), .clip(min: 0, max: 6))
                    assertClose(StoredTensor(tensor: relu6, layout: .cnhw).nchw, expected, rtol: 1e-4, "CNHW h \(h) w \(w)")
                }
            }
        }
    }
}

extension ConvTests {
    /// With a tiny chunk budget, images are split into bands of output rows (one GEMM per band);
    /// every path must still match the reference, in both layouts.
    func testBandsOfRowsMatchReference() {
        let saved = ConvTuning.chunkBytes, savedRange = ConvTuning.columnRange
        defer { ConvTuning.chunkBytes = saved; ConvTuning.columnRange = savedRange }
        ConvTuning.chunkBytes = 1
        ConvTuning.columnRange = 10...10
        var rng = SeededRandom(seed: 23)
        let cases: [(x: [Int], w: [Int], a: ConvAttributes)] = [
            ([2, 3, 9, 8], [4, 3, 3, 3], ConvAttributes(kernel: [3, 3], pads: [1, 1, 1, 1])),
            ([2, 2, 11, 10], [3, 2, 3, 2], ConvAttributes(kernel: [3, 2], strides: [2, 3], pads: [2, 0, 1, 3], dilations: [2, 3])),
            ([3, 8, 5, 7], [6, 8, 1, 1], ConvAttributes(kernel: [1, 1])),
            ([2, 6, 7, 9], [9, 2, 3, 3], ConvAttributes(kernel: [3, 3], pads: [0, 1, 2, 1], group: 3)),
        ]
        for (i, c) in cases.enumerated() {
            let x = rng.tensor(c.x), w = rng.tensor(c.w), b = rng.tensor([c.w[0]])
            let expected = referenceConv2D(x, w, b, c.a)
            assertClose(run1(.conv(c.a), [x, w, b]), expected, rtol: 1e-4, "case \(i) NCHW")
            let cnhw = Kernels.conv(x, weight: w, bias: b, attributes: c.a, outputShape: expected.shape, activation: .none,
                                    input: .nchw, output: .cnhw)
            assertClose(StoredTensor(tensor: cnhw, layout: .cnhw).nchw, expected, rtol: 1e-4, "case \(i) CNHW")
        }
    }
}
