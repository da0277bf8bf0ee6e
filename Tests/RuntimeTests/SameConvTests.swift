// SameConvTests: the AVX-512 batched convolution kernels and the residual-Add fold against the portable paths.
import IR
@testable import Runtime
import XCTest

final class SameConvTests: XCTestCase {
    override func tearDown() {
        SameConv.enabled = true
        super.tearDown()
    }

    /// A graph of one convolution `a` over cin×h×w data: made from a one-channel input by a 3×3
    /// convolution first, so that (at batch > 1) it reads CNHW data as inside a network.
    private func convGraph(cin: Int, cout: Int, h: Int, w: Int, _ a: ConvAttributes, rng: inout SeededRandom) throws -> Graph {
        var g = Graph(name: "conv")
        try g.addInput("x", type: TensorType(dims: [.symbol("N"), .fixed(1), .fixed(h), .fixed(w)]))
        try g.addConstant("w0", rng.tensor([cin, 1, 3, 3]))
        try g.addConstant("w", rng.tensor([cout, cin / a.group] + a.kernel))
        try g.addConstant("b", rng.tensor([cout]))
        let x = try g.append(.conv(ConvAttributes(kernel: [3, 3], pads: [1, 1, 1, 1])), ["x", "w0"], name: "x0")
        try g.setOutputs([try g.append(.conv(a), [x, "w", "b"], name: "y")])
        return g
    }

    /// Runs `g` at `batch` with the AVX-512 kernels on and off, and on one and two threads (with
    /// the same floats: only the im2col path's results depend on the thread count).
    private func compare(_ g: Graph, batch: Int, rng: inout SeededRandom, _ message: String) throws {
        guard SameConv.available else { throw XCTSkip("no AVX-512F on this CPU") }
        guard case .fixed(let h) = g.inputs[0].type.dims[2], case .fixed(let w) = g.inputs[0].type.dims[3] else {
            return XCTFail("input type")
        }
        let x = rng.tensor([batch, 1, h, w])
        let interpreter = try Interpreter(graph: g)
        let threads = BLASThreads.count
        defer { BLASThreads.count = threads }
        BLASThreads.count = 1
        SameConv.enabled = true
        let fast = try interpreter.run(["x": x])
        BLASThreads.count = 2
        let fastTwo = try interpreter.run(["x": x])
        SameConv.enabled = false
        let portable = try interpreter.run(["x": x])
        for name in g.outputs {
            guard let a = fast[name], let b = portable[name], let t = fastTwo[name] else { return XCTFail("missing \(name)") }
            assertClose(a, b, rtol: 1e-5, atol: 1e-5, message)
            XCTAssertEqual(a.scalars, t.scalars, "one and two threads differ: \(message)")
        }
    }

    /// Same-size convolutions of every kind the kernel takes: 3×3, 1×1, 5×5, dilated, asymmetric
    /// kernels and pads, stride 2 by phases, output channels that are not a multiple of 8, inputs of 1 to 70 channels
    /// (above 64 the panel input is copied to a window first), column counts that are not a
    /// multiple of the 48-column panel, and the activations it clamps and one it does not.
    func testSameSizeConvolutionsMatchIm2col() throws {
        var rng = SeededRandom(seed: 71)
        let shapes: [(cin: Int, cout: Int, h: Int, w: Int, ConvAttributes)] = [
            (3, 5, 7, 9, ConvAttributes(kernel: [3, 3], pads: [1, 1, 1, 1])),
            (1, 16, 6, 6, ConvAttributes(kernel: [3, 3], pads: [1, 1, 1, 1])),
            (16, 13, 5, 5, ConvAttributes(kernel: [1, 1])),
            (70, 9, 4, 6, ConvAttributes(kernel: [3, 3], pads: [1, 1, 1, 1])),
            (80, 17, 3, 3, ConvAttributes(kernel: [1, 1])),
            (4, 8, 9, 8, ConvAttributes(kernel: [5, 5], pads: [2, 2, 2, 2])),
            (4, 6, 9, 9, ConvAttributes(kernel: [3, 3], pads: [2, 2, 2, 2], dilations: [2, 2])),
            (5, 7, 8, 6, ConvAttributes(kernel: [3, 1], pads: [1, 0, 1, 0])),
            (5, 7, 8, 6, ConvAttributes(kernel: [2, 2], pads: [0, 0, 1, 1])),
            // Stride 2 over planes twice the output's size (split into phases), and one that is not.
            (4, 8, 8, 10, ConvAttributes(kernel: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1])),
            (6, 5, 6, 6, ConvAttributes(kernel: [1, 1], strides: [2, 2])),
            (3, 4, 8, 8, ConvAttributes(kernel: [2, 2], strides: [2, 2])),
            (70, 9, 4, 6, ConvAttributes(kernel: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1])),
            (4, 8, 7, 7, ConvAttributes(kernel: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1])),
        ]
        let activations: [FusedActivation?] = [nil, .relu, .clip(min: -0.3, max: 0.4), .leakyRelu(alpha: 0.1)]
        for (i, s) in shapes.enumerated() {
            for batch in [2, 5] {
                var a = s.4
                a.activation = activations[(i + batch) % activations.count]
                let g = try convGraph(cin: s.cin, cout: s.cout, h: s.h, w: s.w, a, rng: &rng)
                try compare(g, batch: batch, rng: &rng, "shape \(i) batch \(batch) \(String(describing: a.activation))")
            }
        }
    }

    /// NCHW batches (the trainer's layout) through the kernel by way of CNHW copies: the same
    /// answers as im2col + OpenBLAS, the same floats on one and two threads; 1×1 convolutions and
    /// single images keep the portable path (bit-equal with the kernel off).
    func testNCHWBatchesRunThroughCNHWCopies() throws {
        guard SameConv.available else { throw XCTSkip("no AVX-512F on this CPU") }
        var rng = SeededRandom(seed: 73)
        let cases: [(n: Int, cin: Int, cout: Int, h: Int, w: Int, ConvAttributes, usesKernel: Bool)] = [
            (3, 4, 8, 9, 7, ConvAttributes(kernel: [3, 3], pads: [1, 1, 1, 1]), true),
            (2, 16, 12, 14, 14, ConvAttributes(kernel: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], activation: .relu), true),
            (4, 3, 5, 8, 8, ConvAttributes(kernel: [5, 5], pads: [2, 2, 2, 2], activation: .clip(min: 0, max: 0.5)), true),
            (3, 6, 5, 6, 6, ConvAttributes(kernel: [1, 1]), false),
            (1, 4, 8, 9, 7, ConvAttributes(kernel: [3, 3], pads: [1, 1, 1, 1]), false),
        ]
        let threads = BLASThreads.count
        defer { BLASThreads.count = threads }
        for (i, c) in cases.enumerated() {
            let x = rng.tensor([c.n, c.cin, c.h, c.w]), w = rng.tensor([c.cout, c.cin] + c.5.kernel), b = rng.tensor([c.cout])
            let oh = (c.h + c.5.pads[0] + c.5.pads[2] - c.5.kernel[0]) / c.5.strides[0] + 1
            let ow = (c.w + c.5.pads[1] + c.5.pads[3] - c.5.kernel[1]) / c.5.strides[1] + 1
            let shape = [c.n, c.cout, oh, ow]
            func conv() -> Tensor {
                Kernels.conv(x, weight: w, bias: b, attributes: c.5, outputShape: shape, activation: c.5.activation)
            }
            SameConv.enabled = true
            BLASThreads.count = 1
            let fast = conv()
            BLASThreads.count = 2
            let fastTwo = conv()
            SameConv.enabled = false
            BLASThreads.count = 1
            let portable = conv()
            assertClose(fast, portable, rtol: 1e-5, atol: 1e-5, "case \(i)")
            XCTAssertEqual(fast.scalars, fastTwo.scalars, "case \(i): one and two threads differ")
            // The kernel sums in another order than OpenBLAS, so some float differs where it ran.
            if c.usesKernel {
                XCTAssertNotEqual(fast.scalars, portable.scalars, "case \(i) did not run through the kernel")
            } else {
                XCTAssertEqual(fast.scalars, portable.scalars, "case \(i) should keep the portable path")
            }
        }
    }

    /// Depthwise convolutions (stride 1 and 2, channel multiplier 2, 5×5, Clip) against the Swift kernel.
    func testDepthwiseMatchesSwiftKernel() throws {
        var rng = SeededRandom(seed: 72)
        let cases: [(c: Int, h: Int, w: Int, multiplier: Int, ConvAttributes)] = [
            (6, 7, 7, 1, ConvAttributes(kernel: [3, 3], pads: [1, 1, 1, 1], group: 6, activation: .clip(min: 0, max: 6))),
            (4, 14, 14, 1, ConvAttributes(kernel: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], group: 4, activation: .relu)),
            (3, 9, 11, 2, ConvAttributes(kernel: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], group: 3)),
            (5, 20, 20, 1, ConvAttributes(kernel: [5, 5], pads: [2, 2, 2, 2], group: 5, activation: .hardSwish)),
            (2, 40, 35, 1, ConvAttributes(kernel: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], group: 2)),
        ]
        for (i, s) in cases.enumerated() {
            let g = try convGraph(cin: s.c, cout: s.c * s.multiplier, h: s.h, w: s.w, s.4, rng: &rng)
            try compare(g, batch: 3, rng: &rng, "depthwise case \(i)")
        }
    }

    /// Residual blocks: Add(Conv(x), r) and Add(r, Conv(x)) with a Relu are folded into the
    /// convolution's step when r is ready before it; a shortcut computed after the convolution
    /// is not folded. Results match the unfused interpreter's, in both layouts.
    func testResidualAddIsFoldedIntoTheConvolution() throws {
        var rng = SeededRandom(seed: 73)
        var g = Graph(name: "residual")
        try g.addInput("x", type: TensorType(dims: [.symbol("N"), .fixed(1), .fixed(6), .fixed(6)]))
        try g.addConstant("w0", rng.tensor([8, 1, 3, 3]))
        for name in ["w1", "w2", "w3"] { try g.addConstant(name, rng.tensor([8, 8, 3, 3])) }
        try g.addConstant("wd", rng.tensor([8, 8, 1, 1]))
        let same = ConvAttributes(kernel: [3, 3], pads: [1, 1, 1, 1])
        let x = try g.append(.conv(same), ["x", "w0"], name: "c0")
        let c1 = try g.append(.conv(same), [x, "w1"], name: "c1")
        let a1 = try g.append(.add, [c1, x], name: "a1")
        let r1 = try g.append(.relu, [a1], name: "r1")
        let c2 = try g.append(.conv(same), [r1, "w2"], name: "c2")
        let a2 = try g.append(.add, [r1, c2], name: "a2")
        let c3 = try g.append(.conv(same), [a2, "w3"], name: "c3")
        let d = try g.append(.conv(ConvAttributes(kernel: [1, 1])), [a2, "wd"], name: "d")   // after c3: not folded
        let a3 = try g.append(.add, [c3, d], name: "a3")
        try g.setOutputs([try g.append(.relu, [a3], name: "y")])
        let fused = try Interpreter(graph: g)
        XCTAssertEqual(fused.plan.steps.filter { $0.residualAdd != nil }.map(\.name), ["c1+a1+r1", "c2+a2", "d+a3+y"])
        let unfused = try Interpreter(graph: g, options: .init(fuseOperators: false))
        let nchw = try Interpreter(graph: g, options: .init(batchLayout: false))
        for batch in [1, 4] {
            let x = rng.tensor([batch, 1, 6, 6])
            let expected = try unfused.run(["x": x])["y"] ?? Tensor(scalar: 0)
            for (label, interpreter) in [("fused", fused), ("nchw", nchw)] {
                // Outputs reach about 100 after three convolutions: atol is 1e-5 of that.
                assertClose(try interpreter.run(["x": x])["y"] ?? Tensor(scalar: 0), expected, rtol: 1e-5, atol: 1e-3,
                            "\(label) batch \(batch)")
            }
        }
        try compare(g, batch: 3, rng: &rng, "residual graph")
    }
}
