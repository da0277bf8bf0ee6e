// MaterializeTests: materialize{config=FILE} as textual IR in -> out, its refusals, and exits equal to the supernet's under the configuration.

import Foundation
import XCTest
import IR
import Passes
import Runtime

final class MaterializeTests: XCTestCase {
    var directory = ""

    override func setUpWithError() throws {
        directory = NSTemporaryDirectory() + "materialize-tests-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: directory)
    }

    func write(_ json: String, _ name: String = "config.json") throws -> String {
        let path = directory + "/" + name
        try json.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func testMaterializeFixesBoundariesFoldsSlicesAndSetsThresholds() throws {
        // What s2dc search writes (extra keys are ignored); class c1 at [1, 4] instead of [2, 4].
        let path = try write("""
            {"stages": 2, "boundaries": {"c1": [1, 4]}, "reuse": {}, "thresholds": [0.6], "accuracy": 0.5, "expectedMACs": 100}
            """)
        try assertPipeline("split-stages{stages=2},insert-exits{thresholds=[0.75]},materialize{config=\(path)}", smallStaticIR,
                           MATERIALIZED)
    }

    func testRefusals() throws {
        var staged = try TextParser.parse(smallStaticIR)
        try PassManager(pipeline: "split-stages{stages=2},insert-exits").run(&staged)
        func refuses(_ json: String, _ needle: String, line: UInt = #line) throws {
            var g = staged
            let path = try write(json, "bad\(line).json")
            XCTAssertThrowsError(try PassManager(pipeline: "materialize{config=\(path)}").run(&g), line: line) {
                XCTAssertTrue("\($0)".contains(needle), "\($0)", line: line)
            }
        }
        try refuses(#"{"stages": 3, "boundaries": {"c1": [1, 4]}}"#, "3 stages")
        try refuses(#"{"boundaries": {"c1": [3, 2]}}"#, "strictly increasing")
        try refuses(#"{"boundaries": {"nope": [1, 4]}}"#, "no channel class 'nope'")
        try refuses(#"{"boundaries": {"c1": [1, 4]}, "thresholds": [0.5, 0.5]}"#, "2 thresholds for 1 early exits")
        try refuses(#"{"boundaries": {"c1": [1, 4]}, "reuse": {"c2": false}}"#, "reuse")
        try refuses(#"{"stages": 2}"#, "\"boundaries\"")
        try refuses("not json", "not valid JSON")
        XCTAssertThrowsError(try PassManager(pipeline: "materialize{config=\(directory)/missing.json}").run(&staged)) {
            XCTAssertTrue("\($0)".contains("cannot read"), "\($0)")
        }
        var plain = try TextParser.parse(smallStaticIR)
        let ok = try write(#"{"boundaries": {"c1": [1, 4]}}"#)
        XCTAssertThrowsError(try PassManager(pipeline: "materialize{config=\(ok)}").run(&plain)) {
            XCTAssertTrue("\($0)".contains("staged supernet"), "\($0)")
        }
    }

    /// A conv-BN-ReLU ×2 CNN (3 stages): the materialized graph's every exit equals the supernet's
    /// repartitioned under the same boundaries, BatchNorms folded and supernet constants gone.
    func testExitsEqualTheSupernetUnderTheConfiguration() throws {
        var rng = TrainingRNG(seed: 9)
        func normal(_ shape: [Int], _ s: Float = 0.5) -> Tensor {
            Tensor(shape: shape, scalars: (0..<shape.reduce(1, *)).map { _ in rng.nextNormal() * s })
        }
        var g = Graph(name: "cnn")
        try g.addInput("x", type: TensorType(dims: [.symbol("N"), .fixed(2), .fixed(6), .fixed(6)]))
        var x = "x", cin = 2
        for (i, cout) in [8, 12].enumerated() {
            try g.addConstant("w\(i)", normal([cout, cin, 3, 3]))
            try g.addConstant("s\(i)", Tensor(shape: [cout], scalars: (0..<cout).map { 1 + Float($0) * 0.05 }))
            try g.addConstant("b\(i)", normal([cout], 0.1))
            try g.addConstant("m\(i)", normal([cout], 0.2))
            try g.addConstant("v\(i)", Tensor(shape: [cout], scalars: (0..<cout).map { 0.5 + Float($0) * 0.1 }))
            x = try g.append(.conv(ConvAttributes(kernel: [3, 3], pads: [1, 1, 1, 1])), [x, "w\(i)"], name: "conv\(i)")
            x = try g.append(.batchNormalization(epsilon: 1e-5), [x, "s\(i)", "b\(i)", "m\(i)", "v\(i)"], name: "bn\(i)")
            x = try g.append(.relu, [x], name: "relu\(i)")
            cin = cout
        }
        x = try g.append(.globalAveragePool, [x], name: "gap")
        x = try g.append(.flatten(axis: 1), [x], name: "flatten")
        try g.addConstant("fw", normal([5, 12]))
        try g.addConstant("fb", normal([5], 0.1))
        x = try g.append(.gemm(GemmAttributes(transB: true)), [x, "fw", "fb"], name: "fc")
        try g.setOutputs([x])
        var supernet = g
        try PassManager(pipeline: "split-stages{fractions=[0.25,0.5]},insert-exits", verifyEach: true).run(&supernet)
        guard let info = supernet.stageInfo else { return XCTFail("not staged") }
        var boundaries: [String: [Int]] = [:]
        for k in info.classes { boundaries[k.name] = [1, k.channels - 2, k.channels] }
        let json = try JSONSerialization.data(withJSONObject: ["stages": 3, "boundaries": boundaries, "thresholds": [0.7, 0.9]],
                                              options: [.sortedKeys])
        let path = directory + "/cnn.json"
        try json.write(to: URL(fileURLWithPath: path))
        var materialized = supernet
        try PassManager(pipeline: "materialize{config=\(path)}", verifyEach: true).run(&materialized)
        let reference = try supernet.repartitioned(boundaries: boundaries)

        XCTAssertFalse(materialized.nodes.contains { if case .batchNormalization = $0.op { return true } else { return false } })
        XCTAssertFalse(materialized.nodes.contains { if case .slice = $0.op { return true } else { return false } })
        for name in ["w0", "w1", "fw"] { XCTAssertFalse(materialized.constantNames.contains(name), name) }
        XCTAssertEqual(materialized.stageInfo?.exits.map(\.threshold).prefix(2), [0.7, 0.9])
        XCTAssertEqual(materialized.stageInfo?.classes.map(\.boundaries), reference.stageInfo?.classes.map(\.boundaries))
        // It survives the text form (what s2dc run and emit read).
        let reparsed = try TextParser.parse(TextPrinter.print(materialized, elideConstantsAbove: nil))

        let images = normal([4, 2, 6, 6], 1)
        let want = try StagedInterpreter(graph: reference)
        let have = try StagedInterpreter(graph: reparsed)
        XCTAssertEqual(have.exitMACs, want.exitMACs)
        for s in 1...3 {
            guard let a = try have.run(["x": images], exitAt: s).outputs[reparsed.outputs[0]],
                  let b = try want.run(["x": images], exitAt: s).outputs[reference.outputs[0]] else { return XCTFail("exit \(s)") }
            XCTAssertEqual(a.shape, b.shape)
            for (u, v) in zip(a.scalars, b.scalars) { XCTAssertEqual(u, v, accuracy: 1e-4, "exit \(s)") }
        }
    }
}

/// smallStaticIR split in two at c1 = [2, 4], then materialized at [1, 4]: each slice of w1, w2 and fw
/// is now a constant holding the rows/columns of the new groups (w1 → [1] | [2, 3, 4]; w2 → its
/// row 0 column 0 | rows 1…3; fw → column 0 | columns 1…3), the supernet's w1, w2, fw are gone.
private let MATERIALIZED = """
    graph @small(%x: f32[N,1,4,4]) -> (%y) {
      const %fb: f32[2] = dense<[0.5, -0.5]>
      const %w1.s1_folded: f32[1,1,1,1] = dense<[1.0]>
      const %w1.s2_folded: f32[3,1,1,1] = dense<[2.0, 3.0, 4.0]>
      const %w2.s1_folded: f32[1,1,1,1] = dense<[1.0]>
      const %w2.s2_folded: f32[3,4,1,1] = dense<[0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 1.0]>
      const %fw.s1_folded: f32[2,1] = dense<[1.0, 5.0]>
      const %fw.s2_folded: f32[2,3] = dense<[2.0, 3.0, 4.0, 6.0, 7.0, 8.0]>
      %c1.s1: f32[N,1,4,4] = conv(%x, %w1.s1_folded) {kernel = [1, 1], strides = [1, 1], pads = [0, 0, 0, 0], dilations = [1, 1], group = 1, activation = relu} name = "c1.s1" stage = 1
      %c1.s2: f32[N,3,4,4] = conv(%x, %w1.s2_folded) {kernel = [1, 1], strides = [1, 1], pads = [0, 0, 0, 0], dilations = [1, 1], group = 1, activation = relu} name = "c1.s2" stage = 2
      %c2.s1: f32[N,1,4,4] = conv(%c1.s1, %w2.s1_folded) {kernel = [1, 1], strides = [1, 1], pads = [0, 0, 0, 0], dilations = [1, 1], group = 1} name = "c2.s1" stage = 1
      %c1.in.c2.s2: f32[N,4,4,4] = concat(%c1.s1, %c1.s2) {axis = 1} name = "c2.concat.s2" stage = 2
      %c2.s2: f32[N,3,4,4] = conv(%c1.in.c2.s2, %w2.s2_folded) {kernel = [1, 1], strides = [1, 1], pads = [0, 0, 0, 0], dilations = [1, 1], group = 1} name = "c2.s2" stage = 2
      %a.s1: f32[N,1,4,4] = add(%c1.s1, %c2.s1) name = "a.s1" stage = 1
      %a.s2: f32[N,3,4,4] = add(%c1.s2, %c2.s2) name = "a.s2" stage = 2
      %p.s1: f32[N,1,1,1] = global_average_pool(%a.s1) name = "p.s1" stage = 1
      %p.s2: f32[N,3,1,1] = global_average_pool(%a.s2) name = "p.s2" stage = 2
      %f.s1: f32[N,1] = flatten(%p.s1) {axis = 1} name = "f.s1" stage = 1
      %f.s2: f32[N,3] = flatten(%p.s2) {axis = 1} name = "f.s2" stage = 2
      %z.s1: f32[N,2] = gemm(%f.s1, %fw.s1_folded, %fb) {alpha = 1.0, beta = 1.0, trans_a = false, trans_b = true} name = "z.s1" stage = 1
      %y.exit1: f32[N,2] = softmax(%z.s1) {axis = 1} name = "y.exit1" stage = 1
      %z.part2: f32[N,2] = gemm(%f.s2, %fw.s2_folded) {alpha = 1.0, beta = 1.0, trans_a = false, trans_b = true} name = "z.s2" stage = 2
      %z: f32[N,2] = add(%z.s1, %z.part2) name = "z.sum.s2" stage = 2
      %y: f32[N,2] = softmax(%z) {axis = 1} name = "y" stage = 2
      stages 2 static_macs = 328 static_parameters = 30
      class "c1" channels = 4 boundaries = [1, 4] sliceable = false bins = [] members = ["c1", "c2", "a", "p", "f"]
      classifier "z" sums = [%z.s1, %z]
      exit 1 %y.exit1 threshold = 0.6 score = max
      exit 2 %y threshold = inf score = max
      return %y
    }
    """
