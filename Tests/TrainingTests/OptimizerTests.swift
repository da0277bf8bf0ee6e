// OptimizerTests: SGD steps and learning-rate schedules against hand-computed values; the seeded RNG.
import IR
import Runtime
import XCTest

final class OptimizerTests: XCTestCase {
    func testSGDMomentumNesterovAndWeightDecayByHand() {
        var params: [String: Tensor] = ["w": Tensor(shape: [1, 2], scalars: [1, -2]), "b": Tensor(shape: [1], scalars: [0.5])]
        let grads: [String: Tensor] = ["w": Tensor(shape: [1, 2], scalars: [0.1, 0.2]), "b": Tensor(shape: [1], scalars: [1])]
        var sgd = SGD(momentum: 0.9, nesterov: false, weightDecay: 0.1)
        sgd.step(&params, gradients: grads, lr: 0.5)
        // w: d = g + 0.1·w = [0.2, 0.0]; v = d; w -= 0.5·v → [0.9, -2.0]. b: no decay; v = 1; b = 0.
        XCTAssertEqual(params["w"]!.scalars[0], 0.9, accuracy: 1e-6)
        XCTAssertEqual(params["w"]!.scalars[1], -2.0, accuracy: 1e-6)
        XCTAssertEqual(params["b"]!.scalars[0], 0.0, accuracy: 1e-6)
        sgd.step(&params, gradients: grads, lr: 0.5)
        // w[0]: d = 0.1 + 0.09 = 0.19; v = 0.9·0.2 + 0.19 = 0.37; w = 0.9 − 0.185 = 0.715.
        XCTAssertEqual(params["w"]!.scalars[0], 0.715, accuracy: 1e-6)
        // b: v = 0.9 + 1 = 1.9; b = 0 − 0.95.
        XCTAssertEqual(params["b"]!.scalars[0], -0.95, accuracy: 1e-6)

        var nest: [String: Tensor] = ["b": Tensor(shape: [1], scalars: [0])]
        var n = SGD(momentum: 0.5, nesterov: true, weightDecay: 0)
        n.step(&nest, gradients: ["b": Tensor(shape: [1], scalars: [2])], lr: 0.1)
        // v = 2; step = g + 0.5·v = 3 → −0.3.
        XCTAssertEqual(nest["b"]!.scalars[0], -0.3, accuracy: 1e-6)
        n.step(&nest, gradients: ["b": Tensor(shape: [1], scalars: [2])], lr: 0.1)
        // v = 1 + 2 = 3; step = 2 + 1.5 = 3.5 → −0.65.
        XCTAssertEqual(nest["b"]!.scalars[0], -0.65, accuracy: 1e-6)
        XCTAssertEqual(n.velocity["b"], [3])
    }

    func testCosineScheduleWithWarmup() {
        let s = LearningRateSchedule.cosine(base: 0.1, minimum: 0.001, warmupSteps: 4)
        XCTAssertEqual(s.rate(step: 0, totalSteps: 14), 0.025, accuracy: 1e-7)
        XCTAssertEqual(s.rate(step: 3, totalSteps: 14), 0.1, accuracy: 1e-7)
        XCTAssertEqual(s.rate(step: 4, totalSteps: 14), 0.1, accuracy: 1e-7)
        // Half-way through the 10 post-warm-up steps (span 9): t = 4.5/9 → midpoint.
        XCTAssertEqual(s.rate(step: 13, totalSteps: 14), 0.001, accuracy: 1e-7)
        let mid = 0.001 + (0.1 - 0.001) * 0.5 * (1 + cos(Double.pi * 5 / 9))
        XCTAssertEqual(Double(s.rate(step: 9, totalSteps: 14)), mid, accuracy: 1e-6)
    }

    func testOneCycleSchedule() {
        let s = LearningRateSchedule.oneCycle(max: 1, warmupFraction: 0.3, divFactor: 25, finalDivFactor: 1e4)
        XCTAssertEqual(s.rate(step: 0, totalSteps: 100), 0.04, accuracy: 1e-7)
        XCTAssertEqual(s.rate(step: 29, totalSteps: 100), 1, accuracy: 1e-6)
        XCTAssertEqual(s.rate(step: 99, totalSteps: 100), 0.04 / 1e4, accuracy: 1e-9)
        let rates = (0..<100).map { s.rate(step: $0, totalSteps: 100) }
        XCTAssertEqual(rates.firstIndex(of: rates.max()!), 29)
        for i in 30..<99 { XCTAssertLessThanOrEqual(rates[i + 1], rates[i]) }
    }

    func testConstantScheduleWarmup() {
        let s = LearningRateSchedule.constant(base: 0.2, warmupSteps: 2)
        XCTAssertEqual([0, 1, 2, 50].map { s.rate(step: $0, totalSteps: 60) }, [0.1, 0.2, 0.2, 0.2])
    }

    func testRNGIsSeededAndRestorable() {
        var a = TrainingRNG(seed: 42), b = TrainingRNG(seed: 42), c = TrainingRNG(seed: 43)
        let xs = (0..<5).map { _ in a.next() }
        XCTAssertEqual(xs, (0..<5).map { _ in b.next() })
        XCTAssertNotEqual(xs, (0..<5).map { _ in c.next() })
        var d = TrainingRNG(state: a.stateWords)
        XCTAssertEqual(a.next(), d.next())
        XCTAssertEqual(Set(a.permutation(100)), Set(0..<100))
        for _ in 0..<1000 { let u = a.nextUnitFloat(); XCTAssertTrue(u >= 0 && u < 1) }
    }
}
