// StagesTests: split-stages and insert-exits as textual IR in -> textual IR out, the refusals, and the stage text form.

import XCTest
import IR
import Passes

/// A residual block with a classifier and a softmax tail: one class of 4 channels.
let smallStaticIR = """
        graph @small(%x: f32[N,1,4,4]) -> (%y) {
          const %w1: f32[4,1,1,1] = dense<[1.0, 2.0, 3.0, 4.0]>
          const %w2: f32[4,4,1,1] = dense<[1.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 1.0]>
          const %fw: f32[2,4] = dense<[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]>
          const %fb: f32[2] = dense<[0.5, -0.5]>
          %c1 = conv(%x, %w1) {kernel = [1, 1], activation = relu}
          %c2 = conv(%c1, %w2) {kernel = [1, 1]}
          %a = add(%c1, %c2)
          %p = global_average_pool(%a)
          %f = flatten(%p) {axis = 1}
          %z = gemm(%f, %fw, %fb) {trans_b = true}
          %y = softmax(%z) {axis = 1}
          return %y
        }
        """

final class StagesTests: XCTestCase {
    func testSplitTwoStagesWithExits() throws {
        try assertPipeline("split-stages{stages=2},insert-exits{thresholds=[0.75]}", smallStaticIR, """
            graph @small(%x: f32[N,1,4,4]) -> (%y) {
              const %w1: f32[4,1,1,1] = dense<[1.0, 2.0, 3.0, 4.0]>
              const %w2: f32[4,4,1,1] = dense<[1.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 1.0]>
              const %fw: f32[2,4] = dense<[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]>
              const %fb: f32[2] = dense<[0.5, -0.5]>
              %w1.s1: f32[2,1,1,1] = slice(%w1) {starts = [0], ends = [2], axes = [0], steps = [1]} name = "w1.s1" stage = 1 ranges = [[0, 0, 1, 0, 1, 1]]
              %c1.s1: f32[N,2,4,4] = conv(%x, %w1.s1) {kernel = [1, 1], strides = [1, 1], pads = [0, 0, 0, 0], dilations = [1, 1], group = 1, activation = relu} name = "c1.s1" stage = 1
              %w1.s2: f32[2,1,1,1] = slice(%w1) {starts = [2], ends = [4], axes = [0], steps = [1]} name = "w1.s2" stage = 2 ranges = [[0, 0, 1, 0, 2, 2]]
              %c1.s2: f32[N,2,4,4] = conv(%x, %w1.s2) {kernel = [1, 1], strides = [1, 1], pads = [0, 0, 0, 0], dilations = [1, 1], group = 1, activation = relu} name = "c1.s2" stage = 2
              %w2.s1: f32[2,2,1,1] = slice(%w2) {starts = [0, 0], ends = [2, 2], axes = [0, 1], steps = [1, 1]} name = "w2.s1" stage = 1 ranges = [[0, 0, 1, 0, 1, 1], [1, 0, 1, 0, 1, 1]]
              %c2.s1: f32[N,2,4,4] = conv(%c1.s1, %w2.s1) {kernel = [1, 1], strides = [1, 1], pads = [0, 0, 0, 0], dilations = [1, 1], group = 1} name = "c2.s1" stage = 1
              %w2.s2: f32[2,4,1,1] = slice(%w2) {starts = [2, 0], ends = [4, 4], axes = [0, 1], steps = [1, 1]} name = "w2.s2" stage = 2 ranges = [[0, 0, 1, 0, 2, 2], [1, 0, 1, 0, 1, 2]]
              %c1.in.c2.s2: f32[N,4,4,4] = concat(%c1.s1, %c1.s2) {axis = 1} name = "c2.concat.s2" stage = 2
              %c2.s2: f32[N,2,4,4] = conv(%c1.in.c2.s2, %w2.s2) {kernel = [1, 1], strides = [1, 1], pads = [0, 0, 0, 0], dilations = [1, 1], group = 1} name = "c2.s2" stage = 2
              %a.s1: f32[N,2,4,4] = add(%c1.s1, %c2.s1) name = "a.s1" stage = 1
              %a.s2: f32[N,2,4,4] = add(%c1.s2, %c2.s2) name = "a.s2" stage = 2
              %p.s1: f32[N,2,1,1] = global_average_pool(%a.s1) name = "p.s1" stage = 1
              %p.s2: f32[N,2,1,1] = global_average_pool(%a.s2) name = "p.s2" stage = 2
              %f.s1: f32[N,2] = flatten(%p.s1) {axis = 1} name = "f.s1" stage = 1
              %f.s2: f32[N,2] = flatten(%p.s2) {axis = 1} name = "f.s2" stage = 2
              %fw.s1: f32[2,2] = slice(%fw) {starts = [0], ends = [2], axes = [1], steps = [1]} name = "fw.s1" stage = 1 ranges = [[1, 0, 1, 0, 1, 1]]
              %z.s1: f32[N,2] = gemm(%f.s1, %fw.s1, %fb) {alpha = 1.0, beta = 1.0, trans_a = false, trans_b = true} name = "z.s1" stage = 1
              %y.exit1: f32[N,2] = softmax(%z.s1) {axis = 1} name = "y.exit1" stage = 1
              %fw.s2: f32[2,2] = slice(%fw) {starts = [2], ends = [4], axes = [1], steps = [1]} name = "fw.s2" stage = 2 ranges = [[1, 0, 1, 0, 2, 2]]
              %z.part2: f32[N,2] = gemm(%f.s2, %fw.s2) {alpha = 1.0, beta = 1.0, trans_a = false, trans_b = true} name = "z.s2" stage = 2
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
    }

    func testStagedTextRoundTrips() throws {
        var graph = try TextParser.parse(smallStaticIR)
        try PassManager(pipeline: "split-stages{fractions=[0.25,0.5]},insert-exits", verifyEach: true).run(&graph)
        let text = TextPrinter.print(graph, elideConstantsAbove: nil)
        let again = try TextParser.parse(text)
        XCTAssertEqual(again, graph)
        XCTAssertEqual(TextPrinter.print(again, elideConstantsAbove: nil), text)
    }

    func testOneStageKeepsTheStaticCost() throws {
        let source = try TextParser.parse(smallStaticIR)
        var graph = source
        try PassManager(pipeline: "split-stages{stages=1}", verifyEach: true).run(&graph)
        let report = try CostModel.stageReport(graph)
        let totals = try CostModel.report(source).totals
        XCTAssertEqual(report.stages.map(\.macs), [totals.macs])
        XCTAssertEqual(report.stages.map(\.parameters), [totals.parameters])
        XCTAssertEqual(report.cumulativeMACs, [totals.macs])
    }

    func testStageCostCountsComputedChannelPairs() throws {
        var graph = try TextParser.parse(smallStaticIR)
        try PassManager(pipeline: "split-stages{stages=2},insert-exits", verifyEach: true).run(&graph)
        let report = try CostModel.stageReport(graph)
        // c1: 2 out channels × 16 pixels per stage; c2: stage 1 2×2, stage 2 2×4 pairs × 16 pixels;
        // classifier: 2 columns × 2 outputs per stage.
        XCTAssertEqual(report.stages.map(\.macs), [2 * 16 + 4 * 16 + 4, 2 * 16 + 8 * 16 + 4])
        XCTAssertEqual(report.cumulativeMACs, [100, 264])
        XCTAssertEqual(report.staticMACs, 4 * 16 + 16 * 16 + 8)
    }

    func testExitsOnlyWhereAsked() throws {
        var graph = try TextParser.parse(smallStaticIR)
        try PassManager(pipeline: "split-stages{stages=3},insert-exits{at=[2]}", verifyEach: true).run(&graph)
        XCTAssertEqual(graph.stageInfo?.exits.map(\.stage), [2, 3])
    }

    func testBadOptionsAreClearErrors() throws {
        let cases: [(String, String)] = [
            ("split-stages{fractions=[0.5,0.25]}", "strictly increasing"),
            ("split-stages{fractions=[0.5,1.0]}", "outside (0, 1)"),
            ("split-stages{fractions=[0.0]}", "outside (0, 1)"),
            ("split-stages{stages=5}", "class 'c1' has 4 channels, fewer than the 5 stages"),
            ("split-stages", "give stages=S"),
            ("split-stages{stages=2 fractions=[0.5,0.75]}", "disagrees"),
            ("split-stages{stages=2},insert-exits{thresholds=[0.5,0.6,0.7]}", "3 thresholds for 1 early exits"),
            ("split-stages{stages=2},insert-exits{at=[3]}", "not a stage in 1...2"),
            ("insert-exits", "run split-stages first"),
            ("split-stages{stages=2},split-stages{stages=2}", "already split"),
        ]
        for (pipeline, message) in cases {
            var graph = try TextParser.parse(smallStaticIR)
            XCTAssertThrowsError(try PassManager(pipeline: pipeline).run(&graph), pipeline) { error in
                XCTAssertTrue("\(error)".contains(message), "\(pipeline): \(error)")
            }
        }
    }

    func testConfigurationFile() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("stages-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let good = dir.appendingPathComponent("good.json").path
        try #"{"stages": 2, "boundaries": {"c1": [1, 4]}, "reuse": {"c2": false}}"#.write(toFile: good, atomically: true, encoding: .utf8)
        var graph = try TextParser.parse(smallStaticIR)
        try PassManager(pipeline: "split-stages{config=\(good)}", verifyEach: true).run(&graph)
        XCTAssertEqual(graph.stageInfo?.classes.map(\.boundaries), [[1, 4]])
        XCTAssertEqual(graph.stageInfo?.reuseOff, ["c2"])
        // Reuse off: stage 2 of c2 reads only group 2 (channels 1..<4), so its weight is 3×3.
        XCTAssertEqual(graph.types["w2.s2"], TensorType(shape: [3, 3, 1, 1]))
        // The keys s2dc search adds about how it chose the configuration are ignored; its
        // thresholds go to insert-exits{config=…}.
        let searched = dir.appendingPathComponent("searched.json").path
        try #"{"stages": 2, "boundaries": {"c1": [3, 4]}, "reuse": {}, "thresholds": [0.6], "accuracy": 0.9, "expectedMACs": 10.5, "fractionOfStatic": 0.3, "feasible": true, "bins": {"c1": [5]}, "encoding": [5]}"#
            .write(toFile: searched, atomically: true, encoding: .utf8)
        var fromSearch = try TextParser.parse(smallStaticIR)
        try PassManager(pipeline: "split-stages{config=\(searched)},insert-exits{config=\(searched)}", verifyEach: true).run(&fromSearch)
        XCTAssertEqual(fromSearch.stageInfo?.classes.map(\.boundaries), [[3, 4]])
        XCTAssertEqual(fromSearch.stageInfo?.exits.map(\.threshold), [0.6, .infinity])
        var noThresholds = try TextParser.parse(smallStaticIR)
        XCTAssertThrowsError(try PassManager(pipeline: "split-stages{config=\(good)},insert-exits{config=\(good)}").run(&noThresholds)) {
            XCTAssertTrue("\($0)".contains("good.json: no \"thresholds\""), "\($0)")
        }
        XCTAssertThrowsError(try PassManager(pipeline: "insert-exits{config=\(good) thresholds=[0.5]}")) {
            XCTAssertTrue("\($0)".contains("not both"), "\($0)")
        }
        for (body, message) in [(#"{"boundaries": {"nope": [1, 4]}, "stages": 2}"#, "unknown class 'nope'"),
                                (#"{"boundaries": {"c1": [3, 2]}, "stages": 2}"#, "strictly increasing"),
                                (#"{"reuse": {"zz": false}, "stages": 2}"#, "'zz' is not a split weighted layer"),
                                (#"{"boundries": {"c1": [1, 4]}, "stages": 2}"#, "unknown key 'boundries'; did you mean 'boundaries'?"),
                                (#"{"Stages": 2}"#, "unknown key 'Stages'; did you mean 'stages'?"),
                                (#"{"stages": 2, "colour": 1}"#, "unknown key 'colour' (read: stages, boundaries, reuse, thresholds; ignored: accuracy"),
                                (#"{"stages": 2, "thresholds": [0.5, 0.5]}"#, "2 thresholds for the 1 early exits of 2 stages"),
                                (#"{"stages": 2, "thresholds": "high"}"#, "\"thresholds\" must be a list of numbers"),
                                ("[1", "not valid JSON")] {
            let path = dir.appendingPathComponent("bad.json").path
            try body.write(toFile: path, atomically: true, encoding: .utf8)
            var g = try TextParser.parse(smallStaticIR)
            XCTAssertThrowsError(try PassManager(pipeline: "split-stages{config=\(path)}").run(&g)) { error in
                XCTAssertTrue("\(error)".contains(message), "\(body): \(error)")
            }
        }
    }

    /// Each op that cannot be split exactly is refused with the node's name and the reason.
    func testRefusesWhatCannotBeSplit() throws {
        let body: [(String, String)] = [
            ("%m = lrn(%c1) {size = 3, alpha = 0.0001, beta = 0.75, bias = 1.0}", "node 'm' (lrn)"),
            ("%m = transpose(%c1) {perm = [0, 2, 1, 3]}", "node 'm' (transpose)"),
            ("%m = conv(%c1, %wg) {kernel = [1, 1], group = 2}", "grouped convolution (group = 2"),
            ("%m = softmax(%c1) {axis = 1}", "softmax across channels"),
            ("%m = reshape(%c1) {shape = [0, 2, 2, 16]}", "node 'm' (reshape)"),
        ]
        for (line, message) in body {
            let text = """
                graph @g(%x: f32[N,1,4,4]) -> (%y) {
                  const %w1: f32[4,1,1,1] = dense<elided>
                  const %wg: f32[4,2,1,1] = dense<elided>
                  const %fw: f32[2,16] = dense<elided>
                  %c1 = conv(%x, %w1) {kernel = [1, 1]}
                  \(line)
                  %p = reduce_mean(%m) {axes = [2, 3], keep_dims = false}
                  %y = matmul(%p, %fw)
                  return %y
                }
                """
            var graph = try TextParser.parse(text.replacingOccurrences(of: "%fw: f32[2,16]", with: line.contains("reshape") ? "%fw: f32[2,2]" : "%fw: f32[4,2]"))
            XCTAssertThrowsError(try PassManager(pipeline: "split-stages{stages=2}").run(&graph), line) { error in
                XCTAssertTrue("\(error)".contains(message), "\(line): \(error)")
            }
        }
    }

    func testVerifierStageRules() throws {
        var graph = try TextParser.parse(smallStaticIR)
        try PassManager(pipeline: "split-stages{stages=2},insert-exits", verifyEach: true).run(&graph)
        var text = TextPrinter.print(graph, elideConstantsAbove: nil)
        // c2.s1 (stage 1) made to read c1.s2 (stage 2).
        let bad = text.replacingOccurrences(of: "conv(%c1.s1, %w2.s1)", with: "conv(%c1.s2, %w2.s1)")
        XCTAssertNotEqual(bad, text)
        XCTAssertTrue(Verifier.diagnostics(try TextParser.parse(bad)).contains { "\($0)".contains("reads 'c1.s2' of the later stage 2") })
        // A slice whose bounds disagree with its partition range.
        let skewed = text.replacingOccurrences(of: "boundaries = [2, 4]", with: "boundaries = [1, 4]")
        XCTAssertTrue(Verifier.diagnostics(try TextParser.parse(skewed)).contains { "\($0)".contains("other than its partition range") })
        // No exit at the last stage.
        text = text.replacingOccurrences(of: "  exit 2 %y threshold = inf score = max\n", with: "")
        XCTAssertTrue(Verifier.diagnostics(try TextParser.parse(text)).contains { "\($0)".contains("must be at stage 2") })
    }
}
