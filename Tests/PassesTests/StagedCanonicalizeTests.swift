// StagedCanonicalizeTests: canonicalize, dce and cse on staged graphs keep the early exits (stage-table roots).

import XCTest
import IR
import ONNX
import Passes
import Runtime
import TestSupport

/// A staged graph with two exits, a dead node at stage 1 and an identity in exit 1's tail.
private let stagedWithJunkIR = """
    graph @small(%x: f32[N,1,4,4]) -> (%y) {
      const %w1: f32[4,1,1,1] = dense<[1.0, 2.0, 3.0, 4.0]>
      const %fw: f32[2,4] = dense<[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]>
      const %unused: f32[2] = dense<[1.0, 1.0]>
      %w1.s1: f32[2,1,1,1] = slice(%w1) {starts = [0], ends = [2], axes = [0], steps = [1]} name = "w1.s1" stage = 1 ranges = [[0, 0, 1, 0, 1, 1]]
      %c1.s1: f32[N,2,4,4] = conv(%x, %w1.s1) {kernel = [1, 1], activation = relu} name = "c1.s1" stage = 1
      %dead: f32[N,2,4,4] = sigmoid(%c1.s1) name = "dead" stage = 1
      %w1.s2: f32[2,1,1,1] = slice(%w1) {starts = [2], ends = [4], axes = [0], steps = [1]} name = "w1.s2" stage = 2 ranges = [[0, 0, 1, 0, 2, 2]]
      %c1.s2: f32[N,2,4,4] = conv(%x, %w1.s2) {kernel = [1, 1], activation = relu} name = "c1.s2" stage = 2
      %p.s1: f32[N,2,1,1] = global_average_pool(%c1.s1) name = "p.s1" stage = 1
      %p.s2: f32[N,2,1,1] = global_average_pool(%c1.s2) name = "p.s2" stage = 2
      %f.s1: f32[N,2] = flatten(%p.s1) {axis = 1} name = "f.s1" stage = 1
      %f.s2: f32[N,2] = flatten(%p.s2) {axis = 1} name = "f.s2" stage = 2
      %fw.s1: f32[2,2] = slice(%fw) {starts = [0], ends = [2], axes = [1], steps = [1]} name = "fw.s1" stage = 1 ranges = [[1, 0, 1, 0, 1, 1]]
      %z.s1: f32[N,2] = gemm(%f.s1, %fw.s1) {trans_b = true} name = "z.s1" stage = 1
      %z.id: f32[N,2] = identity(%z.s1) name = "z.id" stage = 1
      %y.exit1: f32[N,2] = softmax(%z.id) {axis = 1} name = "y.exit1" stage = 1
      %fw.s2: f32[2,2] = slice(%fw) {starts = [2], ends = [4], axes = [1], steps = [1]} name = "fw.s2" stage = 2 ranges = [[1, 0, 1, 0, 2, 2]]
      %z.part2: f32[N,2] = gemm(%f.s2, %fw.s2) {trans_b = true} name = "z.s2" stage = 2
      %z: f32[N,2] = add(%z.s1, %z.part2) name = "z.sum.s2" stage = 2
      %y: f32[N,2] = softmax(%z) {axis = 1} name = "y" stage = 2
      stages 2 static_macs = 0 static_parameters = 0
      class "c1" channels = 4 boundaries = [2, 4] sliceable = false bins = [] members = ["c1", "p", "f"]
      classifier "z" sums = [%z.s1, %z]
      exit 1 %y.exit1 threshold = 0.75 score = max
      exit 2 %y threshold = inf score = max
      return %y
    }
    """

final class StagedCanonicalizeTests: XCTestCase {
    /// dce keeps everything an early exit reads (the exit is a root), drops the dead node and the
    /// unused constant.
    func testDCEKeepsEarlyExits() throws {
        let expected = stagedWithJunkIR
            .replacingOccurrences(of: "  const %unused: f32[2] = dense<[1.0, 1.0]>\n", with: "")
            .replacingOccurrences(of: "  %dead: f32[N,2,4,4] = sigmoid(%c1.s1) name = \"dead\" stage = 1\n", with: "")
        try assertPipeline("dce", stagedWithJunkIR, expected)
    }

    /// canonicalize on a staged graph: the slices fold into constants (as materialize does), the
    /// identity goes, the graph stays staged and verifies, and both exits are intact.
    func testCanonicalizeKeepsStagesAndExits() throws {
        try assertPipeline("canonicalize", stagedWithJunkIR, """
            graph @small(%x: f32[N,1,4,4]) -> (%y) {
              const %w1.s1_folded: f32[2,1,1,1] = dense<[1.0, 2.0]>
              const %w1.s2_folded: f32[2,1,1,1] = dense<[3.0, 4.0]>
              const %fw.s1_folded: f32[2,2] = dense<[1.0, 2.0, 5.0, 6.0]>
              const %fw.s2_folded: f32[2,2] = dense<[3.0, 4.0, 7.0, 8.0]>
              %c1.s1: f32[N,2,4,4] = conv(%x, %w1.s1_folded) {kernel = [1, 1], activation = relu} name = "c1.s1" stage = 1
              %c1.s2: f32[N,2,4,4] = conv(%x, %w1.s2_folded) {kernel = [1, 1], activation = relu} name = "c1.s2" stage = 2
              %p.s1: f32[N,2,1,1] = global_average_pool(%c1.s1) name = "p.s1" stage = 1
              %p.s2: f32[N,2,1,1] = global_average_pool(%c1.s2) name = "p.s2" stage = 2
              %f.s1: f32[N,2] = flatten(%p.s1) {axis = 1} name = "f.s1" stage = 1
              %f.s2: f32[N,2] = flatten(%p.s2) {axis = 1} name = "f.s2" stage = 2
              %z.s1: f32[N,2] = gemm(%f.s1, %fw.s1_folded) {trans_b = true} name = "z.s1" stage = 1
              %y.exit1: f32[N,2] = softmax(%z.s1) {axis = 1} name = "y.exit1" stage = 1
              %z.part2: f32[N,2] = gemm(%f.s2, %fw.s2_folded) {trans_b = true} name = "z.s2" stage = 2
              %z: f32[N,2] = add(%z.s1, %z.part2) name = "z.sum.s2" stage = 2
              %y: f32[N,2] = softmax(%z) {axis = 1} name = "y" stage = 2
              stages 2 static_macs = 0 static_parameters = 0
              class "c1" channels = 4 boundaries = [2, 4] sliceable = false bins = [] members = ["c1", "p", "f"]
              classifier "z" sums = [%z.s1, %z]
              exit 1 %y.exit1 threshold = 0.75 score = max
              exit 2 %y threshold = inf score = max
              return %y
            }
            """)
    }

    /// The whole pipeline of the issue with a trailing canonicalize, in text.
    func testSplitExitsThenCanonicalize() throws {
        let graph = try assertPipeline("split-stages{stages=2},insert-exits{thresholds=[0.75]},canonicalize", smallStaticIR, """
            graph @small(%x: f32[N,1,4,4]) -> (%y) {
              const %fb: f32[2] = dense<[0.5, -0.5]>
              const %w1.s1_folded: f32[2,1,1,1] = dense<[1.0, 2.0]>
              const %w1.s2_folded: f32[2,1,1,1] = dense<[3.0, 4.0]>
              const %w2.s1_folded: f32[2,2,1,1] = dense<[1.0, 0.0, 0.0, 1.0]>
              const %w2.s2_folded: f32[2,4,1,1] = dense<[0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 1.0]>
              const %fw.s1_folded: f32[2,2] = dense<[1.0, 2.0, 5.0, 6.0]>
              const %fw.s2_folded: f32[2,2] = dense<[3.0, 4.0, 7.0, 8.0]>
              %c1.s1: f32[N,2,4,4] = conv(%x, %w1.s1_folded) {kernel = [1, 1], activation = relu} name = "c1.s1" stage = 1
              %c1.s2: f32[N,2,4,4] = conv(%x, %w1.s2_folded) {kernel = [1, 1], activation = relu} name = "c1.s2" stage = 2
              %c2.s1: f32[N,2,4,4] = conv(%c1.s1, %w2.s1_folded) {kernel = [1, 1]} name = "c2.s1" stage = 1
              %c1.in.c2.s2: f32[N,4,4,4] = concat(%c1.s1, %c1.s2) {axis = 1} name = "c2.concat.s2" stage = 2
              %c2.s2: f32[N,2,4,4] = conv(%c1.in.c2.s2, %w2.s2_folded) {kernel = [1, 1]} name = "c2.s2" stage = 2
              %a.s1: f32[N,2,4,4] = add(%c1.s1, %c2.s1) name = "a.s1" stage = 1
              %a.s2: f32[N,2,4,4] = add(%c1.s2, %c2.s2) name = "a.s2" stage = 2
              %p.s1: f32[N,2,1,1] = global_average_pool(%a.s1) name = "p.s1" stage = 1
              %p.s2: f32[N,2,1,1] = global_average_pool(%a.s2) name = "p.s2" stage = 2
              %f.s1: f32[N,2] = flatten(%p.s1) {axis = 1} name = "f.s1" stage = 1
              %f.s2: f32[N,2] = flatten(%p.s2) {axis = 1} name = "f.s2" stage = 2
              %z.s1: f32[N,2] = gemm(%f.s1, %fw.s1_folded, %fb) {trans_b = true} name = "z.s1" stage = 1
              %y.exit1: f32[N,2] = softmax(%z.s1) {axis = 1} name = "y.exit1" stage = 1
              %z.part2: f32[N,2] = gemm(%f.s2, %fw.s2_folded) {trans_b = true} name = "z.s2" stage = 2
              %z: f32[N,2] = add(%z.s1, %z.part2) name = "z.sum.s2" stage = 2
              %y: f32[N,2] = softmax(%z) {axis = 1} name = "y" stage = 2
              stages 2 static_macs = 328 static_parameters = 30
              class "c1" channels = 4 boundaries = [2, 4] sliceable = false bins = [] members = ["c1", "c2", "a", "p", "f"]
              classifier "z" sums = [%z.s1, %z]
              exit 1 %y.exit1 threshold = 0.75 score = max
              exit 2 %y threshold = inf score = max
              return %y
            }
            """)
        XCTAssertEqual(try CostModel.stageReport(graph).cumulativeMACs.count, 2)
    }

    /// cse merges a later-stage duplicate into the earlier-stage node, never the other way round
    /// (stage 1 must not come to read stage 2), and never merges an exit's value away.
    func testCSEKeepsStageOrderAndExitValues() throws {
        let input = """
            graph @g(%x: f32[N,4]) -> (%y) {
              %a2: f32[N,4] = relu(%x) name = "a2" stage = 2
              %a1: f32[N,4] = relu(%x) name = "a1" stage = 1
              %e1: f32[N,4] = softmax(%a1) {axis = 1} name = "e1" stage = 1
              %b2: f32[N,4] = softmax(%a1) {axis = 1} name = "b2" stage = 2
              %s: f32[N,4] = add(%a2, %b2) name = "s" stage = 2
              %y: f32[N,4] = softmax(%s) {axis = 1} name = "y" stage = 2
              stages 2 static_macs = 0 static_parameters = 0
              classifier "" sums = [%a1, %s]
              exit 1 %e1 threshold = 0.5 score = max
              exit 2 %y threshold = inf score = max
              return %y
            }
            """
        // a1 (stage 1) does not merge into the earlier a2 (stage 2); b2 (stage 2) merges into e1
        // (stage 1, an exit value, kept).
        try assertPipeline("cse", input, """
            graph @g(%x: f32[N,4]) -> (%y) {
              %a2: f32[N,4] = relu(%x) name = "a2" stage = 2
              %a1: f32[N,4] = relu(%x) name = "a1" stage = 1
              %e1: f32[N,4] = softmax(%a1) {axis = 1} name = "e1" stage = 1
              %s: f32[N,4] = add(%a2, %e1) name = "s" stage = 2
              %y: f32[N,4] = softmax(%s) {axis = 1} name = "y" stage = 2
              stages 2 static_macs = 0 static_parameters = 0
              classifier "" sums = [%a1, %s]
              exit 1 %e1 threshold = 0.5 score = max
              exit 2 %y threshold = inf score = max
              return %y
            }
            """)
    }

    /// The default model: `canonicalize,split-stages{fractions=[0.25,0.5]},insert-exits` and the
    /// same with a trailing canonicalize give the same outputs at every exit, and the same MACs.
    func testDefaultModelTrailingCanonicalizeKeepsEveryExit() throws {
        var plain = try ONNXLoader.load(path: TestSupport.repoRoot.appendingPathComponent("models/default.onnx").path)
        try PassManager(pipeline: "canonicalize,split-stages{fractions=[0.25,0.5]},insert-exits", verifyEach: true).run(&plain)
        var cleaned = plain
        try PassManager(pipeline: "canonicalize", verifyEach: true).run(&cleaned)
        XCTAssertEqual(cleaned.stageInfo?.exits.map(\.stage), [1, 2, 3])
        XCTAssertTrue(cleaned.nodes.allSatisfy { !($0.staging?.ranges.isEmpty == false) }, "the partition slices fold")
        let a = try StagedInterpreter(graph: plain), b = try StagedInterpreter(graph: cleaned)
        XCTAssertEqual(a.exitMACs, b.exitMACs)
        let input = stagedTestInput([4, 1, 28, 28], seed: 5)
        let name = plain.inputs[0].name, out = plain.outputs[0]
        for s in 1...3 {
            let x = try a.run([name: input], exitAt: s), y = try b.run([name: input], exitAt: s)
            guard let u = x.outputs[out], let v = y.outputs[out] else { return XCTFail("exit \(s): no output") }
            XCTAssertEqual(u.shape, v.shape)
            let scale = max(u.scalars.map(abs).max() ?? 0, 1e-30)
            let diff = zip(u.scalars, v.scalars).map { abs($0 - $1) }.max() ?? 1
            XCTAssertLessThanOrEqual(diff / scale, 1e-6, "exit \(s): max |diff| \(diff)")
            XCTAssertEqual(x.exitStage, y.exitStage)
            XCTAssertEqual(x.macs, y.macs)
        }
    }
}
