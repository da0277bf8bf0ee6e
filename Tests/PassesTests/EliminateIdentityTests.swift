// EliminateIdentityTests: eliminate-identity removes Identity and Dropout, never a graph output.

import XCTest
import IR
import Passes

final class EliminateIdentityTests: XCTestCase {
    func testRemovesDropoutAndIdentityChains() throws {
        try assertPipeline("eliminate-identity", """
            graph @g(%x: f32[N,3]) -> (%y) {
              %d = dropout(%x) {ratio = 0.5}
              %i = identity(%d)
              %y = relu(%i)
              return %y
            }
            """, """
            graph @g(%x: f32[N,3]) -> (%y) {
              %y = relu(%x)
              return %y
            }
            """)
    }

    func testRewiresEveryReader() throws {
        try assertPipeline("eliminate-identity", """
            graph @g(%x: f32[N,3]) -> (%y) {
              %r = relu(%x)
              %i = identity(%r)
              %s = sigmoid(%i)
              %y = add(%i, %s)
              return %y
            }
            """, """
            graph @g(%x: f32[N,3]) -> (%y) {
              %r = relu(%x)
              %s = sigmoid(%r)
              %y = add(%r, %s)
              return %y
            }
            """)
    }

    func testMustNotFire() throws {
        try assertUnchanged("eliminate-identity", """
            graph @g(%x: f32[N,3]) -> (%y) {
              %r = relu(%x)
              %y = identity(%r)
              return %y
            }
            """)
        try assertUnchanged("eliminate-identity", """
            graph @g(%x: f32[N,3]) -> (%y) {
              %y = sigmoid(%x)
              return %y
            }
            """)
    }
}
