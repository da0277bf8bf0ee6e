// CustomPassTests: the README's example pass, and a pass defined here, registered and run by name.

import XCTest
import IR
import Passes

/// A user pass defined outside the built-in list: rewrites leaky_relu with alpha 0 into relu.
struct LeakyZeroToRelu: Pass {
    static let name = "leaky-zero-to-relu"
    static let summary = "Rewrites leaky_relu with alpha 0 into relu (test-target pass)"
    static let options: [PassOptionSpec] = [.double("tolerance", default: 0, help: "largest |alpha| treated as 0")]

    let tolerance: Float

    init(options: PassOptions) throws { tolerance = Float(try options.double("tolerance")) }

    func run(on graph: inout Graph) throws {
        for i in graph.nodes.indices {
            if case .leakyRelu(let alpha) = graph.nodes[i].op, abs(alpha) <= tolerance {
                try graph.setOp(.relu, ofNodeAt: i)
            }
        }
    }
}

final class CustomPassTests: XCTestCase {
    func testExamplePassIsRegisteredAndRunsByName() throws {
        XCTAssertEqual(PassRegistry.shared.descriptor(named: "strip-softmax")?.origin, "built-in")
        let input = """
            graph @g(%x: f32[N,3]) -> (%y) {
              const %w: f32[2,3] = dense<elided>
              %l = gemm(%x, %w) {trans_b = true}
              %s = softmax(%l) {axis = 1}
              %y = softmax(%s) {axis = 1}
              return %y
            }
            """
        try assertPipeline("strip-softmax", input, """
            graph @g(%x: f32[N,3]) -> (%s) {
              const %w: f32[2,3] = dense<elided>
              %l = gemm(%x, %w) {trans_b = true}
              %s = softmax(%l) {axis = 1}
              return %s
            }
            """)
        try assertPipeline("strip-softmax{only-outputs=false}", input, """
            graph @g(%x: f32[N,3]) -> (%l) {
              const %w: f32[2,3] = dense<elided>
              %l = gemm(%x, %w) {trans_b = true}
              return %l
            }
            """)
        // A softmax of a graph input has nothing to fall back to.
        try assertUnchanged("strip-softmax", """
            graph @g(%x: f32[N,3]) -> (%y) {
              %y = softmax(%x) {axis = 1}
              return %y
            }
            """)
    }

    func testPassDefinedInTheTestTargetRunsThroughThePipelineAPI() throws {
        let registry = PassRegistry()
        XCTAssertThrowsError(try PassManager(pipeline: "leaky-zero-to-relu", registry: registry))
        try registry.register(LeakyZeroToRelu.self)
        XCTAssertEqual(registry.descriptor(named: "leaky-zero-to-relu")?.origin, "user")
        try assertPipeline("leaky-zero-to-relu{tolerance=0.001},dce", """
            graph @g(%x: f32[N,3]) -> (%y) {
              %a = leaky_relu(%x) {alpha = 0.0005}
              %b = leaky_relu(%a) {alpha = 0.1}
              %y = leaky_relu(%b) {alpha = 0.0}
              return %y
            }
            """, """
            graph @g(%x: f32[N,3]) -> (%y) {
              %a = relu(%x)
              %b = leaky_relu(%a) {alpha = 0.1}
              %y = relu(%b)
              return %y
            }
            """, registry: registry)
        XCTAssertTrue(registry.listing().contains("leaky-zero-to-relu\n    Rewrites leaky_relu with alpha 0 into relu (test-target pass) [user]"))
    }
}
