// FoldChannelAffineTests: fold-channel-affine for mul/add/sub/div by per-channel constants, and refusals.

import XCTest
import IR
import Passes

private func graph(_ constants: String, _ body: String, x: String = "f32[N,1,2,2]") -> String {
    """
    graph @g(%x: \(x)) -> (%y) {
      const %w: f32[2,1,1,1] = dense<[1.0, 2.0]>
      const %b: f32[2] = dense<[0.5, -1.0]>
    \(constants)
    \(body)
      return %y
    }
    """
}

final class FoldChannelAffineTests: XCTestCase {
    func testMulThenAddFoldToAFixedPoint() throws {
        try assertPipeline("fold-channel-affine", graph("""
              const %s: f32[2,1,1] = dense<[2.0, 3.0]>
              const %t: f32[1,2,1,1] = dense<[1.0, 1.0]>
            """, """
              %c = conv(%x, %w, %b) {kernel = [1, 1]}
              %m = mul(%c, %s)
              %a = add(%t, %m)
              %y = relu(%a)
            """), """
            graph @g(%x: f32[N,1,2,2]) -> (%y) {
              const %w_scaled: f32[2,1,1,1] = dense<[2.0, 6.0]>
              const %b_shifted_shifted: f32[2] = dense<[2.0, -2.0]>
              %c = conv(%x, %w_scaled, %b_shifted_shifted) {kernel = [1, 1]}
              %y = relu(%c)
              return %y
            }
            """)
    }

    func testSubDivAndScalars() throws {
        try assertPipeline("fold-channel-affine", graph("""
              const %d: f32[2,1,1] = dense<[2.0, 4.0]>
              const %one: f32[] = dense<[1.0]>
            """, """
              %c = conv(%x, %w, %b) {kernel = [1, 1]}
              %q = div(%c, %d)
              %s = sub(%q, %one)
              %y = relu(%s)
            """), """
            graph @g(%x: f32[N,1,2,2]) -> (%y) {
              const %w_scaled: f32[2,1,1,1] = dense<[0.5, 0.5]>
              const %b_shifted_shifted: f32[2] = dense<[-0.75, -1.25]>
              %c = conv(%x, %w_scaled, %b_shifted_shifted) {kernel = [1, 1]}
              %y = relu(%c)
              return %y
            }
            """)
    }

    func testResultThatIsAGraphOutputStays() throws {
        try assertUnchanged("fold-channel-affine", graph("  const %d: f32[2,1,1] = dense<[2.0, 4.0]>", """
              %c = conv(%x, %w, %b) {kernel = [1, 1]}
              %y = mul(%c, %d)
            """))
    }

    func testMustNotFire() throws {
        let conv = "  %c = conv(%x, %w, %b) {kernel = [1, 1]}"
        // [2] aligns with the last (width) axis, not the channels.
        try assertUnchanged("fold-channel-affine", graph("  const %s: f32[2] = dense<[2.0, 3.0]>", conv + """

              %m = mul(%c, %s)
              %y = relu(%m)
            """))
        // Varies over space.
        try assertUnchanged("fold-channel-affine", graph("  const %s: f32[1,2,2] = dense<[1.0, 2.0, 3.0, 4.0]>", conv + """

              %m = mul(%c, %s)
              %y = relu(%m)
            """))
        // constant − conv and constant / conv would negate or invert the conv.
        try assertUnchanged("fold-channel-affine", graph("  const %s: f32[2,1,1] = dense<[2.0, 3.0]>", conv + """

              %m = sub(%s, %c)
              %z = div(%s, %m)
              %y = relu(%z)
            """))
        // Division by zero.
        try assertUnchanged("fold-channel-affine", graph("  const %s: f32[2,1,1] = dense<[2.0, 0.0]>", conv + """

              %m = div(%c, %s)
              %y = relu(%m)
            """))
        // A fused activation comes first; another reader of the conv; a runtime operand.
        try assertUnchanged("fold-channel-affine", graph("  const %s: f32[2,1,1] = dense<[2.0, 3.0]>", """
              %c = conv(%x, %w, %b) {kernel = [1, 1], activation = relu}
              %m = mul(%c, %s)
              %c2 = conv(%x, %w, %b) {kernel = [1, 1]}
              %m2 = mul(%c2, %s)
              %u = add(%m2, %c2)
              %c3 = conv(%x, %w, %b) {kernel = [1, 1]}
              %v = mul(%c3, %x)
              %s1 = add(%m, %u)
              %y = add(%s1, %v)
            """))
    }
}
