// CombinedExitsTests: insert-exits{at=blocks} on width stages (an exit per width stage and block) in text, refusals, exactness.

import XCTest
import IR
import ONNX
import Passes
import Runtime
import TestSupport

final class CombinedExitsTests: XCTestCase {
    /// Two width stages cut at the residual block: stages (1, block), (1, classifier), (2, block),
    /// (2, classifier). The head (the depth-only head of seed 3) is sliced by column per width
    /// stage; width stage 2's part is added onto width stage 1's sum.
    func testWidthStagesCutAtTheBlock() throws {
        try assertPipeline("split-stages{fractions=[0.5]},insert-exits{at=blocks thresholds=[0.6,0.7,0.8] seed=3}", residualBlockIR, """
            graph @res(%x: f32[N,1,4,4]) -> (%y) {
              const %w1: f32[2,1,1,1] = dense<[1.0, -1.0]>
              const %w2: f32[2,2,1,1] = dense<[1.0, 0.5, 0.0, 1.0]>
              const %w3: f32[2,2,3,3] = dense<[0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.1, 1.2, 1.3, 1.4, 1.5, 1.6, 1.7, 1.8, -0.1, -0.2, -0.3, -0.4, -0.5, -0.6, -0.7, -0.8, -0.9, -1.0, -1.1, -1.2, -1.3, -1.4, -1.5, -1.6, -1.7, -1.8]>
              const %fw: f32[3,2] = dense<[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]>
              const %fb: f32[3] = dense<[0.5, -0.5, 0.0]>
              const %exit1.fc.weight: f32[3,2] = dense<[-0.5466638, 0.28325775, 0.15977027, -0.6040577, -0.4010157, 0.19264743]>
              const %exit1.fc.bias: f32[3] = dense<[-0.5159817, 0.54973084, -0.012639671]>
              %w1.s1: f32[1,1,1,1] = slice(%w1) {starts = [0], ends = [1], axes = [0], steps = [1]} name = "w1.s1" stage = 1 ranges = [[0, 0, 1, 0, 1, 1]]
              %c1.s1: f32[N,1,4,4] = conv(%x, %w1.s1) {kernel = [1, 1], strides = [1, 1], pads = [0, 0, 0, 0], dilations = [1, 1], group = 1, activation = relu} name = "c1.s1" stage = 1
              %w1.s2: f32[1,1,1,1] = slice(%w1) {starts = [1], ends = [2], axes = [0], steps = [1]} name = "w1.s2" stage = 3 ranges = [[0, 0, 1, 0, 2, 2]]
              %c1.s2: f32[N,1,4,4] = conv(%x, %w1.s2) {kernel = [1, 1], strides = [1, 1], pads = [0, 0, 0, 0], dilations = [1, 1], group = 1, activation = relu} name = "c1.s2" stage = 3
              %w2.s1: f32[1,1,1,1] = slice(%w2) {starts = [0, 0], ends = [1, 1], axes = [0, 1], steps = [1, 1]} name = "w2.s1" stage = 1 ranges = [[0, 0, 1, 0, 1, 1], [1, 0, 1, 0, 1, 1]]
              %c2.s1: f32[N,1,4,4] = conv(%c1.s1, %w2.s1) {kernel = [1, 1], strides = [1, 1], pads = [0, 0, 0, 0], dilations = [1, 1], group = 1} name = "c2.s1" stage = 1
              %w2.s2: f32[1,2,1,1] = slice(%w2) {starts = [1, 0], ends = [2, 2], axes = [0, 1], steps = [1, 1]} name = "w2.s2" stage = 3 ranges = [[0, 0, 1, 0, 2, 2], [1, 0, 1, 0, 1, 2]]
              %c1.in.c2.s2: f32[N,2,4,4] = concat(%c1.s1, %c1.s2) {axis = 1} name = "c2.concat.s2" stage = 3
              %c2.s2: f32[N,1,4,4] = conv(%c1.in.c2.s2, %w2.s2) {kernel = [1, 1], strides = [1, 1], pads = [0, 0, 0, 0], dilations = [1, 1], group = 1} name = "c2.s2" stage = 3
              %a1.s1: f32[N,1,4,4] = add(%c1.s1, %c2.s1) name = "a1.s1" stage = 1
              %a1.s2: f32[N,1,4,4] = add(%c1.s2, %c2.s2) name = "a1.s2" stage = 3
              %r1.s1: f32[N,1,4,4] = relu(%a1.s1) name = "r1.s1" stage = 1
              %exit1.pool.s1: f32[N,1,1,1] = global_average_pool(%r1.s1) name = "exit1.pool.s1" stage = 1
              %exit1.flatten.s1: f32[N,1] = flatten(%exit1.pool.s1) {axis = 1} name = "exit1.flatten.s1" stage = 1
              %exit1.fc.weight.s1: f32[3,1] = slice(%exit1.fc.weight) {starts = [0], ends = [1], axes = [1], steps = [1]} name = "exit1.fc.weight.s1" stage = 1 ranges = [[1, 0, 1, 0, 1, 1]]
              %exit1.fc.s1: f32[N,3] = gemm(%exit1.flatten.s1, %exit1.fc.weight.s1, %exit1.fc.bias) {alpha = 1.0, beta = 1.0, trans_a = false, trans_b = true} name = "exit1.fc.s1" stage = 1
              %exit1.y.s1: f32[N,3] = softmax(%exit1.fc.s1) {axis = 1} name = "exit1.y.s1" stage = 1
              %r1.s2: f32[N,1,4,4] = relu(%a1.s2) name = "r1.s2" stage = 3
              %exit1.pool.s2: f32[N,1,1,1] = global_average_pool(%r1.s2) name = "exit1.pool.s2" stage = 3
              %exit1.flatten.s2: f32[N,1] = flatten(%exit1.pool.s2) {axis = 1} name = "exit1.flatten.s2" stage = 3
              %exit1.fc.weight.s2: f32[3,1] = slice(%exit1.fc.weight) {starts = [1], ends = [2], axes = [1], steps = [1]} name = "exit1.fc.weight.s2" stage = 3 ranges = [[1, 0, 1, 0, 2, 2]]
              %exit1.fc.part2: f32[N,3] = gemm(%exit1.flatten.s2, %exit1.fc.weight.s2) {alpha = 1.0, beta = 1.0, trans_a = false, trans_b = true} name = "exit1.fc.part2" stage = 3
              %exit1.fc.s2: f32[N,3] = add(%exit1.fc.s1, %exit1.fc.part2) name = "exit1.fc.sum.s2" stage = 3
              %exit1.y.s2: f32[N,3] = softmax(%exit1.fc.s2) {axis = 1} name = "exit1.y.s2" stage = 3
              %w3.s1: f32[1,1,3,3] = slice(%w3) {starts = [0, 0], ends = [1, 1], axes = [0, 1], steps = [1, 1]} name = "w3.s1" stage = 2 ranges = [[0, 1, 1, 0, 1, 1], [1, 0, 1, 0, 1, 1]]
              %c3.s1: f32[N,1,2,2] = conv(%r1.s1, %w3.s1) {kernel = [3, 3], strides = [2, 2], pads = [1, 1, 1, 1], dilations = [1, 1], group = 1, activation = relu} name = "c3.s1" stage = 2
              %w3.s2: f32[1,2,3,3] = slice(%w3) {starts = [1, 0], ends = [2, 2], axes = [0, 1], steps = [1, 1]} name = "w3.s2" stage = 4 ranges = [[0, 1, 1, 0, 2, 2], [1, 0, 1, 0, 1, 2]]
              %r1.in.c3.s2: f32[N,2,4,4] = concat(%r1.s1, %r1.s2) {axis = 1} name = "c3.concat.s2" stage = 4
              %c3.s2: f32[N,1,2,2] = conv(%r1.in.c3.s2, %w3.s2) {kernel = [3, 3], strides = [2, 2], pads = [1, 1, 1, 1], dilations = [1, 1], group = 1, activation = relu} name = "c3.s2" stage = 4
              %p.s1: f32[N,1,1,1] = global_average_pool(%c3.s1) name = "p.s1" stage = 2
              %p.s2: f32[N,1,1,1] = global_average_pool(%c3.s2) name = "p.s2" stage = 4
              %f.s1: f32[N,1] = flatten(%p.s1) {axis = 1} name = "f.s1" stage = 2
              %f.s2: f32[N,1] = flatten(%p.s2) {axis = 1} name = "f.s2" stage = 4
              %fw.s1: f32[3,1] = slice(%fw) {starts = [0], ends = [1], axes = [1], steps = [1]} name = "fw.s1" stage = 2 ranges = [[1, 1, 1, 0, 1, 1]]
              %z.s1: f32[N,3] = gemm(%f.s1, %fw.s1, %fb) {alpha = 1.0, beta = 1.0, trans_a = false, trans_b = true} name = "z.s1" stage = 2
              %y.exit1: f32[N,3] = softmax(%z.s1) {axis = 1} name = "y.exit1" stage = 2
              %fw.s2: f32[3,1] = slice(%fw) {starts = [1], ends = [2], axes = [1], steps = [1]} name = "fw.s2" stage = 4 ranges = [[1, 1, 1, 0, 2, 2]]
              %z.part2: f32[N,3] = gemm(%f.s2, %fw.s2) {alpha = 1.0, beta = 1.0, trans_a = false, trans_b = true} name = "z.s2" stage = 4
              %z: f32[N,3] = add(%z.s1, %z.part2) name = "z.sum.s2" stage = 4
              %y: f32[N,3] = softmax(%z) {axis = 1} name = "y" stage = 4
              stages 4 static_macs = 246 static_parameters = 51 axis = width_depth blocks = 1
              class "c1" channels = 2 boundaries = [1, 2] sliceable = false bins = [] members = ["c1", "c2", "a1", "r1"]
              class "c3" channels = 2 boundaries = [1, 2] sliceable = false bins = [] members = ["c3", "p", "f"]
              classifier "z" sums = [%z.s1, %z]
              exit 1 %exit1.y.s1 threshold = 0.6 score = max block = %r1.s1
              exit 2 %y.exit1 threshold = 0.7 score = max
              exit 3 %exit1.y.s2 threshold = 0.8 score = max block = %r1.s2
              exit 4 %y threshold = inf score = max
              return %y
            }
            """)
    }

    /// Print → parse → print is identical; positions, cost (counted by hand) and the heads' constants.
    func testTextCostAndPositions() throws {
        var graph = try TextParser.parse(residualBlockIR)
        try PassManager(pipeline: "split-stages{fractions=[0.5]},insert-exits{at=blocks}", verifyEach: true).run(&graph)
        let text = TextPrinter.print(graph, elideConstantsAbove: nil)
        let again = try TextParser.parse(text)
        XCTAssertEqual(again, graph)
        XCTAssertEqual(TextPrinter.print(again, elideConstantsAbove: nil), text)
        let info = try XCTUnwrap(graph.stageInfo)
        XCTAssertEqual(info.widthStageCount, 2)
        XCTAssertEqual((1...4).map { info.position(ofStage: $0) },
                       [StagePosition(width: 1, block: 1), StagePosition(width: 1, block: nil),
                        StagePosition(width: 2, block: 1), StagePosition(width: 2, block: nil)])
        XCTAssertEqual((1...4).map { info.stage(width: info.position(ofStage: $0).width, block: info.position(ofStage: $0).block) }, [1, 2, 3, 4])
        // c1 1←1 on 16 px, c2 1←1, head 3×1 | c3 1←1 on 4 px × 9, classifier 3×1 | c1, c2 1←2, head | c3 1←2, classifier.
        XCTAssertEqual(try CostModel.stageReport(graph).cumulativeMACs, [16 + 16 + 3, 35 + 36 + 3, 74 + 16 + 32 + 3, 125 + 72 + 3])
        XCTAssertEqual(graph.depthHeadConstants(), ["exit1.fc.weight", "exit1.fc.bias"])
        let table = try CostModel.stageReport(graph).table(info)
        XCTAssertTrue(table.contains("stages: 4 = 2 width stages x (1 blocks + the classifier)"), table)
        XCTAssertTrue(table.contains("exit 3 (2, 1)") && table.contains("exit 4 (2, classifier)"), table)
        let json = try CostModel.stageReport(graph).json(info, model: "res")
        XCTAssertTrue(json.contains("\"axis\" : \"width_depth\"") && json.contains("\"width_stage\" : 2"), json)
    }

    func testRefusals() throws {
        func refuses(_ pipeline: String, _ ir: String, _ needle: String, line: UInt = #line) {
            assertPipelineFails(pipeline, ir, containing: needle, line: line)
        }
        let combined = "split-stages{stages=2},insert-exits{at=blocks}"
        refuses("split-stages{stages=2},insert-exits{at=blocks thresholds=[0.5,0.5]}", residualBlockIR,
                "2 thresholds for 3 early exits (2 width stages × 1 blocks and the classifier")
        refuses(combined + ",insert-exits{at=blocks}", residualBlockIR, "already has early exits (at stages [1, 2, 3, 4])")
        refuses(combined + ",insert-exits", residualBlockIR, "already has depth exits")
        refuses("split-stages{stages=2},insert-exits,insert-exits{at=blocks}", residualBlockIR, "already has early exits (at stages [1, 2])")
        refuses(combined + ",make-sliceable", residualBlockIR, "make-sliceable works on width stages alone; this graph's width stages are cut at depth exits")
        refuses(combined + ",flops-bins", residualBlockIR, "flops-bins works on width stages alone")
        refuses(combined + ",materialize{config=/nonexistent/config.json}", residualBlockIR, "materialize works on width stages alone")
        refuses(combined + ",split-stages{stages=2}", residualBlockIR, "already split into stages")
        // The only block feeds the classifier directly.
        refuses("split-stages{stages=2},insert-exits{at=blocks}", smallStaticIR, "no block to exit after")
        var g = try TextParser.parse(residualBlockIR)
        try PassManager(pipeline: combined).run(&g)
        XCTAssertThrowsError(try SupernetSpace(XCTUnwrap(g.stageInfo))) { error in
            XCTAssertTrue("\(error)".contains("a supernet needs width stages alone"), "\(error)")
        }
    }

    func testVerifierRules() throws {
        var graph = try TextParser.parse(residualBlockIR)
        try PassManager(pipeline: "split-stages{stages=2},insert-exits{at=blocks}").run(&graph)
        let text = TextPrinter.print(graph, elideConstantsAbove: nil)
        func diagnostics(_ t: String) throws -> [String] { Verifier.diagnostics(try TextParser.parse(t)).map(\.description) }
        XCTAssertEqual(try diagnostics(text), [])
        XCTAssertTrue(try diagnostics(text.replacingOccurrences(of: " block = %r1.s2", with: "")).contains(
            "exit 3 (width stage 2, block 1) names no block"))
        XCTAssertTrue(try diagnostics(text.replacingOccurrences(of: " block = %r1.s2", with: " block = %r1.s1")).contains(
            "exit 3 (width stage 2, block 1) block 'r1.s1' is of stage 1"))
        XCTAssertTrue(try diagnostics(text.replacingOccurrences(of: "exit 2 %y.exit1 threshold = inf score = max",
                                                                with: "exit 2 %y.exit1 threshold = inf score = max block = %c3.s1")).contains(
            "exit 2 (width stage 1, the classifier) names a block"))
        XCTAssertTrue(try diagnostics(text.replacingOccurrences(of: "blocks = 1", with: "blocks = 2")).contains(
            "4 stages cannot be width stages cut at 2 blocks (S·(blocks+1) stages are needed)"))
        // Width stage 2's first node moved into width stage 1's block sub-stage reads a later stage.
        XCTAssertTrue(try diagnostics(text.replacingOccurrences(of: "name = \"c2.s2\" stage = 3", with: "name = \"c2.s2\" stage = 1")).contains(
            "node 'c2.s2': of stage 1 reads 'c1.in.c2.s2' of the later stage 3"))
    }
}

/// Width stages cut at blocks on real models. Each exit (w, b) equals an independent reference:
/// the static model with the weights masked as for width exit w (`MaskedReference`), cut at
/// block b, the groups ≤ w of the block's channels pooled and put through the head's columns of
/// those channels; each width exit w equals the masked model. MACs: the masked model's count of
/// width exits < w, plus the masked pairs of output group w of the layers blocks 1…b depend on,
/// plus the heads' columns computed so far.
final class CombinedExitsModelTests: XCTestCase {
    func canonical(_ path: String) throws -> Graph {
        var graph = try ONNXLoader.load(path: path)
        try PassManager(pipeline: "canonicalize").run(&graph)
        return graph
    }

    @discardableResult
    func check(_ source: Graph, split: String, reuse: Bool, batch: Int, label: String) throws -> Graph {
        var staged = source
        try PassManager(pipeline: split + ",insert-exits{at=blocks seed=1}", verifyEach: true).run(&staged)
        let info = try XCTUnwrap(staged.stageInfo)
        XCTAssertEqual(info.axis, .widthDepth, label)
        // The static blocks and heads: depth exits on the static graph with the same seed.
        var depth = source
        try PassManager(pipeline: "insert-exits{at=blocks seed=1}").run(&depth)
        let blocks = try XCTUnwrap(depth.stageInfo).exits.compactMap(\.block)
        XCTAssertEqual(info.blockCount, blocks.count, label)
        let widths = info.widthStageCount
        XCTAssertEqual(info.stageCount, widths * (blocks.count + 1), label)
        let reference = try MaskedReference(source: source, staged: staged, reuse: reuse)
        let groups = try blocks.map { try reference.groups($0) }
        let runner = try StagedInterpreter(graph: staged)
        let name = source.inputs[0].name, out = source.outputs[0]
        let input = stagedTestInput(source.inputs[0].type.shape(batch: batch), seed: 3)
        let heads = try blocks.indices.map { k -> (w: Tensor, b: Tensor) in
            let w = try XCTUnwrap(staged.constants["exit\(k + 1).fc.weight"]), b = try XCTUnwrap(staged.constants["exit\(k + 1).fc.bias"])
            XCTAssertEqual(w, depth.constants["exit\(k + 1).fc.weight"], "\(label): head \(k + 1) is the depth-only head")
            return (w, b)
        }
        let classes = heads[0].w.shape[0]
        func headMACs(width w: Int, blocks n: Int) -> Int { (0..<n).reduce(0) { $0 + classes * groups[$1].filter { $0 == w }.count } }
        /// MACs of the masked layers that blocks 1...k depend on, output groups ≤ w.
        func prefixMACs(_ k: Int, width w: Int) throws -> Int {
            var cut = source
            try cut.setOutputs(Array(blocks[0..<k]))
            try PassManager(pipeline: "dce").run(&cut)
            return try MaskedReference(source: cut, staged: staged, reuse: reuse).masked(exit: w).macs
        }
        var earlier = 0  // everything of width stages < w
        for w in 1...widths {
            let (masked, maskedMACs) = try reference.masked(exit: w)
            for (k, block) in blocks.enumerated() {
                let stage = info.stage(width: w, block: k + 1)
                XCTAssertEqual(info.exits[stage - 1].block, "\(block).s\(w)", label)
                var cut = masked
                try cut.setOutputs([block])
                try PassManager(pipeline: "dce").run(&cut)
                let map = try XCTUnwrap(Interpreter(graph: cut).run([name: input])[block])
                XCTAssertEqual(heads[k].w.shape, [classes, map.shape[1]], label)
                let want = pooledHeadLogits(map, weight: heads[k].w, bias: heads[k].b) { groups[k][$0] <= w }
                let result = try runner.run([name: input], exitAt: stage)
                let have = try XCTUnwrap(result.outputs[out])
                XCTAssertEqual(have.shape, [batch, classes], label)
                let scale = max(want.map(abs).max() ?? 0, 1e-30)
                let diff = zip(have.scalars, want).map { abs($0 - $1) }.max() ?? 1
                XCTAssertLessThanOrEqual(diff / scale, 1e-5, "\(label) exit (\(w), \(k + 1)): max |diff| \(diff) of \(scale)")
                let macs = earlier + (try prefixMACs(k + 1, width: w)) - (try prefixMACs(k + 1, width: w - 1)) + headMACs(width: w, blocks: k + 1)
                XCTAssertEqual(result.macs, Array(repeating: macs, count: batch), "\(label) exit (\(w), \(k + 1)) MACs")
            }
            // Width exit w: the masked model.
            let result = try runner.run([name: input], exitAt: info.stage(width: w, block: nil))
            let want = try XCTUnwrap(Interpreter(graph: masked).run([name: input])[out])
            let have = try XCTUnwrap(result.outputs[out])
            let scale = max(want.scalars.map(abs).max() ?? 0, 1e-30)
            let diff = zip(have.scalars, want.scalars).map { abs($0 - $1) }.max() ?? 1
            XCTAssertLessThanOrEqual(diff / scale, 1e-5, "\(label) width exit \(w): max |diff| \(diff) of \(scale)")
            earlier = maskedMACs + (1...w).reduce(0) { $0 + headMACs(width: $1, blocks: blocks.count) }
            XCTAssertEqual(result.macs, Array(repeating: earlier, count: batch), "\(label) width exit \(w) MACs")
        }
        return staged
    }

    /// The default model at fractions 0.25, 0.5 (reuse on) and in two stages with reuse off; batch
    /// 8 with thresholds at each early exit's median sends samples out at several exits, each with
    /// its batch-1 exit, logits and MACs.
    func testDefaultModel() throws {
        let source = try canonical(TestSupport.repoRoot.appendingPathComponent("models/default.onnx").path)
        let staged = try check(source, split: "split-stages{fractions=[0.25,0.5]}", reuse: true, batch: 2, label: "default")
        try check(source, split: "split-stages{stages=2 reuse=false}", reuse: false, batch: 2, label: "default, reuse off")
        let runner = try StagedInterpreter(graph: staged)
        let n = 8, name = source.inputs[0].name, out = source.outputs[0]
        let input = stagedTestInput([n, 1, 28, 28], seed: 11)
        var thresholds: [Float] = []
        let info = try XCTUnwrap(staged.stageInfo)
        for s in 1..<info.stageCount {
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

    /// ResNet-18 (7 blocks with heads) in two width stages: 16 exits.
    func testTorchvisionResNet18() throws {
        let path = TestSupport.fixtures(of: "RuntimeTests").appendingPathComponent("torchvision/resnet18.onnx").path
        let staged = try check(try canonical(path), split: "split-stages{stages=2}", reuse: true, batch: 1, label: "resnet18")
        XCTAssertEqual(staged.stageInfo?.stageCount, 16)
    }
}
