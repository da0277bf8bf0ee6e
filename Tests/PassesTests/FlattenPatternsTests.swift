// FlattenPatternsTests: flatten-patterns on PyTorch-style reshape/flatten idioms.

import XCTest
import IR
import Passes

final class FlattenPatternsTests: XCTestCase {
    func testViewAfterGlobalPoolBecomesFlatten() throws {
        try assertPipeline("flatten-patterns", """
            graph @g(%x: f32[N,4,3,3]) -> (%y) {
              const %w: f32[2,4] = dense<elided>
              %p = global_average_pool(%x)
              %r = reshape(%p) {shape = [0, -1]}
              %y = gemm(%r, %w) {trans_b = true}
              return %y
            }
            """, """
            graph @g(%x: f32[N,4,3,3]) -> (%y) {
              const %w: f32[2,4] = dense<elided>
              %p = global_average_pool(%x)
              %r = flatten(%p) {axis = 1}
              %y = gemm(%r, %w) {trans_b = true}
              return %y
            }
            """)
    }

    func testFixedBatchReshapeBecomesFlatten() throws {
        try assertPipeline("flatten-patterns", """
            graph @g(%x: f32[1,4,1,1]) -> (%y) {
              %y = reshape(%x) {shape = [1, 4]}
              return %y
            }
            """, """
            graph @g(%x: f32[1,4,1,1]) -> (%y) {
              %y = flatten(%x) {axis = 1}
              return %y
            }
            """)
    }

    func testChainsCollapseAndNoOpsDisappear() throws {
        try assertPipeline("flatten-patterns", """
            graph @g(%x: f32[N,2,3,4]) -> (%y) {
              %r = reshape(%x) {shape = [0, 6, 4]}
              %f = flatten(%r) {axis = 1}
              %g = flatten(%f) {axis = 1}
              %y = relu(%g)
              return %y
            }
            """, """
            graph @g(%x: f32[N,2,3,4]) -> (%y) {
              %f = flatten(%x) {axis = 1}
              %y = relu(%f)
              return %y
            }
            """)
    }

    func testMustNotFire() throws {
        // Not 2-D.
        try assertUnchanged("flatten-patterns", """
            graph @g(%x: f32[N,2,3,4]) -> (%y) {
              %y = reshape(%x) {shape = [0, 6, 4]}
              return %y
            }
            """)
        // Regroups the batch: no flatten axis gives [2, 6].
        try assertUnchanged("flatten-patterns", """
            graph @g(%x: f32[4,3]) -> (%y) {
              %r = reshape(%x) {shape = [2, -1]}
              %y = relu(%r)
              return %y
            }
            """)
        // The inner reshape has another reader, and the outer one is a real change.
        try assertUnchanged("flatten-patterns", """
            graph @g(%x: f32[2,2,3,4]) -> (%y, %z) {
              %r = reshape(%x) {shape = [0, 6, 4]}
              %y = flatten(%r) {axis = 2}
              %z = relu(%r)
              return %y, %z
            }
            """)
    }
}
