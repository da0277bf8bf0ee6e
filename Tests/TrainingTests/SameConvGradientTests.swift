// SameConvGradientTests: the AVX-512 weight gradient (planes read in place) against the im2col + OpenBLAS one.
import IR
@testable import Runtime
import XCTest

final class SameConvGradientTests: XCTestCase {
    override func tearDown() {
        SameConv.enabled = true
        super.tearDown()
    }

    /// dW (and dX) of k×k convolutions the kernel takes — stride 1 and 2 (phases), 5×5, dilated,
    /// output and input channels that are not multiples of its 4×4 tile, column counts below and
    /// across its 1024-column chunks — equal the portable path's within float rounding; the same
    /// thread count gives the same floats twice.
    func testWeightGradientMatchesIm2col() throws {
        guard SameConv.available else { throw XCTSkip("no AVX-512F on this CPU") }
        let cases: [(x: [Int], w: [Int], ConvAttributes)] = [
            ([3, 4, 9, 7], [5, 4, 3, 3], ConvAttributes(kernel: [3, 3], pads: [1, 1, 1, 1])),
            ([2, 6, 14, 14], [8, 6, 3, 3], ConvAttributes(kernel: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1])),
            ([4, 3, 20, 20], [6, 3, 5, 5], ConvAttributes(kernel: [5, 5], pads: [2, 2, 2, 2])),
            ([2, 5, 8, 8], [3, 5, 3, 3], ConvAttributes(kernel: [3, 3], pads: [2, 2, 2, 2], dilations: [2, 2])),
            ([40, 2, 7, 7], [3, 2, 3, 3], ConvAttributes(kernel: [3, 3], pads: [1, 1, 1, 1])),
        ]
        let threads = BLASThreads.count
        defer { BLASThreads.count = threads }
        for (i, c) in cases.enumerated() {
            let seed = UInt64(10 * i)
            let x = values(c.x, seed: seed + 1), w = values(c.w, seed: seed + 2)
            let oh = (c.x[2] + c.2.pads[0] + c.2.pads[2] - c.2.dilations[0] * (c.w[2] - 1) - 1) / c.2.strides[0] + 1
            let ow = (c.x[3] + c.2.pads[1] + c.2.pads[3] - c.2.dilations[1] * (c.w[3] - 1) - 1) / c.2.strides[1] + 1
            let dy = values([c.x[0], c.w[0], oh, ow], seed: seed + 3)
            func grads() -> (dx: Tensor?, dw: Tensor?) {
                let r = ConvGradients.backward(x: x, weight: w, dy: dy, attributes: c.2, needInput: true, needWeight: true, needBias: false)
                return (r.dx, r.dw)
            }
            BLASThreads.count = 2
            SameConv.enabled = true
            let fast = grads(), again = grads()
            SameConv.enabled = false
            let portable = grads()
            guard let dw = fast.dw, let dwRef = portable.dw, let dx = fast.dx, let dxRef = portable.dx else {
                return XCTFail("case \(i): missing gradients")
            }
            for (name, a, b) in [("dW", dw, dwRef), ("dX", dx, dxRef)] {
                XCTAssertEqual(a.shape, b.shape, "case \(i) \(name)")
                let scale = b.scalars.map(abs).max() ?? 1
                let worst = (zip(a.scalars, b.scalars).map { abs($0 - $1) }.max() ?? 0) / max(scale, 1e-6)
                XCTAssertLessThan(worst, 1e-5, "case \(i) \(name): max |difference| / max |reference| = \(worst)")
            }
            XCTAssertEqual(dw.scalars, again.dw?.scalars, "case \(i): two runs on two threads differ")
            XCTAssertNotEqual(dw.scalars, dwRef.scalars, "case \(i): the kernel did not run (same floats as OpenBLAS)")
        }
    }
}
