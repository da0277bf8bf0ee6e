// InterpreterTests: whole graphs (fused and unfused), batch binding, input checks, value lifetimes.
import IR
@testable import Runtime
import XCTest

final class InterpreterTests: XCTestCase {
    /// conv → BN → relu → (+ shortcut) → relu → global pool → flatten → gemm, symbolic batch.
    func makeGraph() throws -> Graph {
        var rng = SeededRandom(seed: 21)
        var g = Graph(name: "small")
        try g.addInput("x", type: TensorType(dims: [.symbol("N"), .fixed(3), .fixed(8), .fixed(8)]))
        try g.addConstant("w1", rng.tensor([3, 3, 3, 3]))
        try g.addConstant("gamma", Tensor(shape: [3], scalars: [1.5, 0.5, 1]))
        try g.addConstant("beta", rng.tensor([3]))
        try g.addConstant("mean", rng.tensor([3]))
        try g.addConstant("var", Tensor(shape: [3], scalars: [0.5, 1, 2]))
        try g.addConstant("fc.w", rng.tensor([5, 3]))
        try g.addConstant("fc.b", rng.tensor([5]))
        let c = try g.append(.conv(ConvAttributes(kernel: [3, 3], pads: [1, 1, 1, 1])), ["x", "w1"], name: "conv")
        let b = try g.append(.batchNormalization(epsilon: 1e-5), [c, "gamma", "beta", "mean", "var"], name: "bn")
        let r = try g.append(.relu, [b], name: "relu")
        let s = try g.append(.add, [r, "x"], name: "add")
        let r2 = try g.append(.clip(min: 0, max: 6), [s], name: "relu6")
        let p = try g.append(.globalAveragePool, [r2], name: "pool")
        let f = try g.append(.flatten(axis: 1), [p], name: "flatten")
        let y = try g.append(.gemm(GemmAttributes(transB: true)), [f, "fc.w", "fc.b"], name: "fc")
        try g.setOutputs([y, p])
        return g
    }

    func testFusedAndUnfusedAgreeWithKernelByKernel() throws {
        let g = try makeGraph()
        var rng = SeededRandom(seed: 2)
        let x = rng.tensor([4, 3, 8, 8])
        let fused = try Interpreter(graph: g).run(["x": x])
        let plain = try Interpreter(graph: g, options: .init(fuseOperators: false)).run(["x": x])
        // By hand, one kernel at a time.
        var values = ["x": x]
        for (name, t) in g.constants { values[name] = t }
        for node in g.nodes {
            let outs = try Kernels.execute(node.op, node.inputs.compactMap { values[$0] })
            for (n, t) in zip(node.outputs, outs) { values[n] = t }
        }
        for out in g.outputs {
            guard let expected = values[out], let f = fused[out], let p = plain[out] else { return XCTFail("missing \(out)") }
            assertClose(p, expected, rtol: 0, atol: 0, "unfused \(out)")
            assertClose(f, expected, rtol: 1e-5, atol: 1e-5, "fused \(out)")
        }
        XCTAssertEqual(fused["fc"]?.shape, [4, 5])
        XCTAssertEqual(fused["pool"]?.shape, [4, 3, 1, 1])
    }

    func testFusionPlanAndLifetimes() throws {
        let plan = try Interpreter(graph: try makeGraph()).plan
        XCTAssertEqual(plan.steps.map(\.name), ["conv+bn+relu", "add+relu6", "pool", "flatten", "fc"])
        // The conv output is released after the add reads it; the pool output is a graph output and stays.
        let released = Set(plan.steps.flatMap(\.releases).map { plan.slotNames[$0] })
        XCTAssert(released.contains("relu"))
        XCTAssert(released.contains("relu6"))
        XCTAssertFalse(released.contains("pool"))
        XCTAssertFalse(released.contains("x"))
        XCTAssertFalse(released.contains("w1"))
    }

    func testAnyBatchSize() throws {
        let interpreter = try Interpreter(graph: try makeGraph())
        var rng = SeededRandom(seed: 9)
        let x = rng.tensor([3, 3, 8, 8])
        let all = try interpreter.run(["x": x])["fc"]
        for i in 0..<3 {
            let one = Tensor(shape: [1, 3, 8, 8], scalars: Array(x.scalars[(i * 192)..<((i + 1) * 192)]))
            let y = try interpreter.run(one)
            XCTAssertEqual(y.shape, [1, 5])
            assertClose(y, Tensor(shape: [1, 5], scalars: Array(all?.scalars[(i * 5)..<((i + 1) * 5)] ?? [])), rtol: 1e-5)
        }
        XCTAssertEqual(try interpreter.run(Tensor(shape: [0, 3, 8, 8], scalars: [])).shape, [0, 5])
    }

    func testInputErrors() throws {
        let interpreter = try Interpreter(graph: try makeGraph())
        func message(_ inputs: [String: Tensor]) -> String {
            do { _ = try interpreter.run(inputs); return "no error" } catch { return "\(error)" }
        }
        XCTAssertEqual(message([:]), "input 'x': missing; the model expects f32[N,3,8,8]")
        XCTAssertEqual(message(["x": arange([1, 3, 8, 8]), "y": arange([1])]),
                       "input 'y': the model has no such input (its inputs: 'x')")
        XCTAssertEqual(message(["x": arange([1, 3, 8])]),
                       "input 'x': has shape [1, 3, 8] (rank 3); the model expects f32[N,3,8,8]")
        XCTAssertEqual(message(["x": arange([2, 1, 8, 8])]),
                       "input 'x': has shape [2, 1, 8, 8]; the model expects f32[N,3,8,8] (dimension 1 must be 3)")
    }

    func testInconsistentBatchAcrossInputs() throws {
        var g = Graph()
        try g.addInput("a", type: TensorType(dims: [.symbol("N"), .fixed(2)]))
        try g.addInput("b", type: TensorType(dims: [.symbol("N"), .fixed(2)]))
        try g.setOutputs([try g.append(.add, ["a", "b"], name: "sum")])
        let interpreter = try Interpreter(graph: g)
        XCTAssertThrowsError(try interpreter.run(["a": arange([2, 2]), "b": arange([3, 2])])) { error in
            XCTAssertEqual("\(error)", "input 'b': has N = 3, but another input gave N = 2")
        }
        XCTAssertEqual(try interpreter.run(["a": arange([2, 2]), "b": arange([2, 2])])["sum"]?.scalars, [0, 2, 4, 6])
    }

    func testGraphOutputThatIsAnInput() throws {
        var g = Graph()
        try g.addInput("a", type: TensorType(shape: [2]))
        try g.setOutputs(["a"])
        XCTAssertEqual(try Interpreter(graph: g).run(["a": arange([2])])["a"]?.scalars, [0, 1])
    }

    func testElidedConstantsCannotRun() throws {
        var g = Graph()
        try g.addInput("a", type: TensorType(shape: [2]))
        try g.addConstant("c", Tensor.elided(shape: [2]))
        try g.setOutputs([try g.append(.add, ["a", "c"], name: "sum")])
        XCTAssertThrowsError(try Interpreter(graph: g)) { error in
            XCTAssert("\(error)".contains("elided"), "\(error)")
        }
    }
}

final class BatchLayoutTests: XCTestCase {
    /// Every op that keeps CNHW data (conv, pools, BN, per-channel and same-shape arithmetic,
    /// channel concat, activations) and the conversions around the others, against the
    /// NCHW-only interpreter, at batch 3 and batch 1; a CNHW value is also a graph output.
    func testCNHWExecutionMatchesNCHW() throws {
        var rng = SeededRandom(seed: 31)
        var g = Graph(name: "layouts")
        try g.addInput("x", type: TensorType(dims: [.symbol("N"), .fixed(2), .fixed(9), .fixed(9)]))
        for (name, shape) in [("w1", [4, 2, 3, 3]), ("w2", [4, 4, 1, 1]), ("w3", [3, 4, 3, 3]), ("dw", [7, 1, 3, 3]),
                              ("scale", [4, 1, 1]), ("row", [9]), ("fc", [2, 7])] {
            try g.addConstant(name, rng.tensor(shape))
        }
        for name in ["g", "b", "m"] { try g.addConstant(name, rng.tensor([4])) }
        try g.addConstant("v", Tensor(shape: [4], scalars: [0.5, 1, 1.5, 2]))
        let c1 = try g.append(.conv(ConvAttributes(kernel: [3, 3], pads: [1, 1, 1, 1])), ["x", "w1"], name: "c1")
        let p1 = try g.append(.maxPool(PoolAttributes(kernel: [2, 2], strides: [1, 1], pads: [0, 0, 1, 1])), [c1], name: "p1")
        let bn = try g.append(.batchNormalization(epsilon: 1e-3), [p1, "g", "b", "m", "v"], name: "bn")
        let sc = try g.append(.mul, [bn, "scale"], name: "scale_mul")
        let rw = try g.append(.add, [sc, "row"], name: "row_add")
        let c2 = try g.append(.conv(ConvAttributes(kernel: [1, 1])), [rw, "w2"], name: "c2")
        let sum = try g.append(.sub, [c2, bn], name: "sum")
        let c3 = try g.append(.conv(ConvAttributes(kernel: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1])), [sum, "w3"], name: "c3")
        let p3 = try g.append(.averagePool(PoolAttributes(kernel: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], countIncludePad: true)),
                              [sum], name: "p3")
        let cat = try g.append(.concat(axis: 1), [c3, p3], name: "cat")
        let dw = try g.append(.conv(ConvAttributes(kernel: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], group: 7)), [cat, "dw"], name: "dw")
        let act = try g.append(.sigmoid, [dw], name: "act")
        let gap = try g.append(.globalAveragePool, [act], name: "gap")
        let flat = try g.append(.flatten(axis: 1), [gap], name: "flat")
        let y = try g.append(.gemm(GemmAttributes(transB: true)), [flat, "fc"], name: "y")
        let t = try g.append(.transpose(perm: [0, 2, 3, 1]), [c1], name: "t")
        try g.setOutputs([y, cat, t, sum])
        let layouts = try Interpreter(graph: g)
        let plain = try Interpreter(graph: g, options: .init(batchLayout: false))
        for batch in [3, 1] {
            let x = rng.tensor([batch, 2, 9, 9])
            let a = try layouts.run(["x": x]), b = try plain.run(["x": x])
            for name in g.outputs {
                guard let u = a[name], let v = b[name] else { return XCTFail("missing \(name)") }
                assertClose(u, v, rtol: 1e-5, atol: 1e-6, "\(name) at batch \(batch)")
            }
        }
    }
}

final class FusedConvActivationTests: XCTestCase {
    /// A convolution carrying the IR's fused activation applies it after the bias, in every
    /// execution mode; a BatchNormalization after it is not folded into it.
    func testConvAttributeActivation() throws {
        var rng = SeededRandom(seed: 41)
        for fused in [FusedActivation.relu, .leakyRelu(alpha: 0.1), .clip(min: -0.5, max: 0.5), .hardSwish] {
            var g = Graph(name: "fused")
            try g.addInput("x", type: TensorType(dims: [.symbol("N"), .fixed(2), .fixed(6), .fixed(6)]))
            try g.addConstant("w", rng.tensor([3, 2, 3, 3]))
            try g.addConstant("b", rng.tensor([3]))
            for name in ["s", "t", "m"] { try g.addConstant(name, rng.tensor([3])) }
            try g.addConstant("v", Tensor(shape: [3], scalars: [0.5, 1, 2]))
            let c = try g.append(.conv(ConvAttributes(kernel: [3, 3], pads: [1, 1, 1, 1], activation: fused)), ["x", "w", "b"], name: "c")
            let n = try g.append(.batchNormalization(epsilon: 1e-5), [c, "s", "t", "m", "v"], name: "bn")
            try g.setOutputs([n])
            for batch in [1, 3] {
                let x = rng.tensor([batch, 2, 6, 6])
                var plain = ConvAttributes(kernel: [3, 3], pads: [1, 1, 1, 1])
                plain.activation = nil
                let conv = try Kernels.execute(.conv(plain), [x, g.constants["w"]!, g.constants["b"]!])[0]
                let activated = Tensor(shape: conv.shape, scalars: conv.scalars.map { fused.apply($0) })
                let expected = try Kernels.execute(.batchNormalization(epsilon: 1e-5),
                                                   [activated] + ["s", "t", "m", "v"].map { g.constants[$0]! })[0]
                for options in [Interpreter.Options(), .init(fuseOperators: false), .init(batchLayout: false)] {
                    let y = try Interpreter(graph: g, options: options).run(["x": x])["bn"]
                    assertClose(y ?? Tensor(scalar: 0), expected, rtol: 1e-5, atol: 1e-6, "\(fused) batch \(batch) \(options)")
                }
            }
        }
    }
}
