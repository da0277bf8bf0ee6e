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

private let MATERIALIZED = """
    TODO
    """
