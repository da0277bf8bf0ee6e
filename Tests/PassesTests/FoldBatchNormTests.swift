// FoldBatchNormTests: fold-batchnorm into conv (with and without bias) and gemm, and when it must not.

import XCTest
import IR
import Passes

/// BatchNorm parameters with k = scale / sqrt(var + 1) = [2, 0.5], exact in binary.
private let bnConstants = """
      const %scale: f32[2] = dense<[4.0, 2.0]>
      const %shift: f32[2] = dense<[1.0, 0.0]>
      const %mean: f32[2] = dense<[0.5, 1.0]>
      const %var: f32[2] = dense<[3.0, 15.0]>
    """

final class FoldBatchNormTests: XCTestCase {
    func testFoldsIntoConvWithBias() throws {
        try assertPipeline("fold-batchnorm", """
            graph @g(%x: f32[N,1,2,2]) -> (%y) {
              const %w: f32[2,1,1,1] = dense<[1.0, 2.0]>
              const %b: f32[2] = dense<[0.5, -1.0]>
            \(bnConstants)
              %c = conv(%x, %w, %b) {kernel = [1, 1]}
              %n = batch_norm(%c, %scale, %shift, %mean, %var) {epsilon = 1.0}
              %y = relu(%n)
              return %y
            }
            """, """
            graph @g(%x: f32[N,1,2,2]) -> (%y) {
              const %w_bn: f32[2,1,1,1] = dense<[2.0, 1.0]>
              const %b_bn: f32[2] = dense<[1.0, -1.0]>
              %c = conv(%x, %w_bn, %b_bn) {kernel = [1, 1]}
              %y = relu(%c)
              return %y
            }
            """)
    }

    func testFoldsIntoConvWithoutBias() throws {
        try assertPipeline("fold-batchnorm", """
            graph @g(%x: f32[N,1,2,2]) -> (%y) {
              const %w: f32[2,1,1,1] = dense<[1.0, 2.0]>
            \(bnConstants)
              %c = conv(%x, %w) {kernel = [1, 1]}
              %n = batch_norm(%c, %scale, %shift, %mean, %var) {epsilon = 1.0}
              %y = relu(%n)
              return %y
            }
            """, """
            graph @g(%x: f32[N,1,2,2]) -> (%y) {
              const %w_bn: f32[2,1,1,1] = dense<[2.0, 1.0]>
              const %"c.bias_bn": f32[2] = dense<[0.0, -0.5]>
              %c = conv(%x, %w_bn, %"c.bias_bn") {kernel = [1, 1]}
              %y = relu(%c)
              return %y
            }
            """)
    }

    func testFoldsIntoGemmWithTransposedWeight() throws {
        try assertPipeline("fold-batchnorm", """
            graph @g(%x: f32[N,3]) -> (%y) {
              const %w: f32[2,3] = dense<[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]>
              const %b: f32[2] = dense<[1.0, 2.0]>
            \(bnConstants)
              %c = gemm(%x, %w, %b) {trans_b = true}
              %n = batch_norm(%c, %scale, %shift, %mean, %var) {epsilon = 1.0}
              %y = relu(%n)
              return %y
            }
            """, """
            graph @g(%x: f32[N,3]) -> (%y) {
              const %w_bn: f32[2,3] = dense<[2.0, 4.0, 6.0, 2.0, 2.5, 3.0]>
              const %b_bn: f32[2] = dense<[2.0, 0.5]>
              %c = gemm(%x, %w_bn, %b_bn) {trans_b = true}
              %y = relu(%c)
              return %y
            }
            """)
    }

    func testFoldsIntoGemmWithBetaAndPlainWeight() throws {
        try assertPipeline("fold-batchnorm", """
            graph @g(%x: f32[N,3]) -> (%y) {
              const %w: f32[3,2] = dense<[1.0, 4.0, 2.0, 5.0, 3.0, 6.0]>
              const %b: f32[2] = dense<[1.0, 2.0]>
            \(bnConstants)
              %c = gemm(%x, %w, %b) {beta = 2.0}
              %n = batch_norm(%c, %scale, %shift, %mean, %var) {epsilon = 1.0}
              %y = relu(%n)
              return %y
            }
            """, """
            graph @g(%x: f32[N,3]) -> (%y) {
              const %w_bn: f32[3,2] = dense<[2.0, 2.0, 4.0, 2.5, 6.0, 3.0]>
              const %b_bn: f32[2] = dense<[4.0, 1.5]>
              %c = gemm(%x, %w_bn, %b_bn)
              %y = relu(%c)
              return %y
            }
            """)
    }

    func testMustNotFire() throws {
        let prefix = """
            graph @g(%x: f32[N,1,2,2]) -> (%y) {
              const %w: f32[2,1,1,1] = dense<[1.0, 2.0]>
              const %elided: f32[2,1,1,1] = dense<elided>
            \(bnConstants)
            """
        // The conv result has another reader.
        try assertUnchanged("fold-batchnorm", prefix + """
              %c = conv(%x, %w) {kernel = [1, 1]}
              %n = batch_norm(%c, %scale, %shift, %mean, %var)
              %y = add(%n, %c)
              return %y
            }
            """)
        // The conv already has a fused activation: BN cannot move past it.
        try assertUnchanged("fold-batchnorm", prefix + """
              %c = conv(%x, %w) {kernel = [1, 1], activation = relu}
              %n = batch_norm(%c, %scale, %shift, %mean, %var)
              %y = relu(%n)
              return %y
            }
            """)
        // Weights without data.
        try assertUnchanged("fold-batchnorm", prefix + """
              %c = conv(%x, %elided) {kernel = [1, 1]}
              %n = batch_norm(%c, %scale, %shift, %mean, %var)
              %y = relu(%n)
              return %y
            }
            """)
        // The batch norm's result is a graph output.
        try assertUnchanged("fold-batchnorm", prefix + """
              %c = conv(%x, %w) {kernel = [1, 1]}
              %y = batch_norm(%c, %scale, %shift, %mean, %var)
              return %y
            }
            """)
        // Not after a conv or gemm.
        try assertUnchanged("fold-batchnorm", """
            graph @g(%x: f32[N,2,2,2]) -> (%y) {
            \(bnConstants)
              %r = relu(%x)
              %n = batch_norm(%r, %scale, %shift, %mean, %var)
              %y = relu(%n)
              return %y
            }
            """)
    }
}
