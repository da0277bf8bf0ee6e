// FoldConstantsTests: fold-constants on IR text, including where it must leave nodes alone.

import XCTest
import IR
import Passes

final class FoldConstantsTests: XCTestCase {
    func testFoldsABinaryOpOfConstants() throws {
        try assertPipeline("fold-constants", """
            graph @g(%x: f32[N,2]) -> (%y) {
              const %a: f32[2] = dense<[1.0, 2.0]>
              const %k: f32[2] = dense<[3.0, 4.0]>
              %s = mul(%a, %k)
              %y = add(%x, %s)
              return %y
            }
            """, """
            graph @g(%x: f32[N,2]) -> (%y) {
              const %s_folded: f32[2] = dense<[3.0, 8.0]>
              %y = add(%x, %s_folded)
              return %y
            }
            """)
    }

    func testFoldsChainsToAFixedPoint() throws {
        try assertPipeline("fold-constants", """
            graph @g(%x: f32[N,6]) -> (%y) {
              const %c: f32[2,3] = dense<[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]>
              %t = transpose(%c) {perm = [1, 0]}
              %r = reshape(%t) {shape = [6]}
              %y = add(%x, %r)
              return %y
            }
            """, """
            graph @g(%x: f32[N,6]) -> (%y) {
              const %r_folded: f32[6] = dense<[1.0, 4.0, 2.0, 5.0, 3.0, 6.0]>
              %y = add(%x, %r_folded)
              return %y
            }
            """)
    }

    func testBroadcastingSliceConcatAndKeepsSharedConstants() throws {
        try assertPipeline("fold-constants", """
            graph @g(%x: f32[2,4], %x3: f32[2,3]) -> (%y, %z) {
              const %col: f32[2,1] = dense<[10.0, 20.0]>
              const %row: f32[3] = dense<[1.0, 2.0, 3.0]>
              %b = add(%col, %row)
              %s = slice(%b) {starts = [1], ends = [3], axes = [1]}
              %c = concat(%s, %s) {axis = 1}
              %y = sub(%x, %c)
              %z = mul(%x3, %row)
              return %y, %z
            }
            """, """
            graph @g(%x: f32[2,4], %x3: f32[2,3]) -> (%y, %z) {
              const %row: f32[3] = dense<[1.0, 2.0, 3.0]>
              const %c_folded: f32[2,4] = dense<[12.0, 13.0, 12.0, 13.0, 22.0, 23.0, 22.0, 23.0]>
              %y = sub(%x, %c_folded)
              %z = mul(%x3, %row)
              return %y, %z
            }
            """)
    }

    func testMustNotFire() throws {
        // Reads a runtime input.
        try assertUnchanged("fold-constants", """
            graph @g(%x: f32[N,2]) -> (%y) {
              const %a: f32[2] = dense<[1.0, 2.0]>
              %y = mul(%x, %a)
              return %y
            }
            """)
        // Elided data cannot be computed with.
        try assertUnchanged("fold-constants", """
            graph @g(%x: f32[N,2]) -> (%y) {
              const %a: f32[2] = dense<elided>
              %r = relu(%a)
              %y = mul(%x, %r)
              return %y
            }
            """)
        // The result is a graph output: its name would change.
        try assertUnchanged("fold-constants", """
            graph @g() -> (%y) {
              const %a: f32[2] = dense<[1.0, -2.0]>
              %y = relu(%a)
              return %y
            }
            """)
        // Above the size limit.
        try assertUnchanged("fold-constants{max-elements=1}", """
            graph @g(%x: f32[N,2]) -> (%y) {
              const %a: f32[2] = dense<[1.0, -2.0]>
              %r = relu(%a)
              %y = mul(%x, %r)
              return %y
            }
            """)
    }
}
