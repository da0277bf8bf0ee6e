// GradientCheck: compares the engine's gradients with central finite differences of a float64 reference.
import IR
import Runtime
import XCTest

/// A single-op (or small) graph to check: its data inputs, and the float64 function it computes
/// from every input and constant by name.
struct GradientCase {
    var graph: Graph
    var inputs: [String: Tensor]
    var reference: ([String: R64]) -> R64
    var mode: TrainableGraph.Mode = .training
}

/// Builds a graph with one node over inputs and constants; returns it with the output name.
func singleOpGraph(_ op: Op, inputs: [(String, Tensor)], constants: [(String, Tensor)]) throws -> Graph {
    var g = Graph()
    for (name, t) in inputs { try g.addInput(name, type: t.type) }
    for (name, t) in constants { try g.addConstant(name, t) }
    let order = (inputs + constants).map(\.0)
    let out = try g.append(op, order, name: "op", output: "y")
    try g.setOutputs([out])
    return g
}

/// Seeded values in [lo, hi), kept `gap` away from any of `kinks` (so that a finite difference
/// never straddles a point where the function is not differentiable).
func values(_ shape: [Int], seed: UInt64, lo: Float = -1, hi: Float = 1, avoiding kinks: [Float] = [], gap: Float = 0.02) -> Tensor {
    var rng = TrainingRNG(seed: seed)
    let n = shape.reduce(1, *)
    var v: [Float] = []
    while v.count < n {
        let x = lo + (hi - lo) * rng.nextUnitFloat()
        if kinks.allSatisfy({ abs(x - $0) > gap }) { v.append(x) }
    }
    return Tensor(shape: shape, scalars: v)
}

extension XCTestCase {
    /// Checks forward values against the reference and every gradient (data inputs and
    /// parameters) against central differences of L = Σ y·r in float64.
    func checkGradients(_ c: GradientCase, step h: Double = 1e-4, tolerance: Double = 2e-3,
                        file: StaticString = #filePath, line: UInt = #line) throws {
        let net = try TrainableGraph(graph: c.graph)
        var rng = TrainingRNG(seed: 7)
        let tape = try net.forward(c.inputs, mode: c.mode, rng: &rng)
        let outName = c.graph.outputs[0]
        let y = try net.value(outName, on: tape)
        var all: [String: R64] = [:]
        for (k, t) in c.inputs { all[k] = R64(t) }
        for (k, t) in c.graph.constants { all[k] = R64(t) }
        let ref = c.reference(all)
        XCTAssertEqual(ref.shape, y.shape, "reference and engine output shapes differ", file: file, line: line)
        for i in 0..<min(ref.count, y.count) {
            XCTAssertEqual(Double(y.scalars[i]), ref.v[i], accuracy: 1e-4 * max(1, abs(ref.v[i])),
                           "forward element \(i)", file: file, line: line)
        }
        let r = values(y.shape, seed: 99)
        let grads = try net.backward(tape, outputGradients: [outName: r], inputs: Set(c.inputs.keys))
        let r64 = r.scalars.map(Double.init)
        func loss(_ vals: [String: R64]) -> Double { zip(c.reference(vals).v, r64).reduce(0) { $0 + $1.0 * $1.1 } }
        let checked = c.inputs.keys.sorted() + net.parameterNames
        XCTAssertFalse(checked.isEmpty, file: file, line: line)
        for name in checked {
            guard let g = grads[name], let base = all[name] else { XCTFail("no gradient for \(name)", file: file, line: line); continue }
            XCTAssertEqual(g.shape, base.shape, "gradient shape of \(name)", file: file, line: line)
            var worst = 0.0
            for i in 0..<base.count {
                var plus = all, minus = all
                plus[name]?.v[i] += h
                minus[name]?.v[i] -= h
                let numeric = (loss(plus) - loss(minus)) / (2 * h)
                let err = abs(Double(g.scalars[i]) - numeric) / max(1, abs(numeric))
                worst = max(worst, err)
            }
            XCTAssertLessThan(worst, tolerance, "gradient of '\(name)' (worst relative error)", file: file, line: line)
        }
    }
}
