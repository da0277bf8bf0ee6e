// ThreadedTrainingTests: the kernels that split work between threads: gradients, determinism, agreement with one thread.
import IR
import Runtime
import XCTest

final class ThreadedTrainingTests: XCTestCase {
    private var savedThreads = 1

    override func setUp() {
        super.setUp()
        savedThreads = BLASThreads.count
    }

    override func tearDown() {
        BLASThreads.count = savedThreads
        super.tearDown()
    }

    private func convCase(x: [Int], w: [Int], _ a: ConvAttributes) throws -> GradientCase {
        let xs = values(x, seed: 1)
        let g = try singleOpGraph(.conv(a), inputs: [("x", xs)], constants: [("w", values(w, seed: 2)), ("b", values([w[0]], seed: 3))])
        let out = try g.type(of: "y").fixedShape ?? []
        return GradientCase(graph: g, inputs: ["x": xs]) { v in Ref.conv(v["x"]!, v["w"]!, v["b"], a, out: out) }
    }

    /// On two threads the batch is split (partial weight gradients summed) and depthwise
    /// channels are split: the gradients still match finite differences.
    func testConvGradientsOnTwoThreads() throws {
        BLASThreads.count = 2
        try checkGradients(try convCase(x: [3, 3, 5, 5], w: [4, 3, 3, 3], ConvAttributes(kernel: [3, 3], pads: [1, 1, 1, 1])))
        try checkGradients(try convCase(x: [5, 2, 3, 3], w: [3, 2, 3, 3], ConvAttributes(kernel: [3, 3], pads: [1, 1, 1, 1])))
        try checkGradients(try convCase(x: [2, 4, 5, 5], w: [6, 2, 3, 3], ConvAttributes(kernel: [3, 3], pads: [1, 1, 1, 1], group: 2)))
        try checkGradients(try convCase(x: [3, 5, 6, 7], w: [5, 1, 3, 3],
                                        ConvAttributes(kernel: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], group: 5)))
        try checkGradients(try convCase(x: [2, 4, 9, 9], w: [4, 1, 3, 3], ConvAttributes(kernel: [3, 3], pads: [1, 1, 1, 1], group: 4)))
    }

    /// One forward and backward pass of the small CNN at batch 32 (large enough that BatchNorm,
    /// the activations and the accumulations split too): every value and gradient.
    private func pass(threads: Int) throws -> [String: Tensor] {
        BLASThreads.count = threads
        let net = try TrainableGraph(graph: try smallCNN(seed: 3))
        var rng = TrainingRNG(seed: 11)
        let x = values([32, 1, 28, 28], seed: 12, lo: 0, hi: 1)
        let tape = try net.forward(["x": x], mode: .training, rng: &rng)
        let out = net.graph.outputs[0]
        let y = try net.value(out, on: tape)
        var result = try net.backward(tape, outputGradients: [out: values(y.shape, seed: 13)], inputs: ["x"])
        result["y"] = y
        return result
    }

    func testTwoThreadsAreDeterministicAndAgreeWithOne() throws {
        let one = try pass(threads: 1), two = try pass(threads: 2), again = try pass(threads: 2)
        XCTAssertEqual(two, again, "two runs on two threads differ")
        XCTAssertEqual(Set(one.keys), Set(two.keys))
        for (name, a) in one {
            guard let b = two[name] else { continue }
            XCTAssertEqual(a.shape, b.shape, name)
            let scale = a.scalars.map(abs).max() ?? 0
            let worst = zip(a.scalars, b.scalars).map { abs($0 - $1) }.max() ?? 0
            // Only the sums over images of a weight gradient change order with the thread count.
            XCTAssertLessThanOrEqual(worst, 1e-5 * max(scale, 1e-3), "'\(name)': one and two threads differ by \(worst)")
        }
    }
}
