// EpilogueTests: a fused activation on every op that takes one prints, parses, verifies and costs like a conv's.
import XCTest
@testable import IR

final class EpilogueTests: XCTestCase {
    private let text = """
        graph @g(%x: f32[N,4], %m: f32[4,4]) -> (%d) {
          const %w: f32[4,4] = dense<elided>
          const %s: f32[4] = dense<elided>
          const %v: f32[4] = dense<[1.0, 2.0, 3.0, 4.0]>
          %g = gemm(%x, %w) {alpha = 1.0, beta = 1.0, trans_a = false, trans_b = true, activation = relu}
          %n = batch_norm(%g, %s, %s, %s, %v) {epsilon = 1e-05, activation = clip(0.0, 6.0)}
          %a = matmul(%n, %m) {activation = hard_swish}
          %b = add(%a, %x) {activation = leaky_relu(0.1)}
          %c = sub(%b, %x) {activation = relu}
          %e = mul(%c, %x) {activation = relu}
          %d = div(%e, %v) {activation = clip(-inf, 1.0)}
          return %d
        }
        """

    func testEveryEpilogueOpRoundTripsThroughText() throws {
        let g = try TextParser.parse(text)
        XCTAssertEqual(g.nodes.map { $0.op.activation }, [.relu, .clip(min: 0, max: 6), .hardSwish, .leakyRelu(alpha: 0.1),
                                                          .relu, .relu, .clip(min: -.infinity, max: 1)])
        XCTAssertEqual(g.nodes.map(\.op.withoutActivation), [.gemm(GemmAttributes(transB: true)),
                                                              .batchNormalization(epsilon: 1e-5), .matMul, .add, .sub, .mul, .div])
        let printed = TextPrinter.print(g)
        XCTAssertEqual(TextPrinter.print(try TextParser.parse(printed)), printed)
        XCTAssertTrue(printed.contains("= add(%a, %x) {activation = leaky_relu(0.1)}"), printed)
        // Without an epilogue the ops print as before, with no attribute block.
        XCTAssertTrue(TextPrinter.print(try TextParser.parse(text.replacingOccurrences(of: " {activation = relu}", with: "")))
            .contains("= sub(%b, %x) name"))
    }

    func testOnlyEpilogueOpsTakeAnActivation() {
        XCTAssertNil(Op.softmax(axis: 1).withActivation(.relu))
        XCTAssertFalse(Op.relu.acceptsActivation)
        XCTAssertThrowsError(try TextParser.parse("""
            graph @g(%x: f32[1,4]) -> (%y) {
              %y = softmax(%x) {axis = 1, activation = relu}
              return %y
            }
            """))
    }

    func testVerifierChecksEveryEpilogueAndTheCostCountsIt() throws {
        var g = try TextParser.parse(text)
        XCTAssertEqual(Verifier.diagnostics(g).map(\.description), [])
        let plain = try CostModel.report(try TextParser.parse(text.replacingOccurrences(of: #" \{activation = [^}]*\}"#, with: "",
                                                                                      options: .regularExpression)
            .replacingOccurrences(of: ", activation = relu}", with: "}").replacingOccurrences(of: ", activation = clip(0.0, 6.0)}", with: "}")))
        let fused = try CostModel.report(g)
        XCTAssertEqual(fused.totals.macs, plain.totals.macs)
        XCTAssertEqual(fused.totals.otherOps, plain.totals.otherOps + 7 * 4)
        try g.setOp(.add(activation: .clip(min: 2, max: 1)), ofNodeAt: 3)
        let found = Verifier.diagnostics(g).map(\.description)
        XCTAssertTrue(found.contains { $0.contains("fused clip min 2.0 is greater than max 1.0") }, "\(found)")
    }
}
