// PoolTests: MaxPool, AveragePool, GlobalAveragePool and ReduceMean against hand-computed values.
import IR
@testable import Runtime
import XCTest

final class PoolTests: XCTestCase {
    let ramp16 = Tensor(shape: [1, 1, 4, 4], scalars: (1...16).map(Float.init))

    func testMaxPoolStrided() {
        let y = run1(.maxPool(PoolAttributes(kernel: [2, 2], strides: [2, 2])), [arange([1, 1, 4, 4])])
        XCTAssertEqual(y.scalars, [5, 7, 13, 15])
    }

    /// The ONNX node tests maxpool_2d_ceil and averagepool_2d_ceil.
    func testCeilMode() {
        let a = PoolAttributes(kernel: [3, 3], strides: [2, 2], ceilMode: true)
        XCTAssertEqual(run1(.maxPool(a), [ramp16]).scalars, [11, 12, 15, 16])
        XCTAssertEqual(run1(.averagePool(a), [ramp16]).scalars, [6, 7.5, 12, 13.5])
    }

    func testAveragePoolPaddingDivisor() {
        let x = arange([1, 1, 3, 3])
        let exclude = run1(.averagePool(PoolAttributes(kernel: [3, 3], pads: [1, 1, 1, 1])), [x])
        let include = run1(.averagePool(PoolAttributes(kernel: [3, 3], pads: [1, 1, 1, 1], countIncludePad: true)), [x])
        // Top-left window holds 0, 1, 3, 4 inside the image.
        XCTAssertEqual(exclude.scalars[0], 2)
        XCTAssertEqual(include.scalars[0], 8 / 9, accuracy: 1e-6)
        XCTAssertEqual(exclude.scalars[4], 4)
        XCTAssertEqual(include.scalars[4], 4)
    }

    func testMaxPoolPaddingNeverWinsAndNaNPropagates() {
        let x = Tensor(shape: [1, 1, 2, 2], scalars: [-5, -6, -7, .nan])
        let y = run1(.maxPool(PoolAttributes(kernel: [2, 2], pads: [1, 1, 0, 0])), [x])
        XCTAssertEqual(Array(y.scalars.prefix(3)), [-5, -5, -5])
        XCTAssert(y.scalars[3].isNaN)
    }

    func testDilatedMaxPool() {
        // test_maxpool_2d_dilations: 4×4 ramp, kernel 2, dilation 2 → [11, 12, 15, 16].
        XCTAssertEqual(run1(.maxPool(PoolAttributes(kernel: [2, 2], dilations: [2, 2])), [ramp16]).scalars, [11, 12, 15, 16])
    }

    func testPool1DAnd3DMatchPool2D() {
        var rng = SeededRandom(seed: 11)
        let x = rng.tensor([2, 3, 7, 6])
        let a2 = PoolAttributes(kernel: [3, 2], strides: [2, 1], pads: [1, 0, 1, 1], countIncludePad: true)
        let a3 = PoolAttributes(kernel: [1, 3, 2], strides: [1, 2, 1], pads: [0, 1, 0, 0, 1, 1], countIncludePad: true)
        let y2 = run1(.averagePool(a2), [x])
        let y3 = run1(.averagePool(a3), [x.reshaped([2, 3, 1, 7, 6])])
        assertClose(y3.reshaped(y2.shape), y2)
        let m2 = run1(.maxPool(PoolAttributes(kernel: [1, 3], pads: [0, 1, 0, 1])), [x])
        let m1 = run1(.maxPool(PoolAttributes(kernel: [3], pads: [1, 1])), [x.reshaped([2, 3 * 7, 6])])
        assertClose(m1.reshaped(m2.shape), m2)
    }

    func testGlobalAveragePoolAndReduceMean() {
        let x = arange([2, 3, 2, 2])
        let g = run1(.globalAveragePool, [x])
        XCTAssertEqual(g.shape, [2, 3, 1, 1])
        XCTAssertEqual(g.scalars, [1.5, 5.5, 9.5, 13.5, 17.5, 21.5])
        let r = run1(.reduceMean(axes: [2, 3], keepDims: false), [x])
        XCTAssertEqual(r.shape, [2, 3])
        XCTAssertEqual(r.scalars, g.scalars)
        let channels = run1(.reduceMean(axes: [1], keepDims: true), [x])
        XCTAssertEqual(channels.shape, [2, 1, 2, 2])
        XCTAssertEqual(channels.scalars, [4, 5, 6, 7, 16, 17, 18, 19])
        let all = run1(.reduceMean(axes: [], keepDims: false), [x])
        XCTAssertEqual(all.shape, [])
        XCTAssertEqual(all.scalars, [11.5])
        let outer = run1(.reduceMean(axes: [0, -1], keepDims: false), [x])
        XCTAssertEqual(outer.shape, [3, 2])
        XCTAssertEqual(outer.scalars, [6.5, 8.5, 10.5, 12.5, 14.5, 16.5])
    }
}
