// DepthExitsTests: insert-exits{at=blocks} (SDN-style depth exits) in text, its refusals, and exactness on real models.

import XCTest
import IR
import ONNX
import Passes
import Runtime
import TestSupport

/// Two blocks: a residual one (Add then Relu) and a strided conv that feeds the classifier (also
/// CombinedExitsTests' model).
let residualBlockIR = """
    graph @res(%x: f32[N,1,4,4]) -> (%y) {
      const %w1: f32[2,1,1,1] = dense<[1.0, -1.0]>
      const %w2: f32[2,2,1,1] = dense<[1.0, 0.5, 0.0, 1.0]>
      const %w3: f32[2,2,3,3] = dense<[0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.1, 1.2, 1.3, 1.4, 1.5, 1.6, 1.7, 1.8, -0.1, -0.2, -0.3, -0.4, -0.5, -0.6, -0.7, -0.8, -0.9, -1.0, -1.1, -1.2, -1.3, -1.4, -1.5, -1.6, -1.7, -1.8]>
      const %fw: f32[3,2] = dense<[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]>
      const %fb: f32[3] = dense<[0.5, -0.5, 0.0]>
      %c1 = conv(%x, %w1) {kernel = [1, 1], activation = relu}
      %c2 = conv(%c1, %w2) {kernel = [1, 1]}
      %a1 = add(%c1, %c2)
      %r1 = relu(%a1)
      %c3 = conv(%r1, %w3) {kernel = [3, 3], pads = [1, 1, 1, 1], strides = [2, 2], activation = relu}
      %p = global_average_pool(%c3)
      %f = flatten(%p) {axis = 1}
      %z = gemm(%f, %fw, %fb) {trans_b = true}
      %y = softmax(%z) {axis = 1}
      return %y
    }
    """

final class DepthExitsTests: XCTestCase {
    /// One depth exit after the residual block (the Relu after its Add): the backbone up to it and
    /// the new head are stage 1, the rest stage 2; the head copies the Softmax tail.
    func testResidualBlockGetsADepthExit() throws {
        try assertPipeline("insert-exits{at=blocks thresholds=[0.7] seed=3}", residualBlockIR, """
            graph @res(%x: f32[N,1,4,4]) -> (%y) {
              const %w1: f32[2,1,1,1] = dense<[1.0, -1.0]>
              const %w2: f32[2,2,1,1] = dense<[1.0, 0.5, 0.0, 1.0]>
              const %w3: f32[2,2,3,3] = dense<[0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.1, 1.2, 1.3, 1.4, 1.5, 1.6, 1.7, 1.8, -0.1, -0.2, -0.3, -0.4, -0.5, -0.6, -0.7, -0.8, -0.9, -1.0, -1.1, -1.2, -1.3, -1.4, -1.5, -1.6, -1.7, -1.8]>
              const %fw: f32[3,2] = dense<[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]>
              const %fb: f32[3] = dense<[0.5, -0.5, 0.0]>
              const %exit1.fc.weight: f32[3,2] = dense<[-0.5466638, 0.28325775, 0.15977027, -0.6040577, -0.4010157, 0.19264743]>
              const %exit1.fc.bias: f32[3] = dense<[-0.5159817, 0.54973084, -0.012639671]>
              %c1: f32[N,2,4,4] = conv(%x, %w1) {kernel = [1, 1], strides = [1, 1], pads = [0, 0, 0, 0], dilations = [1, 1], group = 1, activation = relu} name = "c1" stage = 1
              %c2: f32[N,2,4,4] = conv(%c1, %w2) {kernel = [1, 1], strides = [1, 1], pads = [0, 0, 0, 0], dilations = [1, 1], group = 1} name = "c2" stage = 1
              %a1: f32[N,2,4,4] = add(%c1, %c2) name = "a1" stage = 1
              %r1: f32[N,2,4,4] = relu(%a1) name = "r1" stage = 1
              %exit1.pool: f32[N,2,1,1] = global_average_pool(%r1) name = "exit1.pool" stage = 1
              %exit1.flatten: f32[N,2] = flatten(%exit1.pool) {axis = 1} name = "exit1.flatten" stage = 1
              %exit1.fc: f32[N,3] = gemm(%exit1.flatten, %exit1.fc.weight, %exit1.fc.bias) {alpha = 1.0, beta = 1.0, trans_a = false, trans_b = true} name = "exit1.fc" stage = 1
              %exit1.y: f32[N,3] = softmax(%exit1.fc) {axis = 1} name = "exit1.y" stage = 1
              %c3: f32[N,2,2,2] = conv(%r1, %w3) {kernel = [3, 3], strides = [2, 2], pads = [1, 1, 1, 1], dilations = [1, 1], group = 1, activation = relu} name = "c3" stage = 2
              %p: f32[N,2,1,1] = global_average_pool(%c3) name = "p" stage = 2
              %f: f32[N,2] = flatten(%p) {axis = 1} name = "f" stage = 2
              %z: f32[N,3] = gemm(%f, %fw, %fb) {alpha = 1.0, beta = 1.0, trans_a = false, trans_b = true} name = "z" stage = 2
              %y: f32[N,3] = softmax(%z) {axis = 1} name = "y" stage = 2
              stages 2 static_macs = 246 static_parameters = 51 axis = depth
              classifier "z" sums = []
              exit 1 %exit1.y threshold = 0.7 score = max block = %r1
              exit 2 %y threshold = inf score = max
              return %y
            }
            """)
    }

    func testDepthTextRoundTripsAndSeedsDiffer() throws {
        var graph = try TextParser.parse(residualBlockIR)
        try PassManager(pipeline: "insert-exits{at=blocks}", verifyEach: true).run(&graph)
        let text = TextPrinter.print(graph, elideConstantsAbove: nil)
        let again = try TextParser.parse(text)
        XCTAssertEqual(again, graph)
        XCTAssertEqual(TextPrinter.print(again, elideConstantsAbove: nil), text)
        var other = try TextParser.parse(residualBlockIR)
        try PassManager(pipeline: "insert-exits{at=blocks seed=4}").run(&other)
        XCTAssertNotEqual(other.constants["exit1.fc.weight"], graph.constants["exit1.fc.weight"])
        // Cost: exit 1 is the backbone prefix plus its head (3 × 2 MACs), exit 2 everything.
        XCTAssertEqual(try CostModel.stageReport(graph).cumulativeMACs, [32 + 64 + 6, 32 + 64 + 6 + 144 + 6])
    }

    /// Without residual joins the cut points are the maps before each downsampling (VGG style);
    /// the last one feeds the classifier directly and gets no head.
    func testPlainChainExitsBeforeEachDownsampling() throws {
        var graph = try TextParser.parse("""
            graph @vgg(%x: f32[N,1,8,8]) -> (%y) {
              const %w1: f32[2,1,3,3] = dense<elided>
              const %w2: f32[3,2,3,3] = dense<elided>
              const %w3: f32[4,3,3,3] = dense<elided>
              const %fw: f32[5,4] = dense<elided>
              %c1 = conv(%x, %w1) {kernel = [3, 3], pads = [1, 1, 1, 1], activation = relu}
              %p1 = max_pool(%c1) {kernel = [2, 2], strides = [2, 2]}
              %c2 = conv(%p1, %w2) {kernel = [3, 3], pads = [1, 1, 1, 1], activation = relu}
              %p2 = max_pool(%c2) {kernel = [2, 2], strides = [2, 2]}
              %c3 = conv(%p2, %w3) {kernel = [3, 3], pads = [1, 1, 1, 1], activation = relu}
              %g = global_average_pool(%c3)
              %f = flatten(%g) {axis = 1}
              %y = gemm(%f, %fw) {trans_b = true}
              return %y
            }
            """)
        try PassManager(pipeline: "insert-exits{at=blocks}", verifyEach: true).run(&graph)
        let info = try XCTUnwrap(graph.stageInfo)
        XCTAssertEqual(info.axis, .depth)
        XCTAssertEqual(info.exits.map(\.block), ["c1", "c2", nil])
        XCTAssertEqual(info.exits.map(\.score), [.softmax, .softmax, .softmax])
        XCTAssertEqual(graph.nodes.filter { $0.staging?.stage == 2 }.map(\.name),
                       ["p1", "c2", "exit2.pool", "exit2.flatten", "exit2.fc"])
    }

    func testRefusals() throws {
        func refuses(_ pipeline: String, _ ir: String, _ needle: String, line: UInt = #line) {
            assertPipelineFails(pipeline, ir, containing: needle, line: line)
        }
        refuses("insert-exits{at=blocks},insert-exits{at=blocks}", residualBlockIR, "already has early exits (at stages [1, 2])")
        refuses("insert-exits{at=blocks},insert-exits", residualBlockIR, "already has depth exits")
        refuses("insert-exits{at=blocks thresholds=[0.5,0.5,0.5]}", residualBlockIR, "3 thresholds for 1 depth exits (after blocks 'r1')")
        // The only block feeds the classifier directly.
        refuses("insert-exits{at=blocks}", smallStaticIR, "no block to exit after")
        refuses("insert-exits{at=blocks},make-sliceable", residualBlockIR, "make-sliceable works on width stages")
        refuses("insert-exits{at=blocks},flops-bins", residualBlockIR, "flops-bins works on width stages")
        refuses("insert-exits{at=blocks},split-stages{stages=2}", residualBlockIR, "already split into stages")
        // One stage is an unsplit graph: depth exits go on it.
        var one = try TextParser.parse(residualBlockIR)
        try PassManager(pipeline: "split-stages{stages=1},insert-exits{at=blocks}", verifyEach: true).run(&one)
        XCTAssertEqual(one.stageInfo?.exits.count, 2)
    }

    func testVerifierDepthRules() throws {
        var graph = try TextParser.parse(residualBlockIR)
        try PassManager(pipeline: "insert-exits{at=blocks}").run(&graph)
        let text = TextPrinter.print(graph, elideConstantsAbove: nil)
        func diagnostics(_ t: String) throws -> [String] { Verifier.diagnostics(try TextParser.parse(t)).map(\.description) }
        XCTAssertEqual(try diagnostics(text), [])
        XCTAssertTrue(try diagnostics(text.replacingOccurrences(of: " block = %r1", with: "")).contains("depth exit 1 names no block"))
        XCTAssertTrue(try diagnostics(text.replacingOccurrences(of: " block = %r1", with: " block = %c3")).contains(
            "depth exit 1 block 'c3' is of stage 2"))
        XCTAssertTrue(try diagnostics(text.replacingOccurrences(of: " axis = depth", with: "")).contains(
            "exit 1 names a block, but the stages are width stages (blocks belong to depth exits)"))
    }
}

/// The reference logits of a depth head: `map` [N, C, H, W] averaged over H·W, times the head
/// weight's [K, C] columns of the channels `keep` admits, plus the bias; [N·K] row-major.
func pooledHeadLogits(_ map: Tensor, weight w: Tensor, bias b: Tensor, keep: (Int) -> Bool = { _ in true }) -> [Float] {
    let (n, c, hw) = (map.shape[0], map.shape[1], map.shape[2] * map.shape[3])
    let classes = w.shape[0]
    var logits: [Float] = []
    for s in 0..<n {
        let pooled = (0..<c).map { ch in (0..<hw).reduce(Float(0)) { $0 + map.scalars[(s * c + ch) * hw + $1] } / Float(hw) }
        let kept = (0..<c).filter(keep)
        for j in 0..<classes { logits.append(b.scalars[j] + kept.reduce(Float(0)) { $0 + w.scalars[j * c + $1] * pooled[$1] }) }
    }
    return logits
}

/// Depth exits on real models: each exit's logits equal the static model's block feature map
/// pooled and put through the head's weights, each exit's MACs an independent count, batch N = 1.
final class DepthExitsModelTests: XCTestCase {
    func canonical(_ path: String) throws -> Graph {
        var graph = try ONNXLoader.load(path: path)
        try PassManager(pipeline: "canonicalize").run(&graph)
        return graph
    }

    /// Checks every depth exit of `source` with `insert-exits{at=blocks}`; returns the staged graph.
    @discardableResult
    func check(_ source: Graph, exits: Int, batch: Int = 2, label: String) throws -> Graph {
        var staged = source
        try PassManager(pipeline: "insert-exits{at=blocks seed=1}", verifyEach: true).run(&staged)
        let info = try XCTUnwrap(staged.stageInfo)
        XCTAssertEqual(info.exits.count, exits + 1, label)
        let runner = try StagedInterpreter(graph: staged)
        let name = source.inputs[0].name, out = source.outputs[0]
        let input = stagedTestInput(source.inputs[0].type.shape(batch: batch), seed: 3)
        var headMACs = 0
        for e in info.exits.dropLast() {
            let block = try XCTUnwrap(e.block)
            // Every block is a residual join: an Add, or an activation of one.
            let p = try XCTUnwrap(source.producer(of: block))
            var op = source.nodes[p].op
            if FusedActivation(op) != nil, let q = source.producer(of: source.nodes[p].inputs[0]) { op = source.nodes[q].op }
            guard case .add = op else { XCTFail("\(label): block '\(block)' is not a residual join"); continue }
            // Independent: the static model cut at the block, pooled here, times the head's weights.
            var cut = source
            try cut.setOutputs([block])
            try PassManager(pipeline: "dce").run(&cut)
            let map = try XCTUnwrap(Interpreter(graph: cut).run([name: input])[block])
            let c = map.shape[1]
            let w = try XCTUnwrap(staged.constants["exit\(e.stage).fc.weight"]), b = try XCTUnwrap(staged.constants["exit\(e.stage).fc.bias"])
            let classes = w.shape[0]
            XCTAssertEqual(w.shape, [classes, c])
            let want = pooledHeadLogits(map, weight: w, bias: b)
            let result = try runner.run([name: input], exitAt: e.stage)
            let have = try XCTUnwrap(result.outputs[out])
            XCTAssertEqual(have.shape, [batch, classes], label)
            let scale = max(want.map(abs).max() ?? 0, 1e-30)
            let diff = zip(have.scalars, want).map { abs($0 - $1) }.max() ?? 1
            XCTAssertLessThanOrEqual(diff / scale, 1e-5, "\(label) exit \(e.stage): max |diff| \(diff) of \(scale)")
            headMACs += classes * c
            XCTAssertEqual(result.macs, Array(repeating: try CostModel.report(cut).totals.macs + headMACs, count: batch),
                           "\(label) exit \(e.stage) MACs")
        }
        // The last exit is the static model.
        let last = try runner.run([name: input], exitAt: info.stageCount)
        let want = try XCTUnwrap(Interpreter(graph: source).run([name: input])[out])
        let diff = zip(try XCTUnwrap(last.outputs[out]).scalars, want.scalars).map { abs($0 - $1) }.max() ?? 1
        XCTAssertLessThanOrEqual(diff, 1e-5 * max(1, want.scalars.map(abs).max() ?? 1), label)
        XCTAssertEqual(last.macs.first, try CostModel.report(source).totals.macs + headMACs, label)
        return staged
    }

    func testDefaultModel() throws {
        let source = try canonical(TestSupport.repoRoot.appendingPathComponent("models/default.onnx").path)
        let staged = try check(source, exits: 2, batch: 3, label: "default")
        // Batch N: thresholds at each early exit's median score send samples out at every exit,
        // and each sample's exit, logits and MACs equal its batch-1 run.
        let runner = try StagedInterpreter(graph: staged)
        let n = 8, name = source.inputs[0].name, out = source.outputs[0]
        let input = stagedTestInput([n, 1, 28, 28], seed: 11)
        var thresholds: [Float] = []
        for s in 1...2 {
            let y = try XCTUnwrap(runner.run([name: input], exitAt: s).outputs[out])
            let scores = (0..<n).map { StagedInterpreter.score(Array(y.scalars[($0 * 10)..<($0 * 10 + 10)]), .softmax) }.sorted()
            thresholds.append(TestSupport.threshold(between: scores, at: n / 2))
        }
        let batched = try runner.run([name: input], thresholds: thresholds)
        XCTAssertGreaterThan(Set(batched.exitStage).count, 1, "the thresholds should split the batch: \(batched.exitStage)")
        for i in 0..<n {
            let single = try runner.run([name: StagedInterpreter.gather(input, rows: [i], of: n)], thresholds: thresholds)
            XCTAssertEqual(single.exitStage[0], batched.exitStage[i], "sample \(i)")
            XCTAssertEqual(single.macs[0], batched.macs[i], "sample \(i)")
            let a = try XCTUnwrap(single.outputs[out]).scalars, b = Array(try XCTUnwrap(batched.outputs[out]).scalars[(i * 10)..<(i * 10 + 10)])
            XCTAssertLessThanOrEqual(zip(a, b).map { abs($0 - $1) }.max() ?? 1, 1e-5 * max(1, a.map(abs).max() ?? 1), "sample \(i)")
        }
    }

    /// ResNet-18: 8 basic blocks, the last feeding the classifier; MobileNetV2: 10 inverted
    /// residuals with an Add (its last block is followed by two more convs, so it gets a head).
    func testTorchvisionResNetAndMobileNet() throws {
        for (name, exits) in [("resnet18", 7), ("mobilenet_v2", 10)] {
            let path = TestSupport.fixtures(of: "RuntimeTests").appendingPathComponent("torchvision/\(name).onnx").path
            try check(try canonical(path), exits: exits, batch: 1, label: name)
        }
    }
}
