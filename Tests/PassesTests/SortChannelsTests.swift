// SortChannelsTests: sort-channels on textual IR, and on real models: the function is unchanged
// (checked by the interpreter against the unsorted graph) and each set's filters end up ranked.

import XCTest
import IR
import ONNX
import Passes
import Runtime
import TestSupport

final class SortChannelsTests: XCTestCase {
    // MARK: Textual IR

    func testPutsTheStrongerFilterFirstAndPermutesItsReaders() throws {
        try assertPipeline("sort-channels", """
            graph @g(%x: f32[N,1,2,2]) -> (%y) {
              const %w1: f32[2,1,1,1] = dense<[1.0, -3.0]>
              const %b1: f32[2] = dense<[0.5, 0.25]>
              const %w2: f32[1,2,1,1] = dense<[1.0, 2.0]>
              %a = conv(%x, %w1, %b1) {kernel = [1, 1]}
              %r = relu(%a)
              %y = conv(%r, %w2) {kernel = [1, 1]}
              return %y
            }
            """, """
            graph @g(%x: f32[N,1,2,2]) -> (%y) {
              const %w1: f32[2,1,1,1] = dense<[-3.0, 1.0]>
              const %b1: f32[2] = dense<[0.25, 0.5]>
              const %w2: f32[1,2,1,1] = dense<[2.0, 1.0]>
              %a = conv(%x, %w1, %b1) {kernel = [1, 1]}
              %r = relu(%a)
              %y = conv(%r, %w2) {kernel = [1, 1]}
              return %y
            }
            """)
    }

    /// Both convs of a residual Add are ranked by their summed norms ([1, 3, 2] + [0, 0.5, 3] =
    /// [1, 3.5, 5]: order 2, 1, 0), and the Add's reader follows.
    func testResidualAddRanksBothBranchesTogether() throws {
        try assertPipeline("sort-channels", """
            graph @g(%x: f32[N,1,2,2]) -> (%y) {
              const %wa: f32[3,1,1,1] = dense<[1.0, 3.0, -2.0]>
              const %wb: f32[3,1,1,1] = dense<[0.0, -0.5, 3.0]>
              const %wc: f32[1,3,1,1] = dense<[1.0, 2.0, 3.0]>
              %a = conv(%x, %wa) {kernel = [1, 1]}
              %b = conv(%x, %wb) {kernel = [1, 1]}
              %s = add(%a, %b)
              %r = relu(%s)
              %y = conv(%r, %wc) {kernel = [1, 1]}
              return %y
            }
            """, """
            graph @g(%x: f32[N,1,2,2]) -> (%y) {
              const %wa: f32[3,1,1,1] = dense<[-2.0, 3.0, 1.0]>
              const %wb: f32[3,1,1,1] = dense<[3.0, -0.5, 0.0]>
              const %wc: f32[1,3,1,1] = dense<[3.0, 2.0, 1.0]>
              %a = conv(%x, %wa) {kernel = [1, 1]}
              %b = conv(%x, %wb) {kernel = [1, 1]}
              %s = add(%a, %b)
              %r = relu(%s)
              %y = conv(%r, %wc) {kernel = [1, 1]}
              return %y
            }
            """)
    }

    /// Already ranked, or channels that cannot move one by one (a Concat along channels): untouched.
    func testLeavesRankedAndBlockedChannelsAlone() throws {
        try assertUnchanged("sort-channels", """
            graph @g(%x: f32[N,1,2,2]) -> (%y) {
              const %w1: f32[2,1,1,1] = dense<[3.0, -1.0]>
              const %w2: f32[1,2,1,1] = dense<[1.0, 2.0]>
              %a = conv(%x, %w1) {kernel = [1, 1]}
              %y = conv(%a, %w2) {kernel = [1, 1]}
              return %y
            }
            """)
        try assertUnchanged("sort-channels", """
            graph @g(%x: f32[N,1,2,2]) -> (%y) {
              const %w1: f32[2,1,1,1] = dense<[1.0, -3.0]>
              const %w2: f32[1,4,1,1] = dense<[1.0, 2.0, 3.0, 4.0]>
              %a = conv(%x, %w1) {kernel = [1, 1]}
              %c = concat(%a, %a) {axis = 1}
              %y = conv(%c, %w2) {kernel = [1, 1]}
              return %y
            }
            """)
    }

    func testBadCriterionIsAnError() {
        XCTAssertThrowsError(try PassManager(pipeline: "sort-channels{criterion=l3}")) { error in
            XCTAssertTrue("\(error)".contains("unknown criterion 'l3'; valid: l1, l2"), "\(error)")
        }
    }

    // MARK: Real models

    func testDefaultModelKeepsItsFunctionAndRanksEveryConv() throws {
        var graph = try ONNXLoader.load(path: TestSupport.repoRoot.appendingPathComponent("models/default.onnx").path)
        try PassManager(pipeline: "canonicalize").run(&graph)
        try assertSortedKeepsFunction(graph)
    }

    /// Residual projections, inverted residuals with depthwise convs, squeeze-and-excitation gates;
    /// squeezenet's Concats and regnet's grouped convs keep their sets' order.
    func testTorchvisionExportsKeepTheirFunction() throws {
        let dir = TestSupport.fixtures(of: "RuntimeTests").appendingPathComponent("torchvision")
        for name in ["resnet18", "mobilenet_v2", "efficientnet_b0", "squeezenet1_1", "regnet"] {
            var graph = try ONNXLoader.load(path: dir.appendingPathComponent("\(name).onnx").path)
            try PassManager(pipeline: "canonicalize").run(&graph)
            try assertSortedKeepsFunction(graph)
        }
    }

    // MARK: Helpers

    /// Sorting must change the weights (else the check proves nothing), keep the outputs on random
    /// inputs within 1e-5 of their scale, and leave every sortable set's producer filters ranked.
    private func assertSortedKeepsFunction(_ graph: Graph, file: StaticString = #filePath, line: UInt = #line) throws {
        var sorted = graph
        try PassManager(pipeline: "sort-channels", verifyEach: true).run(&sorted)
        XCTAssertNotEqual(sorted.constants, graph.constants, "\(graph.name): nothing moved", file: file, line: line)
        XCTAssertEqual(try CostModel.report(sorted).totals.macs, try CostModel.report(graph).totals.macs, file: file, line: line)
        var rng = SeededUniform(state: 5)
        var feeds: [String: Tensor] = [:]
        for input in graph.inputs {
            let shape = input.type.shape(batch: 2)
            feeds[input.name] = Tensor(shape: shape, scalars: (0..<shape.elementCount).map { _ in rng.next(-2, 2) })
        }
        let want = try Interpreter(graph: graph).run(feeds)
        let have = try Interpreter(graph: sorted).run(feeds)
        for name in graph.outputs {
            guard let w = want[name], let h = have[name] else {
                XCTFail("output '\(name)' missing", file: file, line: line)
                continue
            }
            let scale = w.scalars.map(abs).max() ?? 0
            let diff = zip(w.scalars, h.scalars).map { abs($0 - $1) }.max() ?? .infinity
            XCTAssertLessThanOrEqual(diff, 1e-5 * max(scale, 1e-6), "\(graph.name): \(name)", file: file, line: line)
        }
        // Sorting again finds nothing to move: every set is ranked.
        var again = sorted
        let stats = try PassManager(pipeline: "sort-channels").run(&again)
        XCTAssertEqual(stats.map(\.changes), [0], "\(graph.name): not ranked after one pass", file: file, line: line)
    }
}
