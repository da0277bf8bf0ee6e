// DataMovementTests: Transpose, Concat, Split, Slice, Pad, Reshape and Flatten on small ramps.
import IR
@testable import Runtime
import XCTest

final class DataMovementTests: XCTestCase {
    func testTranspose() {
        let y = run1(.transpose(perm: [1, 0]), [arange([2, 3])])
        XCTAssertEqual(y.shape, [3, 2])
        XCTAssertEqual(y.scalars, [0, 3, 1, 4, 2, 5])
        let z = run1(.transpose(perm: [2, 0, 1]), [arange([2, 2, 3])])
        XCTAssertEqual(z.shape, [3, 2, 2])
        XCTAssertEqual(z.scalars, [0, 3, 6, 9, 1, 4, 7, 10, 2, 5, 8, 11])
    }

    func testConcatAndSplit() {
        let a = arange([2, 2]), b = Tensor(shape: [2, 1], scalars: [8, 9])
        let y = run1(.concat(axis: 1), [a, b])
        XCTAssertEqual(y.scalars, [0, 1, 8, 2, 3, 9])
        XCTAssertEqual(run1(.concat(axis: -2), [a, a]).scalars, [0, 1, 2, 3, 0, 1, 2, 3])
        let parts = runOp(.split(axis: 1, sizes: [2, 0, 1]), [y])
        XCTAssertEqual(parts.map(\.shape), [[2, 2], [2, 0], [2, 1]])
        XCTAssertEqual(parts[0].scalars, a.scalars)
        XCTAssertEqual(parts[2].scalars, b.scalars)
    }

    func testSlice() {
        let x = arange([3, 4])
        XCTAssertEqual(run1(.slice(starts: [1, 0], ends: [3, 3], axes: [0, 1], steps: [1, 2]), [x]).scalars, [4, 6, 8, 10])
        XCTAssertEqual(run1(.slice(starts: [-1], ends: [Int.min], axes: [1], steps: [-1]), [x]).scalars,
                       [3, 2, 1, 0, 7, 6, 5, 4, 11, 10, 9, 8])
        XCTAssertEqual(run1(.slice(starts: [10], ends: [0], axes: [0], steps: [-2]), [x]).scalars, [8, 9, 10, 11])
        XCTAssertEqual(run1(.slice(starts: [5], ends: [9], axes: [1], steps: [1]), [x]).shape, [3, 0])
    }

    func testPadModes() {
        let x = Tensor(shape: [3], scalars: [1, 2, 3])
        XCTAssertEqual(run1(.pad(pads: [2, 2], mode: .constant, value: 9), [x]).scalars, [9, 9, 1, 2, 3, 9, 9])
        XCTAssertEqual(run1(.pad(pads: [2, 2], mode: .reflect, value: 0), [x]).scalars, [3, 2, 1, 2, 3, 2, 1])
        XCTAssertEqual(run1(.pad(pads: [2, 2], mode: .edge, value: 0), [x]).scalars, [1, 1, 1, 2, 3, 3, 3])
        XCTAssertEqual(run1(.pad(pads: [2, 2], mode: .wrap, value: 0), [x]).scalars, [2, 3, 1, 2, 3, 1, 2])
        // Wider than the dimension: NumPy repeats the reflection.
        XCTAssertEqual(run1(.pad(pads: [5, 0], mode: .reflect, value: 0), [x]).scalars, [2, 1, 2, 3, 2, 1, 2, 3])
        XCTAssertEqual(run1(.pad(pads: [5, 0], mode: .wrap, value: 0), [x]).scalars, [2, 3, 1, 2, 3, 1, 2, 3])
        // Negative pads crop; 2-D constant padding.
        XCTAssertEqual(run1(.pad(pads: [-1, 1], mode: .constant, value: 0), [x]).scalars, [2, 3, 0])
        let m = run1(.pad(pads: [0, 1, 1, 0], mode: .constant, value: -1), [arange([2, 2])])
        XCTAssertEqual(m.shape, [3, 3])
        XCTAssertEqual(m.scalars, [-1, 0, 1, -1, 2, 3, -1, -1, -1])
    }

    func testReshapeAndFlattenShareData() {
        let x = arange([2, 3, 4])
        let r = run1(.reshape(shape: [0, -1], allowZero: false), [x])
        XCTAssertEqual(r.shape, [2, 12])
        XCTAssertEqual(r.scalars, x.scalars)
        XCTAssertEqual(run1(.flatten(axis: 0), [x]).shape, [1, 24])
    }
}
