// SliceableAndBinsTests: make-sliceable's marks and refusals, flops-bins' placement, and repartitioning.

import XCTest
import IR
import Passes
import Runtime

final class SliceableAndBinsTests: XCTestCase {
    func staged(_ pipeline: String) throws -> Graph {
        var graph = try TextParser.parse(smallStaticIR)
        try PassManager(pipeline: pipeline, verifyEach: true).run(&graph)
        return graph
    }

    func testMakeSliceableMarksEveryClass() throws {
        let graph = try staged("split-stages{stages=2},insert-exits,make-sliceable")
        XCTAssertEqual(graph.stageInfo?.classes.map(\.sliceable), [true])
        let text = TextPrinter.print(graph, elideConstantsAbove: nil)
        XCTAssertTrue(text.contains("sliceable = true"))
        XCTAssertEqual(try TextParser.parse(text), graph)
    }

    func testMakeSliceableRefusesReuseOff() throws {
        XCTAssertThrowsError(try staged("split-stages{stages=2 reuse=false},make-sliceable")) { error in
            XCTAssertTrue("\(error)".contains("has reuse off: its stage s reads only input group s"), "\(error)")
        }
        XCTAssertThrowsError(try staged("make-sliceable")) { error in
            XCTAssertTrue("\(error)".contains("run split-stages first"), "\(error)")
        }
    }

    /// A class whose layers read another class (quadratic MACs) gets bins crowded at the wide end;
    /// a class read only by a layer of the image (linear MACs) gets evenly spaced bins.
    func testFlopsBinsFollowMACs() throws {
        var graph = try TextParser.parse("""
            graph @g(%x: f32[N,1,4,4]) -> (%y) {
              const %w1: f32[16,1,1,1] = dense<elided>
              const %w2: f32[16,16,1,1] = dense<elided>
              const %fw: f32[2,16] = dense<elided>
              %c1 = conv(%x, %w1) {kernel = [1, 1]}
              %c2 = conv(%c1, %w2) {kernel = [1, 1]}
              %p = global_average_pool(%c2)
              %f = flatten(%p) {axis = 1}
              %y = gemm(%f, %fw) {trans_b = true}
              return %y
            }
            """)
        try PassManager(pipeline: "split-stages{stages=2},insert-exits,flops-bins{bins=4}", verifyEach: true).run(&graph)
        let bins = graph.stageInfo?.classes.map(\.bins) ?? []
        XCTAssertEqual(bins.count, 2)
        // Class of c1: w1 (16·1 per channel, linear) and w2's columns (at the same fraction of c2's
        // rows: quadratic); the class of c2: w2's rows (quadratic) and the classifier's columns (linear).
        for b in bins {
            XCTAssertEqual(b.count, 4)
            XCTAssertEqual(b.last, 16)
            XCTAssertTrue(zip(b, b.dropFirst()).allSatisfy { $0 < $1 }, "\(b)")
            XCTAssertGreaterThan(b[0], 4, "the first quarter of the MACs needs more than a quarter of the channels: \(b)")
        }
        // The report and the text form.
        XCTAssertTrue(TextPrinter.print(graph).contains("bins = [\(bins[0].map(String.init).joined(separator: ", "))]"))
        XCTAssertThrowsError(try PassManager(pipeline: "flops-bins{bins=0}"))
    }

    /// A new partition re-resolves the same staged nodes over the same constants, and runs
    /// exactly as split-stages with that partition would.
    func testRepartitionEqualsSplittingWithThatPartition() throws {
        let graph = try staged("split-stages{stages=2},insert-exits")
        let moved = try Repartition.apply(graph, boundaries: [[1, 4]])
        try Verifier.verify(moved)
        XCTAssertEqual(moved.constants, graph.constants)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("repartition-\(getpid()).json")
        try #"{"stages": 2, "boundaries": {"c1": [1, 4]}}"#.write(to: dir, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: dir) }
        let direct = try staged("split-stages{config=\(dir.path)},insert-exits")
        XCTAssertEqual(TextPrinter.print(moved, elideConstantsAbove: nil), TextPrinter.print(direct, elideConstantsAbove: nil))
        XCTAssertThrowsError(try Repartition.apply(graph, boundaries: [[3, 2]]))
    }
}
