// NormalizationTests: BatchNormalization, LRN and Softmax against hand-computed values.
import Foundation
import IR
@testable import Runtime
import XCTest

final class NormalizationTests: XCTestCase {
    func testBatchNormalization() {
        // test_batchnorm_example's parameters on a smaller input.
        let x = Tensor(shape: [1, 2, 1, 3], scalars: [-1, 0, 1, 2, 3, 4])
        let y = run1(.batchNormalization(epsilon: 1e-5), [x, Tensor(shape: [2], scalars: [1, 1.5]), Tensor(shape: [2], scalars: [0, 1]),
                                                         Tensor(shape: [2], scalars: [0, 3]), Tensor(shape: [2], scalars: [1, 1.5])])
        let s0 = 1 / Float(1 + 1e-5).squareRoot(), s1 = 1.5 / Float(1.5 + 1e-5).squareRoot()
        assertClose(y, Tensor(shape: [1, 2, 1, 3], scalars: [-s0, 0, s0, -s1 + 1, 1, s1 + 1]), rtol: 1e-6)
    }

    func testLRN() {
        // size 3 over 3 channels of one pixel: channel c sums squares of c-1…c+1.
        let x = Tensor(shape: [1, 3, 1, 1], scalars: [1, 2, 3])
        let y = run1(.lrn(size: 3, alpha: 0.3, beta: 0.75, bias: 2), [x])
        let sums: [Float] = [1 + 4, 1 + 4 + 9, 4 + 9]
        let expected = zip([Float](arrayLiteral: 1, 2, 3), sums).map { $0 / powf(2 + 0.1 * $1, 0.75) }
        assertClose(y, Tensor(shape: [1, 3, 1, 1], scalars: expected), rtol: 1e-6)
        // Even size: ⌊(4−1)/2⌋ = 1 channel before, 2 after.
        let e = run1(.lrn(size: 4, alpha: 4, beta: 1, bias: 1), [Tensor(shape: [1, 4, 1, 1], scalars: [1, 1, 1, 1])])
        let expectedEven: [Float] = [1.0 / 4, 1.0 / 5, 1.0 / 4, 1.0 / 3]
        assertClose(e, Tensor(shape: [1, 4, 1, 1], scalars: expectedEven), rtol: 1e-6)
    }

    func testSoftmax() {
        let x = Tensor(shape: [2, 3], scalars: [1, 2, 3, 1000, 1000, 1000])
        let y = run1(.softmax(axis: 1), [x])
        let e: [Float] = [expf(-2), expf(-1), 1]
        let total = e.reduce(0, +)
        let third: Float = 1.0 / 3
        let expected: [Float] = e.map { $0 / total } + [third, third, third]
        assertClose(y, Tensor(shape: [2, 3], scalars: expected), rtol: 1e-6)
        let columns = run1(.softmax(axis: 0), [Tensor(shape: [2, 2], scalars: [0, 1, 0, 1])])
        XCTAssertEqual(columns.scalars, [0.5, 0.5, 0.5, 0.5])
    }
}
