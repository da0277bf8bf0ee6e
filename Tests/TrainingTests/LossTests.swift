// LossTests: cross-entropy (label smoothing) and distillation (temperature) against float64 finite differences.
import IR
import Runtime
import XCTest

final class LossTests: XCTestCase {
    private func numericGradient(_ t: Tensor, _ f: (R64) -> Double) -> [Double] {
        let h = 1e-5
        return (0..<t.count).map { i in
            var p = R64(t), m = R64(t)
            p.v[i] += h; m.v[i] -= h
            return (f(p) - f(m)) / (2 * h)
        }
    }

    func testCrossEntropyWithAndWithoutSmoothing() throws {
        let logits = values([4, 5], seed: 1, lo: -3, hi: 3)
        let labels = [0, 3, 4, 1]
        for eps in [0.0, 0.1, 0.3] {
            let r = try Losses.softmaxCrossEntropy(logits: logits, labels: labels, smoothing: Float(eps))
            XCTAssertEqual(Double(r.loss), Ref.crossEntropy(R64(logits), labels: labels, smoothing: eps), accuracy: 1e-5)
            let n = numericGradient(logits) { Ref.crossEntropy($0, labels: labels, smoothing: eps) }
            for (a, b) in zip(r.gradient.scalars, n) { XCTAssertEqual(Double(a), b, accuracy: 1e-5) }
        }
    }

    func testDistillationTemperatures() throws {
        let s = values([3, 4], seed: 2, lo: -2, hi: 2), t = values([3, 4], seed: 3, lo: -2, hi: 2)
        for temp in [1.0, 2.0, 4.0] {
            let r = try Losses.distillation(student: s, teacher: t, temperature: Float(temp))
            XCTAssertEqual(Double(r.loss), Ref.distillation(R64(s), R64(t), temperature: temp), accuracy: 1e-5)
            let n = numericGradient(s) { Ref.distillation($0, R64(t), temperature: temp) }
            for (a, b) in zip(r.gradient.scalars, n) { XCTAssertEqual(Double(a), b, accuracy: 1e-5) }
        }
        // Identical logits: zero loss and zero gradient.
        let same = try Losses.distillation(student: s, teacher: s, temperature: 3)
        XCTAssertEqual(same.loss, 0, accuracy: 1e-6)
        XCTAssertTrue(same.gradient.scalars.allSatisfy { abs($0) < 1e-6 })
    }

    func testLossErrors() {
        let logits = Tensor(shape: [2, 3], repeating: 0)
        XCTAssertThrowsError(try Losses.softmaxCrossEntropy(logits: logits, labels: [0, 3])) { e in
            XCTAssertTrue("\(e)".contains("label 3 is out of range"), "\(e)")
        }
        XCTAssertThrowsError(try Losses.softmaxCrossEntropy(logits: logits, labels: [0]))
        XCTAssertThrowsError(try Losses.distillation(student: logits, teacher: Tensor(shape: [3, 2], repeating: 0)))
    }
}
