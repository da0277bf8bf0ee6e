// PruneFiltersTests: prune-filters on textual IR, its refusals, the MAC target, and real models
// against an independent masked reference (the original with the pruned filters zeroed).

import Foundation
import XCTest
import IR
import ONNX
import Passes
import Runtime
import TestSupport

final class PruneFiltersTests: XCTestCase {
    // MARK: Textual IR

    func testRemovesTheWeakestFilterAndTheInputChannelsItFeeds() throws {
        try assertPipeline("prune-filters{ratio=0.5}", """
            graph @g(%x: f32[N,1,2,2]) -> (%y) {
              const %w1: f32[2,1,1,1] = dense<[3.0, -1.0]>
              const %b1: f32[2] = dense<[0.5, 0.25]>
              const %w2: f32[1,2,1,1] = dense<[1.0, 2.0]>
              %a = conv(%x, %w1, %b1) {kernel = [1, 1]}
              %r = relu(%a)
              %y = conv(%r, %w2) {kernel = [1, 1]}
              return %y
            }
            """, """
            graph @g(%x: f32[N,1,2,2]) -> (%y) {
              const %w1: f32[1,1,1,1] = dense<[3.0]>
              const %b1: f32[1] = dense<[0.5]>
              const %w2: f32[1,1,1,1] = dense<[1.0]>
              %a = conv(%x, %w1, %b1) {kernel = [1, 1]}
              %r = relu(%a)
              %y = conv(%r, %w2) {kernel = [1, 1]}
              return %y
            }
            """)
    }

    /// The two convs of a residual Add keep the same channels, chosen by their summed L1 norms
    /// ([3, 1, 2] + [0, 3, 0.5] = [3, 4, 2.5]: channel 2 goes, though %wa alone would drop 1).
    func testResidualAddPrunesBothBranchesBySummedImportance() throws {
        try assertPipeline("prune-filters{ratio=0.34}", """
            graph @g(%x: f32[N,1,2,2]) -> (%y) {
              const %wa: f32[3,1,1,1] = dense<[3.0, 1.0, -2.0]>
              const %wb: f32[3,1,1,1] = dense<[0.0, -3.0, 0.5]>
              const %wc: f32[2,3,1,1] = dense<[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]>
              %a = conv(%x, %wa) {kernel = [1, 1]}
              %b = conv(%x, %wb) {kernel = [1, 1]}
              %s = add(%a, %b)
              %r = relu(%s)
              %y = conv(%r, %wc) {kernel = [1, 1]}
              return %y
            }
            """, """
            graph @g(%x: f32[N,1,2,2]) -> (%y) {
              const %wa: f32[2,1,1,1] = dense<[3.0, 1.0]>
              const %wb: f32[2,1,1,1] = dense<[0.0, -3.0]>
              const %wc: f32[2,2,1,1] = dense<[1.0, 2.0, 4.0, 5.0]>
              %a = conv(%x, %wa) {kernel = [1, 1]}
              %b = conv(%x, %wb) {kernel = [1, 1]}
              %s = add(%a, %b)
              %r = relu(%s)
              %y = conv(%r, %wc) {kernel = [1, 1]}
              return %y
            }
            """)
    }

    /// BatchNormalization statistics, a depthwise conv (weights, bias, group), a per-channel
    /// constant and the classifier's input columns all follow the removed channel; the
    /// classifier's outputs (a graph output) stay.
    func testChannelsFollowThroughBatchNormDepthwiseConstantsAndTheClassifier() throws {
        try assertPipeline("prune-filters{ratio=0.5}", """
            graph @g(%x: f32[N,1,3,3]) -> (%y) {
              const %w: f32[2,1,1,1] = dense<[0.5, 2.0]>
              const %scale: f32[2] = dense<[1.0, 2.0]>
              const %shift: f32[2] = dense<[3.0, 4.0]>
              const %mean: f32[2] = dense<[5.0, 6.0]>
              const %var: f32[2] = dense<[7.0, 8.0]>
              const %dw: f32[2,1,3,3] = dense<[1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 2.0, 2.0, 2.0, 2.0, 2.0, 2.0, 2.0, 2.0, 2.0]>
              const %db: f32[2] = dense<[-1.0, -2.0]>
              const %k: f32[1,2,1,1] = dense<[10.0, 20.0]>
              const %fw: f32[3,2] = dense<[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]>
              const %fb: f32[3] = dense<[0.0, 0.0, 1.0]>
              %c = conv(%x, %w) {kernel = [1, 1]}
              %n = batch_norm(%c, %scale, %shift, %mean, %var) {epsilon = 1e-05}
              %d = conv(%n, %dw, %db) {kernel = [3, 3], pads = [1, 1, 1, 1], group = 2}
              %m = mul(%d, %k)
              %p = global_average_pool(%m)
              %f = flatten(%p) {axis = 1}
              %y = gemm(%f, %fw, %fb) {trans_b = true}
              return %y
            }
            """, """
            graph @g(%x: f32[N,1,3,3]) -> (%y) {
              const %w: f32[1,1,1,1] = dense<[2.0]>
              const %scale: f32[1] = dense<[2.0]>
              const %shift: f32[1] = dense<[4.0]>
              const %mean: f32[1] = dense<[6.0]>
              const %var: f32[1] = dense<[8.0]>
              const %dw: f32[1,1,3,3] = dense<[2.0, 2.0, 2.0, 2.0, 2.0, 2.0, 2.0, 2.0, 2.0]>
              const %db: f32[1] = dense<[-2.0]>
              const %k: f32[1,1,1,1] = dense<[20.0]>
              const %fw: f32[3,1] = dense<[2.0, 4.0, 6.0]>
              const %fb: f32[3] = dense<[0.0, 0.0, 1.0]>
              %c = conv(%x, %w) {kernel = [1, 1]}
              %n = batch_norm(%c, %scale, %shift, %mean, %var) {epsilon = 1e-05}
              %d = conv(%n, %dw, %db) {kernel = [3, 3], pads = [1, 1, 1, 1], group = 1}
              %m = mul(%d, %k)
              %p = global_average_pool(%m)
              %f = flatten(%p) {axis = 1}
              %y = gemm(%f, %fw, %fb) {trans_b = true}
              return %y
            }
            """)
    }

    /// After a Flatten of a 2x1 map, each channel owns two consecutive classifier columns
    /// (trans_b: columns of the [3, 4] weight).
    func testFlattenOfASpatialMapSlicesEachChannelsColumns() throws {
        try assertPipeline("prune-filters{ratio=0.5 criterion=l2}", """
            graph @g(%x: f32[N,1,2,1]) -> (%y) {
              const %w: f32[2,1,1,1] = dense<[-4.0, 1.0]>
              const %fw: f32[3,4] = dense<[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0, 12.0]>
              %c = conv(%x, %w) {kernel = [1, 1]}
              %f = flatten(%c) {axis = 1}
              %y = gemm(%f, %fw) {trans_b = true}
              return %y
            }
            """, """
            graph @g(%x: f32[N,1,2,1]) -> (%y) {
              const %w: f32[1,1,1,1] = dense<[-4.0]>
              const %fw: f32[3,2] = dense<[1.0, 2.0, 5.0, 6.0, 9.0, 10.0]>
              %c = conv(%x, %w) {kernel = [1, 1]}
              %f = flatten(%c) {axis = 1}
              %y = gemm(%f, %fw) {trans_b = true}
              return %y
            }
            """)
    }

    /// A weight shared by a pruned and an unpruned reader is split in two constants.
    func testSharedConstantGetsOneVersionPerSlicing() throws {
        try assertPipeline("prune-filters{ratio=0.5}", """
            graph @g(%x: f32[N,2,1,1]) -> (%y, %z) {
              const %w: f32[2,2,1,1] = dense<[1.0, 1.0, 0.0, 0.5]>
              %a = conv(%x, %w) {kernel = [1, 1]}
              %y = conv(%a, %w) {kernel = [1, 1]}
              %z = conv(%x, %w) {kernel = [1, 1]}
              return %y, %z
            }
            """, """
            graph @g(%x: f32[N,2,1,1]) -> (%y, %z) {
              const %w: f32[1,2,1,1] = dense<[1.0, 1.0]>
              const %w_pruned: f32[2,1,1,1] = dense<[1.0, 0.0]>
              const %"w_pruned_1": f32[2,2,1,1] = dense<[1.0, 1.0, 0.0, 0.5]>
              %a = conv(%x, %w) {kernel = [1, 1]}
              %y = conv(%a, %w_pruned) {kernel = [1, 1]}
              %z = conv(%x, %"w_pruned_1") {kernel = [1, 1]}
              return %y, %z
            }
            """)
    }

    /// The rebuilt graph counts its mutations for --stats (Graph.replaceContents adds them).
    func testStatisticsCountTheRewrite() throws {
        var graph = try canonicalDefaultModel()
        let before = graph.changeCount
        let stats = try PassManager(pipeline: "prune-filters").run(&graph)
        XCTAssertGreaterThan(stats[0].changes, graph.nodes.count)
        XCTAssertEqual(graph.changeCount, before + stats[0].changes)
    }

    func testLeavesGraphOutputsAndInputsAlone() throws {
        try assertUnchanged("prune-filters{ratio=0.5}", """
            graph @g(%x: f32[N,2,2,2]) -> (%y) {
              const %w: f32[4,2,1,1] = dense<[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]>
              %c = conv(%x, %w) {kernel = [1, 1]}
              %y = relu(%c)
              return %y
            }
            """)
        // The conv's output meets the graph input in an Add: its channels are the image's.
        try assertUnchanged("prune-filters{ratio=0.5}", """
            graph @g(%x: f32[N,2,2,2]) -> (%y) {
              const %w: f32[2,2,1,1] = dense<[1.0, 2.0, 3.0, 4.0]>
              const %w2: f32[1,2,1,1] = dense<[1.0, 2.0]>
              %c = conv(%x, %w) {kernel = [1, 1]}
              %s = add(%c, %x)
              %y = conv(%s, %w2) {kernel = [1, 1]}
              return %y
            }
            """)
    }

    // MARK: Refusals

    private let concatGraph = """
        graph @g(%x: f32[N,1,2,2]) -> (%y) {
          const %wa: f32[2,1,1,1] = dense<[1.0, 2.0]>
          const %wb: f32[2,1,1,1] = dense<[3.0, 4.0]>
          const %wc: f32[1,4,1,1] = dense<[1.0, 2.0, 3.0, 4.0]>
          %a = conv(%x, %wa) {kernel = [1, 1]}
          %b = conv(%x, %wb) {kernel = [1, 1]}
          %c = concat(%a, %b) {axis = 1} name = "join"
          %y = conv(%c, %wc) {kernel = [1, 1]}
          return %y
        }
        """

    func testRefusesWhatItCannotPruneNamingTheNode() throws {
        var graph = try TextParser.parse(concatGraph)
        XCTAssertThrowsError(try PassManager(pipeline: "prune-filters").run(&graph)) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("node 'join' (concat)"), text)
            XCTAssertTrue(text.contains("concatenates along channels"), text)
            XCTAssertTrue(text.contains("strict=false"), text)
        }
        var grouped = try TextParser.parse("""
            graph @g(%x: f32[N,1,2,2]) -> (%y) {
              const %w: f32[4,1,1,1] = dense<[1.0, 2.0, 3.0, 4.0]>
              const %g: f32[4,2,1,1] = dense<[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]>
              %a = conv(%x, %w) {kernel = [1, 1]}
              %y = conv(%a, %g) {kernel = [1, 1], group = 2} name = "grouped"
              return %y
            }
            """)
        XCTAssertThrowsError(try PassManager(pipeline: "prune-filters").run(&grouped)) { error in
            XCTAssertTrue("\(error)".contains("node 'grouped' (conv): a grouped convolution (group 2, 4 -> 4 channels)"),
                          "\(error)")
        }
        var spatial = try TextParser.parse("""
            graph @g(%x: f32[N,1,2,2]) -> (%y) {
              const %w: f32[2,1,1,1] = dense<[1.0, 2.0]>
              const %w2: f32[1,1,1,1] = dense<[1.0]>
              %a = conv(%x, %w) {kernel = [1, 1]}
              %r = reshape(%a) {shape = [0, 1, 4, 2]} name = "fold"
              %y = conv(%r, %w2) {kernel = [1, 1]}
              return %y
            }
            """)
        XCTAssertThrowsError(try PassManager(pipeline: "prune-filters").run(&spatial)) { error in
            XCTAssertTrue("\(error)".contains("node 'fold' (reshape)"), "\(error)")
        }
    }

    func testNonStrictLeavesBlockedChannelsAndPrunesTheRest() throws {
        try assertUnchanged("prune-filters{strict=false}", concatGraph)
        // The conv before the concat's branch is pruned; the concat's inputs are not.
        try assertPipeline("prune-filters{strict=false}", """
            graph @g(%x: f32[N,1,2,2]) -> (%y) {
              const %w0: f32[2,1,1,1] = dense<[1.0, 0.5]>
              const %wa: f32[2,2,1,1] = dense<[1.0, 2.0, 3.0, 4.0]>
              const %wc: f32[1,3,1,1] = dense<[1.0, 2.0, 3.0]>
              %z = conv(%x, %w0) {kernel = [1, 1]}
              %a = conv(%z, %wa) {kernel = [1, 1]}
              %c = concat(%a, %x) {axis = 1}
              %y = conv(%c, %wc) {kernel = [1, 1]}
              return %y
            }
            """, """
            graph @g(%x: f32[N,1,2,2]) -> (%y) {
              const %w0: f32[1,1,1,1] = dense<[1.0]>
              const %wa: f32[2,1,1,1] = dense<[1.0, 3.0]>
              const %wc: f32[1,3,1,1] = dense<[1.0, 2.0, 3.0]>
              %z = conv(%x, %w0) {kernel = [1, 1]}
              %a = conv(%z, %wa) {kernel = [1, 1]}
              %c = concat(%a, %x) {axis = 1}
              %y = conv(%c, %wc) {kernel = [1, 1]}
              return %y
            }
            """)
    }

    func testBadOptionsAreErrors() throws {
        for (pipeline, text) in [("prune-filters{ratio=1.0}", "ratio must be in [0, 1)"),
                                 ("prune-filters{macs=1.5}", "macs must be in (0, 1]"),
                                 ("prune-filters{criterion=l7}", "unknown criterion 'l7'; valid: l1, l2")] {
            XCTAssertThrowsError(try PassManager(pipeline: pipeline)) { error in
                XCTAssertTrue("\(error)".contains(text), "\(pipeline): \(error)")
            }
        }
        var graph = try canonicalDefaultModel()
        XCTAssertThrowsError(try PassManager(pipeline: "prune-filters{macs=0.00001}").run(&graph)) { error in
            XCTAssertTrue("\(error)".contains("out of reach"), "\(error)")
        }
    }

    // MARK: MAC target

    /// `macs=F` picks the smallest ratio whose pruned MACs fit F of the original: the result fits,
    /// a slightly smaller ratio does not, and the predicted MACs are the cost model's.
    func testMACTargetIsMetTightly() throws {
        let graph = try canonicalDefaultModel()
        let before = try CostModel.report(graph).totals.macs
        for fraction in [0.2, 0.35, 0.6] {
            var g = graph
            try PassManager(pipeline: "prune-filters{macs=\(fraction)}", verifyEach: true).run(&g)
            let after = try CostModel.report(g).totals.macs
            XCTAssertLessThanOrEqual(Double(after), fraction * Double(before), "\(fraction)")
            let pruning = try FilterPruning(graph: graph)
            let ratio = try pruning.ratio(forMACFraction: fraction)
            XCTAssertEqual(pruning.macs(ratio: ratio), after)
            XCTAssertGreaterThan(Double(pruning.macs(ratio: ratio - 1e-6)), fraction * Double(before), "\(fraction)")
            XCTAssertGreaterThan(Double(after), 0.8 * fraction * Double(before), "\(fraction): far below the target")
        }
    }

    // MARK: Real models against the masked reference

    func testDefaultModelEqualsTheMaskedReference() throws {
        try assertMatchesMaskedReference(try canonicalDefaultModel(), ratio: 0.5)
        try assertMatchesMaskedReference(try canonicalDefaultModel(), ratio: 0.3, criterion: "l2")
    }

    /// The default model as trained, with its BatchNormalization nodes: valid and the same MACs
    /// as pruning the folded graph's channel counts would give.
    func testDefaultModelWithBatchNormPrunes() throws {
        let path = TestSupport.repoRoot.appendingPathComponent("models/default.onnx").path
        var graph = try ONNXLoader.load(path: path)
        try PassManager(pipeline: "prune-filters{ratio=0.5}", verifyEach: true).run(&graph)
        var folded = try canonicalDefaultModel()
        try PassManager(pipeline: "prune-filters{ratio=0.5}", verifyEach: true).run(&folded)
        XCTAssertEqual(try CostModel.report(graph).totals.macs, try CostModel.report(folded).totals.macs)
        _ = try Interpreter(graph: graph).run(randomInputs(graph))
    }

    func testTorchvisionExportsEqualTheMaskedReference() throws {
        let dir = TestSupport.fixtures(of: "RuntimeTests").appendingPathComponent("torchvision")
        // Residual blocks with projections, inverted residuals with depthwise convs, squeeze-and-
        // excitation (a Mul couples the gate's conv with the feature map), SiLU as x * sigmoid(x);
        // with strict=false, squeezenet's Concats and regnet's grouped convs are left alone while
        // the sets before them are pruned.
        for (name, strict) in [("resnet18", true), ("mobilenet_v2", true), ("mobilenet_v3_small", true),
                               ("efficientnet_b0", true), ("squeezenet1_1", false), ("regnet", false)] {
            var graph = try ONNXLoader.load(path: dir.appendingPathComponent("\(name).onnx").path)
            try PassManager(pipeline: "canonicalize").run(&graph)
            try assertMatchesMaskedReference(graph, ratio: 0.4, strict: strict)
        }
    }

    /// The onnx wheel's squeezenet (strict=false: its fire modules' Concats stay, their squeeze convs
    /// are pruned) against the masked reference; shufflenet's grouped convs are refused by name.
    func testLightModels() throws {
        guard let dir = TestSupport.requireONNXPackage() else { return }
        var squeezenet = try randomizedWeights(try ONNXLoader.load(path: "\(dir)/backend/test/data/light/light_squeezenet.onnx"))
        try PassManager(pipeline: "canonicalize").run(&squeezenet)
        try assertMatchesMaskedReference(squeezenet, ratio: 0.5, strict: false, batch: 1)
        var shufflenet = try ONNXLoader.load(path: "\(dir)/backend/test/data/light/light_shufflenet.onnx")
        try PassManager(pipeline: "canonicalize").run(&shufflenet)
        XCTAssertThrowsError(try PassManager(pipeline: "prune-filters").run(&shufflenet)) { error in
            XCTAssertTrue("\(error)".contains("(conv): a grouped convolution (group 4"), "\(error)")
        }
    }

    // MARK: Helpers

    private func canonicalDefaultModel() throws -> Graph {
        let path = TestSupport.repoRoot.appendingPathComponent("models/default.onnx").path
        var graph = try ONNXLoader.load(path: path)
        try PassManager(pipeline: "canonicalize").run(&graph)
        return graph
    }

    private func randomInputs(_ graph: Graph, batch: Int = 2) -> [String: Tensor] {
        var rng = SeededUniform(state: 11)
        var feeds: [String: Tensor] = [:]
        for input in graph.inputs {
            let shape = input.type.shape(batch: batch)
            feeds[input.name] = Tensor(shape: shape, scalars: (0..<shape.elementCount).map { _ in rng.next(-2, 2) })
        }
        return feeds
    }

    /// The pruned graph must compute what the original computes with every pruned filter (weights
    /// and bias of each conv whose output channel goes, depthwise ones included) set to zero: on a
    /// canonicalized graph (BN folded, activations with f(0) = 0) a zeroed channel is zero all the
    /// way to its readers, which is what removing it means. The reference never slices a reader,
    /// so it checks the pass's reader bookkeeping independently.
    private func assertMatchesMaskedReference(_ graph: Graph, ratio: Double, criterion: String = "l1", strict: Bool = true,
                                              batch: Int = 2, file: StaticString = #filePath, line: UInt = #line) throws {
        let pruning = try FilterPruning(graph: graph, criterion: PruningCriterion(rawValue: criterion) ?? .l1, strict: strict)
        let kept = pruning.keptChannels(ratio: ratio)
        var pruned = graph
        try PassManager(pipeline: "prune-filters{ratio=\(ratio) criterion=\(criterion) strict=\(strict)}", verifyEach: true)
            .run(&pruned)
        let macs = try CostModel.report(pruned).totals.macs
        XCTAssertEqual(macs, pruning.macs(ratio: ratio), graph.name, file: file, line: line)
        XCTAssertLessThan(Double(macs), 0.9 * Double(pruning.macsBefore), "\(graph.name): hardly anything pruned",
                          file: file, line: line)
        var masked = graph
        var zeroed = 0
        for node in graph.nodes {
            guard case .conv = node.op, let keep = kept[node.outputs[0]] else { continue }
            for input in node.inputs.dropFirst() {
                guard let t = masked.constants[input] else { continue }
                let per = t.count / t.shape[0]
                var s = t.scalars
                for c in 0..<t.shape[0] where !keep.contains(c) {
                    for i in (c * per)..<((c + 1) * per) { s[i] = 0 }
                }
                try masked.replaceConstant(input, with: Tensor(shape: t.shape, scalars: s))
            }
            zeroed += 1
        }
        XCTAssertGreaterThan(zeroed, 0, file: file, line: line)
        let feeds = randomInputs(graph, batch: batch)
        let original = try Interpreter(graph: graph).run(feeds)
        let want = try Interpreter(graph: masked).run(feeds)
        let have = try Interpreter(graph: pruned).run(feeds)
        for name in graph.outputs {
            guard let w = want[name], let h = have[name], let o = original[name] else {
                XCTFail("output '\(name)' missing", file: file, line: line)
                continue
            }
            XCTAssertEqual(h.shape, w.shape, file: file, line: line)
            let scale = w.scalars.map(abs).max() ?? 0
            let diff = zip(w.scalars, h.scalars).map { abs($0 - $1) }.max() ?? 0
            XCTAssertLessThanOrEqual(diff, 1e-5 * scale, "\(graph.name) ratio \(ratio): \(name)", file: file, line: line)
            // The mask must matter, or the comparison proves nothing.
            let moved = zip(w.scalars, o.scalars).map { abs($0 - $1) }.max() ?? 0
            XCTAssertGreaterThan(moved, 1e-3 * scale, "\(graph.name): pruning changed nothing", file: file, line: line)
        }
    }
}
