// FuseActivationTests: fuse-activation for each activation kind, and where it must not fire.

import XCTest
import IR
import Passes

private func convThen(_ activation: String, extra: String = "", conv: String = "{kernel = [1, 1]}") -> String {
    """
    graph @g(%x: f32[N,1,2,2]) -> (%y) {
      const %w: f32[2,1,1,1] = dense<[1.0, 2.0]>
      %c = conv(%x, %w) \(conv)
      %a = \(activation)
    \(extra.isEmpty ? "  %y = sigmoid(%a)" : extra)
      return %y
    }
    """
}

final class FuseActivationTests: XCTestCase {
    func testFusesEachActivation() throws {
        let cases = [("relu(%c)", "relu"), ("clip(%c) {min = 0.0, max = 6.0}", "clip(0.0, 6.0)"),
                     ("leaky_relu(%c) {alpha = 0.1}", "leaky_relu(0.1)"), ("hard_swish(%c)", "hard_swish"),
                     ("clip(%c) {max = 1.0}", "clip(-inf, 1.0)")]
        for (op, fused) in cases {
            try assertPipeline("fuse-activation", convThen(op), """
                graph @g(%x: f32[N,1,2,2]) -> (%y) {
                  const %w: f32[2,1,1,1] = dense<[1.0, 2.0]>
                  %c = conv(%x, %w) {kernel = [1, 1], activation = \(fused)}
                  %y = sigmoid(%c)
                  return %y
                }
                """)
        }
    }

    func testOnlyTheFirstOfTwoActivationsFuses() throws {
        try assertPipeline("fuse-activation", convThen("relu(%c)", extra: "  %y = clip(%a) {min = 0.0, max = 6.0}"), """
            graph @g(%x: f32[N,1,2,2]) -> (%y) {
              const %w: f32[2,1,1,1] = dense<[1.0, 2.0]>
              %c = conv(%x, %w) {kernel = [1, 1], activation = relu}
              %y = clip(%c) {min = 0.0, max = 6.0}
              return %y
            }
            """)
    }

    func testMustNotFire() throws {
        // Not a fusable activation.
        try assertUnchanged("fuse-activation", convThen("sigmoid(%c)"))
        // The conv result has another reader.
        try assertUnchanged("fuse-activation", convThen("relu(%c)", extra: "  %y = add(%a, %c)"))
        // The conv already has an activation.
        try assertUnchanged("fuse-activation", convThen("relu(%c)", conv: "{kernel = [1, 1], activation = hard_swish}"))
        // The activation's result is a graph output.
        try assertUnchanged("fuse-activation", convThen("relu(%c)", extra: "  %y = relu(%a)")
            .replacingOccurrences(of: "%a = relu(%c)\n  %y = relu(%a)", with: "%y = relu(%c)"))
        // The producer is not a conv.
        try assertUnchanged("fuse-activation", """
            graph @g(%x: f32[N,3]) -> (%y) {
              const %w: f32[2,3] = dense<elided>
              %c = gemm(%x, %w) {trans_b = true}
              %a = relu(%c)
              %y = sigmoid(%a)
              return %y
            }
            """)
    }
}
