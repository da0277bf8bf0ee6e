// TestHelpers: tensors from literals, seeded random tensors, closeness checks, naive reference kernels.
import Foundation
import IR
@testable import Runtime
import TestSupport
import XCTest

/// Seeded random tensors from the shared SplitMix64, so that random tests repeat exactly.
struct SeededRandom {
    var generator: SplitMix64

    init(seed: UInt64) { generator = SplitMix64(seed: seed) }

    mutating func next() -> UInt64 { generator.next() }

    /// Uniform in [-1, 1).
    mutating func uniform() -> Float { Float(next() >> 40) / Float(1 << 23) - 1 }

    mutating func tensor(_ shape: [Int]) -> Tensor {
        Tensor(shape: shape, scalars: (0..<shape.elementCount).map { _ in uniform() })
    }
}

/// A tensor counting 0, 1, 2, … in row-major order (as np.arange(n).reshape(shape)).
func arange(_ shape: [Int]) -> Tensor {
    Tensor(shape: shape, scalars: (0..<shape.elementCount).map { Float($0) })
}

/// Asserts equal shapes and elements within atol + rtol·|expected| (NaN must match NaN).
func assertClose(_ actual: Tensor, _ expected: Tensor, rtol: Float = 1e-5, atol: Float = 1e-5,
                 _ message: String = "", file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(actual.shape, expected.shape, "shape \(message)", file: file, line: line)
    guard actual.shape == expected.shape else { return }
    for (i, (a, e)) in zip(actual.scalars, expected.scalars).enumerated() {
        if e.isNaN { XCTAssert(a.isNaN, "element \(i): \(a), expected NaN \(message)", file: file, line: line); continue }
        if e.isInfinite { XCTAssertEqual(a, e, "element \(i) \(message)", file: file, line: line); continue }
        if abs(a - e) > atol + rtol * abs(e) {
            XCTFail("element \(i): \(a), expected \(e) \(message)", file: file, line: line)
            return
        }
    }
}

/// Direct 2-D convolution by its definition, the reference for the optimized paths.
func referenceConv2D(_ x: Tensor, _ w: Tensor, _ b: Tensor?, _ a: ConvAttributes) -> Tensor {
    let (n, cin, h, wd) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
    let (cout, cg, kh, kw) = (w.shape[0], w.shape[1], w.shape[2], w.shape[3])
    let coutg = cout / a.group
    let ho = (h + a.pads[0] + a.pads[2] - a.dilations[0] * (kh - 1) - 1) / a.strides[0] + 1
    let wo = (wd + a.pads[1] + a.pads[3] - a.dilations[1] * (kw - 1) - 1) / a.strides[1] + 1
    var y = [Float](repeating: 0, count: n * cout * ho * wo)
    for i in 0..<n {
        for o in 0..<cout {
            let g = o / coutg
            for oy in 0..<ho {
                for ox in 0..<wo {
                    var s: Float = b?.scalars[o] ?? 0
                    for c in 0..<cg {
                        for ky in 0..<kh {
                            for kx in 0..<kw {
                                let iy = oy * a.strides[0] - a.pads[0] + ky * a.dilations[0]
                                let ix = ox * a.strides[1] - a.pads[1] + kx * a.dilations[1]
                                guard iy >= 0, iy < h, ix >= 0, ix < wd else { continue }
                                let xv = x.scalars[((i * cin + g * cg + c) * h + iy) * wd + ix]
                                s += xv * w.scalars[((o * cg + c) * kh + ky) * kw + kx]
                            }
                        }
                    }
                    y[((i * cout + o) * ho + oy) * wo + ox] = s
                }
            }
        }
    }
    return Tensor(shape: [n, cout, ho, wo], scalars: y)
}

/// Runs one op through the dispatcher (with shape inference), failing the test on an error.
func runOp(_ op: Op, _ inputs: [Tensor], file: StaticString = #filePath, line: UInt = #line) -> [Tensor] {
    do {
        return try Kernels.execute(op, inputs)
    } catch {
        XCTFail("\(op.name) failed: \(error)", file: file, line: line)
        return []
    }
}

func run1(_ op: Op, _ inputs: [Tensor], file: StaticString = #filePath, line: UInt = #line) -> Tensor {
    runOp(op, inputs, file: file, line: line).first ?? Tensor(shape: [0], scalars: [])
}
