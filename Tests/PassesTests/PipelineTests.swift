// PipelineTests: pipeline text parsing, option kinds and errors, the registry and the pass manager.

import XCTest
import IR
import Passes

/// A pass with one option of each kind, to test option parsing end to end.
private struct Configurable: Pass {
    static let name = "configurable"
    static let summary = "Records its options (test pass)"
    static let options: [PassOptionSpec] = [
        .int("stages", default: 3, help: "number of stages"),
        .bool("reuse", default: true, help: "reuse earlier stages"),
        .double("ratio", default: 0.5, help: "a ratio"),
        .string("label", default: "none", help: "a label"),
        .ints("sizes", default: [1, 2], help: "sizes"),
    ]
    let description: String
    init(options: PassOptions) throws { description = options.description }
    func run(on graph: inout Graph) throws {}
}

/// A pass that breaks a verifier rule the mutation API does not check (clip min > max).
private struct BreakClip: Pass {
    static let name = "break-clip"
    static let summary = "Makes every clip's min exceed its max (test pass)"
    init(options: PassOptions) throws {}
    func run(on graph: inout Graph) throws {
        for i in graph.nodes.indices where graph.nodes[i].op.name == "clip" {
            try graph.setOp(.clip(min: 6, max: 0), ofNodeAt: i)
        }
    }
}

private func registry() throws -> PassRegistry {
    let r = PassRegistry()
    try r.register(Configurable.self)
    try r.register(BreakClip.self)
    return r
}

private let smallGraph = """
    graph @g(%x: f32[N,3]) -> (%y) {
      %i = identity(%x)
      %c = clip(%i) {min = 0.0, max = 6.0}
      %y = relu(%c)
      return %y
    }
    """

final class PipelineTests: XCTestCase {
    func testParsesNamesOptionsAndSpaces() throws {
        let invocations = try PipelineParser.parseInvocations(" a , b{x=1 y=[1, 2] z=\"q } \\\" r\"},c{} ")
        XCTAssertEqual(invocations.map(\.name), ["a", "b", "c"])
        XCTAssertEqual(invocations[1].options.map(\.name), ["x", "y", "z"])
        XCTAssertEqual(invocations[1].options.map(\.text), ["1", "[1, 2]", "q } \" r"])
        XCTAssertEqual(invocations.map(\.column), [2, 6, 35])
        XCTAssertEqual(try PipelineParser.parseInvocations("  "), [])
    }

    func testOptionsOfEveryKind() throws {
        let r = try registry()
        let pass = try XCTUnwrap(try PipelineParser.parse("configurable{stages=5 reuse=false ratio=0.25 label=\"a b\" sizes=[3,4,5]}",
                                                          registry: r).first)
        XCTAssertEqual(pass.options.description, "stages=5 reuse=false ratio=0.25 label=\"a b\" sizes=[3,4,5]")
        XCTAssertEqual(pass.pipelineText, "configurable{stages=5 reuse=false ratio=0.25 label=\"a b\" sizes=[3,4,5]}")
        let defaults = try XCTUnwrap(try PipelineParser.parse("configurable", registry: r).first)
        XCTAssertEqual(defaults.options.description, "stages=3 reuse=true ratio=0.5 label=none sizes=[1,2]")
        XCTAssertEqual(try defaults.options.int("stages"), 3)
        XCTAssertEqual(try defaults.options.ints("sizes"), [1, 2])
        XCTAssertThrowsError(try defaults.options.bool("stages"))
        // The text of a configured pass parses back to the same options.
        let again = try XCTUnwrap(try PipelineParser.parse(pass.pipelineText, registry: r).first)
        XCTAssertEqual(again.options, pass.options)
    }

    func testErrorsListWhatIsValid() throws {
        let r = try registry()
        func message(_ text: String) -> String {
            do {
                _ = try PipelineParser.parse(text, registry: r)
                return "no error"
            } catch { return "\(error)" }
        }
        let unknown = message("configurable,fold-bn")
        XCTAssertTrue(unknown.contains("unknown pass 'fold-bn' at column 14; valid passes: "), unknown)
        XCTAssertTrue(unknown.contains("fold-batchnorm") && unknown.contains("configurable"), unknown)
        let option = message("configurable{stage=2}")
        XCTAssertTrue(option.contains("unknown option 'stage' of pass 'configurable' at column 14; valid options: stages (int, default 3), reuse (bool, default true)"), option)
        XCTAssertTrue(message("dce{x=1}").contains("it takes no options"))
        XCTAssertTrue(message("configurable{stages=two}").contains("takes int, got 'two'"))
        XCTAssertTrue(message("configurable{reuse=yes}").contains("takes bool, got 'yes'"))
        XCTAssertTrue(message("configurable{sizes=[1,x]}").contains("takes ints"))
        XCTAssertTrue(message("configurable{stages=1 stages=2}").contains("given twice"))
        XCTAssertTrue(message("configurable{stages=1").contains("missing '}'"))
        XCTAssertTrue(message("dce,,cse").contains("expected a pass name at column 5"))
        XCTAssertTrue(message("dce cse").contains("expected ',' between passes at column 5"))
        XCTAssertTrue(message("configurable{label=\"x}").contains("unterminated string"))
    }

    func testRegistryRejectsDuplicatesAndBadNames() throws {
        let r = try registry()
        XCTAssertThrowsError(try r.register(Configurable.self)) { XCTAssertTrue("\($0)".contains("already registered")) }
        struct BadName: Pass {
            static let name = "Bad_Name"
            static let summary = "x"
            init(options: PassOptions) throws {}
            func run(on graph: inout Graph) throws {}
        }
        XCTAssertThrowsError(try r.register(BadName.self)) { XCTAssertTrue("\($0)".contains("invalid pass name")) }
        XCTAssertNil(PassRegistry(builtins: false).descriptor(named: "dce"))
    }

    func testListingShowsEveryBuiltinWithSummaryAndOptions() {
        let listing = PassRegistry().listing()
        for name in ["canonicalize", "fold-constants", "eliminate-identity", "fold-batchnorm", "fold-channel-affine",
                     "fuse-activation", "flatten-patterns", "cse", "dce", "strip-softmax"] {
            XCTAssertTrue(listing.contains(name + "\n    "), name)
        }
        XCTAssertTrue(listing.contains("    --max-elements=<int>  (default 16777216)  do not create constants"), listing)
        XCTAssertTrue(listing.contains("Fuses Relu, LeakyRelu, Clip/Relu6 and HardSwish into the producing Conv"), listing)
    }

    func testManagerCountsChangesAndCallsTheHook() throws {
        var graph = try TextParser.parse(smallGraph)
        var manager = try PassManager(pipeline: "eliminate-identity,cse,dce", verifyEach: true)
        var printed: [String] = []
        manager.afterPass = { name, g in printed.append(name + ":" + String(g.nodes.count)) }
        let stats = try manager.run(&graph)
        XCTAssertEqual(printed, ["eliminate-identity:2", "cse:2", "dce:2"])
        XCTAssertEqual(stats.map(\.pass), ["eliminate-identity", "cse", "dce"])
        XCTAssertEqual(stats[0].nodesBefore, 3)
        XCTAssertEqual(stats[0].nodesAfter, 2)
        XCTAssertEqual(stats[0].changes, 2)  // replaceAllUses + removeNode
        XCTAssertEqual(stats[1].changes, 0)
        let table = PassStatistics.table(stats)
        XCTAssertTrue(table.hasPrefix("pass                changes   nodes  constants  time (ms)\n"), table)
        XCTAssertTrue(table.contains("\neliminate-identity        2  3 -> 2     0 -> 0  "), table)
    }

    func testVerifyEachNamesThePassThatBrokeTheGraph() throws {
        var graph = try TextParser.parse(smallGraph)
        let manager = try PassManager(pipeline: "dce,break-clip,cse", registry: try registry(), verifyEach: true)
        XCTAssertThrowsError(try manager.run(&graph)) { error in
            XCTAssertTrue("\(error)".contains("verifier failed after pass 'break-clip': node 'c': clip min 6.0 is greater than max 0.0"),
                          "\(error)")
        }
        // Without verification the broken graph goes through.
        var unchecked = try TextParser.parse(smallGraph)
        XCTAssertNoThrow(try PassManager(pipeline: "break-clip", registry: try registry()).run(&unchecked))
    }

    func testPatternDriverStopsARunawayPattern() throws {
        struct AlwaysFires: RewritePattern {
            let name = "always-fires"
            func matchAndRewrite(nodeAt index: Int, in graph: inout Graph) throws -> Bool {
                try graph.setOp(graph.nodes[index].op, ofNodeAt: index)
                return true
            }
        }
        var graph = try TextParser.parse(smallGraph)
        XCTAssertThrowsError(try applyPatternsGreedily([AlwaysFires()], to: &graph, maxSweeps: 3)) {
            XCTAssertTrue("\($0)".contains("always-fires did not reach a fixed point in 3 sweeps"), "\($0)")
        }
    }
}
