// LinearTests: Gemm and MatMul against hand-computed products.
import IR
@testable import Runtime
import XCTest

final class LinearTests: XCTestCase {
    func testGemmAllAttributes() {
        // A is given transposed [K=2, M=3], B transposed [N=2, K=2]; C broadcasts from [N].
        let a = Tensor(shape: [2, 3], scalars: [1, 2, 3, 4, 5, 6])
        let b = Tensor(shape: [2, 2], scalars: [1, 0, 1, 1])
        let c = Tensor(shape: [2], scalars: [10, 20])
        let y = run1(.gemm(GemmAttributes(alpha: 2, beta: 0.5, transA: true, transB: true)), [a, b, c])
        // op(A) = [[1,4],[2,5],[3,6]], op(B) = [[1,1],[0,1]]: A·B = [[1,5],[2,7],[3,9]].
        XCTAssertEqual(y.shape, [3, 2])
        let expected: [Float] = [7, 20, 9, 24, 11, 28]
        XCTAssertEqual(y.scalars, expected)
    }

    func testGemmScalarAndMatrixBias() {
        let a = arange([2, 3]), b = arange([3, 2])
        // a·b = [[10,13],[28,40]]
        XCTAssertEqual(run1(.gemm(GemmAttributes()), [a, b, Tensor(scalar: 1)]).scalars, [11, 14, 29, 41])
        XCTAssertEqual(run1(.gemm(GemmAttributes()), [a, b, Tensor(shape: [2, 1], scalars: [1, 2])]).scalars, [11, 14, 30, 42])
        XCTAssertEqual(run1(.gemm(GemmAttributes()), [a, b]).scalars, [10, 13, 28, 40])
        XCTAssertEqual(run1(.gemm(GemmAttributes(beta: 0)), [a, b, Tensor(scalar: .nan)]).scalars, [10, 13, 28, 40])
    }

    func testMatMulPromotesAndBroadcasts() {
        let v = Tensor(shape: [3], scalars: [1, 2, 3])
        XCTAssertEqual(run1(.matMul, [v, v]).shape, [])
        XCTAssertEqual(run1(.matMul, [v, v]).scalars, [14])
        let m = arange([3, 2])
        let vm = run1(.matMul, [v, m])
        XCTAssertEqual(vm.shape, [2])
        XCTAssertEqual(vm.scalars, [16, 22])
        // Batched [2,1,2,3] x [3,3,2] -> [2,3,2,2]; check one block by hand.
        var rng = SeededRandom(seed: 1)
        let a = rng.tensor([2, 1, 2, 3]), b = rng.tensor([3, 3, 2])
        let y = run1(.matMul, [a, b])
        XCTAssertEqual(y.shape, [2, 3, 2, 2])
        // Block (1, 2): a[1,0] · b[2].
        for i in 0..<2 {
            for j in 0..<2 {
                var s: Float = 0
                for k in 0..<3 { s += a.scalars[6 + i * 3 + k] * b.scalars[12 + k * 2 + j] }
                XCTAssertEqual(y.scalars[(1 * 3 + 2) * 4 + i * 2 + j], s, accuracy: 1e-5)
            }
        }
    }
}
