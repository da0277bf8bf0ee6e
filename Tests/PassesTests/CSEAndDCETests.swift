// CSEAndDCETests: cse merges equal nodes and constants; dce removes what no output needs.

import XCTest
import IR
import Passes

final class CSETests: XCTestCase {
    func testMergesNodesAndConstants() throws {
        try assertPipeline("cse", """
            graph @g(%x: f32[N,2]) -> (%t) {
              const %a: f32[2] = dense<[1.0, 2.0]>
              const %b: f32[2] = dense<[1.0, 2.0]>
              %r1 = relu(%x)
              %r2 = relu(%x)
              %s = add(%r1, %r2)
              %m1 = mul(%s, %a)
              %m2 = mul(%s, %b)
              %t = sub(%m1, %m2)
              return %t
            }
            """, """
            graph @g(%x: f32[N,2]) -> (%t) {
              const %a: f32[2] = dense<[1.0, 2.0]>
              %r1 = relu(%x)
              %s = add(%r1, %r1)
              %m1 = mul(%s, %a)
              %t = sub(%m1, %m1)
              return %t
            }
            """)
    }

    func testMergesMultiOutputNodes() throws {
        try assertPipeline("cse", """
            graph @g(%x: f32[N,4]) -> (%y) {
              %a0, %a1 = split(%x) {axis = 1, sizes = [1, 3]}
              %b0, %b1 = split(%x) {axis = 1, sizes = [1, 3]}
              %c = concat(%a0, %b1, %a1, %b0) {axis = 1}
              %y = relu(%c)
              return %y
            }
            """, """
            graph @g(%x: f32[N,4]) -> (%y) {
              %a0, %a1 = split(%x) {axis = 1, sizes = [1, 3]}
              %c = concat(%a0, %a1, %a1, %a0) {axis = 1}
              %y = relu(%c)
              return %y
            }
            """)
    }

    func testMustNotMerge() throws {
        // Different attributes, different inputs, elided data, and a duplicate that is an output.
        try assertUnchanged("cse", """
            graph @g(%x: f32[N,2], %z: f32[N,2]) -> (%y, %r2) {
              const %e1: f32[2] = dense<elided>
              const %e2: f32[2] = dense<elided>
              const %c1: f32[2] = dense<[1.0, 2.0]>
              const %c2: f32[2] = dense<[1.0, -2.0]>
              %l1 = leaky_relu(%x) {alpha = 0.1}
              %l2 = leaky_relu(%x) {alpha = 0.2}
              %r1 = relu(%x)
              %r3 = relu(%z)
              %a = add(%l1, %l2)
              %b = add(%r1, %r3)
              %m = mul(%a, %e1)
              %n = mul(%b, %e2)
              %o = add(%m, %n)
              %p = mul(%o, %c1)
              %y = mul(%p, %c2)
              %r2 = relu(%x)
              return %y, %r2
            }
            """)
    }
}

final class DCETests: XCTestCase {
    func testRemovesDeadNodesAndConstants() throws {
        try assertPipeline("dce", """
            graph @g(%x: f32[N,2], %unused: f32[3]) -> (%y) {
              const %dead: f32[2] = dense<[1.0, 2.0]>
              const %live: f32[2] = dense<[3.0, 4.0]>
              %a = relu(%x)
              %d1 = mul(%a, %dead)
              %d2 = sigmoid(%d1)
              %y = add(%a, %live)
              return %y
            }
            """, """
            graph @g(%x: f32[N,2], %unused: f32[3]) -> (%y) {
              const %live: f32[2] = dense<[3.0, 4.0]>
              %a = relu(%x)
              %y = add(%a, %live)
              return %y
            }
            """)
    }

    func testKeepsWhatOutputsNeed() throws {
        try assertUnchanged("dce", """
            graph @g(%x: f32[N,4]) -> (%a, %y) {
              const %c: f32[4] = dense<elided>
              %s0, %s1 = split(%x) {axis = 1, sizes = [2, 2]}
              %a = add(%x, %c)
              %y = relu(%s0)
              return %a, %y
            }
            """)
    }
}
