// PassTestSupport: "input IR → expected IR" checks for passes, with the verifier after every pass.

import XCTest
import IR
import Passes

/// Parses `input`, runs `pipeline` with the verifier after every pass, and compares the result's
/// text with `expected` (parsed and printed again, so it may omit result types, default attributes
/// and node names). Constant data prints in full on both sides. Returns the result graph.
@discardableResult
func assertPipeline(_ pipeline: String, _ input: String, _ expected: String, registry: PassRegistry = .shared,
                    file: StaticString = #filePath, line: UInt = #line) throws -> Graph {
    var graph = try TextParser.parse(input)
    let manager = try PassManager(pipeline: pipeline, registry: registry, verifyEach: true)
    try manager.run(&graph)
    let want = TextPrinter.print(try TextParser.parse(expected), elideConstantsAbove: nil)
    let have = TextPrinter.print(graph, elideConstantsAbove: nil)
    XCTAssertEqual(have, want, "pipeline '\(pipeline)'", file: file, line: line)
    return graph
}

/// The pass must not change the graph at all (not even its change count).
func assertUnchanged(_ pipeline: String, _ input: String, registry: PassRegistry = .shared,
                     file: StaticString = #filePath, line: UInt = #line) throws {
    var graph = try TextParser.parse(input)
    let before = graph
    let stats = try PassManager(pipeline: pipeline, registry: registry, verifyEach: true).run(&graph)
    XCTAssertEqual(stats.map(\.changes), stats.map { _ in 0 }, "pipeline '\(pipeline)' changed the graph",
                   file: file, line: line)
    XCTAssertEqual(TextPrinter.print(graph, elideConstantsAbove: nil), TextPrinter.print(before, elideConstantsAbove: nil),
                   file: file, line: line)
}

/// Parsing `input` and running `pipeline` must fail with an error whose text contains `needle`.
func assertPipelineFails(_ pipeline: String, _ input: String, containing needle: String,
                         file: StaticString = #filePath, line: UInt = #line) {
    do {
        var graph = try TextParser.parse(input)
        try PassManager(pipeline: pipeline).run(&graph)
        XCTFail("\(pipeline) should fail", file: file, line: line)
    } catch {
        XCTAssertTrue("\(error)".contains(needle), "\(error)", file: file, line: line)
    }
}
