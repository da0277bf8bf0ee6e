// CanonicalizeTests: the default pipeline on a PyTorch-style block, to a fixed point.

import XCTest
import IR
import Passes

final class CanonicalizeTests: XCTestCase {
    func testConvBlockAndHead() throws {
        try assertPipeline("canonicalize", """
            graph @g(%x: f32[N,1,2,2]) -> (%y) {
              const %w: f32[2,1,1,1] = dense<[1.0, 2.0]>
              const %b: f32[2] = dense<[0.5, -1.0]>
              const %scale: f32[2] = dense<[4.0, 2.0]>
              const %shift: f32[2] = dense<[1.0, 0.0]>
              const %mean: f32[2] = dense<[0.5, 1.0]>
              const %var: f32[2] = dense<[3.0, 15.0]>
              const %half: f32[] = dense<[0.5]>
              const %two: f32[] = dense<[2.0]>
              const %fcw: f32[3,2] = dense<[1.0, 0.0, 0.0, 1.0, 1.0, 1.0]>
              %k = mul(%half, %two)
              %c = conv(%x, %w, %b) {kernel = [1, 1]}
              %n = batch_norm(%c, %scale, %shift, %mean, %var) {epsilon = 1.0}
              %m = mul(%n, %k)
              %r = relu(%m)
              %d = dropout(%r) {ratio = 0.2}
              %p = global_average_pool(%d)
              %p2 = global_average_pool(%d)
              %f = reshape(%p) {shape = [0, -1]}
              %f2 = reshape(%p2) {shape = [0, -1]}
              %s = add(%f, %f2)
              %y = gemm(%s, %fcw) {trans_b = true}
              return %y
            }
            """, """
            graph @g(%x: f32[N,1,2,2]) -> (%y) {
              const %fcw: f32[3,2] = dense<[1.0, 0.0, 0.0, 1.0, 1.0, 1.0]>
              const %w_bn_scaled: f32[2,1,1,1] = dense<[2.0, 1.0]>
              const %b_bn_shifted: f32[2] = dense<[1.0, -1.0]>
              %c = conv(%x, %w_bn_scaled, %b_bn_shifted) {kernel = [1, 1], activation = relu}
              %p = global_average_pool(%c)
              %f = flatten(%p) {axis = 1}
              %s = add(%f, %f)
              %y = gemm(%s, %fcw) {trans_b = true}
              return %y
            }
            """)
    }

    func testAlreadyCanonicalGraphIsUnchanged() throws {
        try assertUnchanged("canonicalize", """
            graph @g(%x: f32[N,1,2,2]) -> (%y) {
              const %w: f32[2,1,1,1] = dense<[1.0, 2.0]>
              %c = conv(%x, %w) {kernel = [1, 1], activation = relu}
              %p = global_average_pool(%c)
              %y = flatten(%p) {axis = 1}
              return %y
            }
            """)
    }

    func testRejectsZeroIterations() {
        XCTAssertThrowsError(try PassManager(pipeline: "canonicalize{max-iterations=0}")) { error in
            XCTAssertTrue("\(error)".contains("max-iterations must be >= 1"), "\(error)")
        }
    }
}
