// ElementwiseTests: activations (NaN kept), broadcasting arithmetic on every loop shape.
import IR
@testable import Runtime
import XCTest

final class ElementwiseTests: XCTestCase {
    let x = Tensor(shape: [6], scalars: [-3, -0.5, 0, 0.5, 3, .nan])

    func testActivations() {
        func values(_ op: Op) -> [Float] { run1(op, [x]).scalars }
        func check(_ op: Op, _ expected: [Float], file: StaticString = #filePath, line: UInt = #line) {
            assertClose(run1(op, [x]), Tensor(shape: [6], scalars: expected), rtol: 1e-6, atol: 1e-7, op.name, file: file, line: line)
        }
        check(.relu, [0, 0, 0, 0.5, 3, .nan])
        check(.leakyRelu(alpha: 0.1), [-0.3, -0.05, 0, 0.5, 3, .nan])
        check(.clip(min: 0, max: 1), [0, 0, 0, 0.5, 1, .nan])
        check(.clip(min: 2, max: 1), [1, 1, 1, 1, 1, .nan])
        check(.sigmoid, [0.04742587, 0.37754067, 0.5, 0.62245933, 0.95257413, .nan])
        check(.hardSigmoid(alpha: 0.2, beta: 0.5), [0, 0.4, 0.5, 0.6, 1, .nan])
        check(.hardSwish, [0, -0.5 * (2.5 / 6), 0, 0.5 * (3.5 / 6), 3, .nan])
        check(.identity, x.scalars)
        check(.dropout(ratio: 0.5), x.scalars)
        XCTAssertEqual(values(.sigmoid)[0] + values(.sigmoid)[4], 1, accuracy: 1e-6)
        XCTAssertEqual(run1(.sigmoid, [Tensor(shape: [2], scalars: [-200, 200])]).scalars, [0, 1])
    }

    func testBroadcastShapes() {
        let a = arange([2, 3])
        XCTAssertEqual(run1(.add, [a, Tensor(shape: [3], scalars: [10, 20, 30])]).scalars, [10, 21, 32, 13, 24, 35])
        XCTAssertEqual(run1(.sub, [Tensor(shape: [2, 1], scalars: [1, 2]), Tensor(shape: [1, 3], scalars: [1, 2, 3])]).scalars,
                       [0, -1, -2, 1, 0, -1])
        XCTAssertEqual(run1(.mul, [Tensor(scalar: 2), a]).scalars, [0, 2, 4, 6, 8, 10])
        XCTAssertEqual(run1(.div, [a, Tensor(scalar: 2)]).scalars, [0, 0.5, 1, 1.5, 2, 2.5])
        XCTAssertEqual(run1(.add, [Tensor(scalar: 1), Tensor(scalar: 2)]).scalars, [3])
        let z = run1(.div, [Tensor(shape: [3], scalars: [1, -1, 0]), Tensor(shape: [3], scalars: [0, 0, 0])])
        XCTAssertEqual(z.scalars[0], .infinity)
        XCTAssertEqual(z.scalars[1], -.infinity)
        XCTAssert(z.scalars[2].isNaN)
    }

    /// Per-channel operands ([C,1,1] against N×C×H×W) and middle-axis broadcasts, against a
    /// naive index computation.
    func testBroadcastMatchesNaiveIndexing() {
        var rng = SeededRandom(seed: 5)
        let cases: [([Int], [Int])] = [([2, 3, 4, 5], [3, 1, 1]), ([2, 3, 4, 5], [1, 3, 1, 5]), ([2, 1, 4, 1], [3, 1, 5]),
                                       ([4, 5], [2, 3, 1, 1]), ([2, 3, 4, 5], [2, 3, 4, 5]), ([1, 3, 1], [2, 1, 4])]
        for (sa, sb) in cases {
            let a = rng.tensor(sa), b = rng.tensor(sb)
            let y = run1(.mul, [a, b])
            let rank = max(sa.count, sb.count)
            let pa = Array(repeating: 1, count: rank - sa.count) + sa, pb = Array(repeating: 1, count: rank - sb.count) + sb
            let shape = zip(pa, pb).map { max($0, $1) }
            XCTAssertEqual(y.shape, shape)
            var index = [Int](repeating: 0, count: rank)
            for o in 0..<shape.elementCount {
                var ia = 0, ib = 0
                for d in 0..<rank {
                    ia = ia * pa[d] + (pa[d] == 1 ? 0 : index[d])
                    ib = ib * pb[d] + (pb[d] == 1 ? 0 : index[d])
                }
                XCTAssertEqual(y.scalars[o], a.scalars[ia] * b.scalars[ib], "\(sa) × \(sb) at \(index)")
                increment(&index, within: shape)
            }
        }
    }
}
