// FusedActivationTests: a conv's fused activation prints, parses, verifies and costs as specified.
import XCTest
@testable import IR

private let activations: [FusedActivation] = [.relu, .hardSwish, .leakyRelu(alpha: 0.125), .clip(min: 0, max: 6),
                                               .clip(min: -.infinity, max: 1.5)]

/// x[N,2,5,5] → conv(3×3, 4 channels, bias) with the given activation.
private func convGraph(_ activation: FusedActivation?) throws -> Graph {
    var g = Graph(name: "fused")
    try g.addInput("x", type: TensorType(dims: [.symbol("N"), .fixed(2), .fixed(5), .fixed(5)]))
    try g.addConstant("w", TextOpSamples.tensor([4, 2, 3, 3]))
    try g.addConstant("b", TextOpSamples.tensor([4], seed: 3))
    let y = try g.append(.conv(ConvAttributes(kernel: [3, 3], pads: [1, 1, 1, 1], activation: activation)),
                         ["x", "w", "b"], name: "conv")
    try g.setOutputs([y])
    return g
}

final class FusedActivationTests: XCTestCase {
    func testEveryActivationRoundTrips() throws {
        for activation in activations {
            let text = try assertRoundTrip(try convGraph(activation))
            XCTAssertTrue(text.contains(", activation = " + TextAttributes.activationText(activation) + "}"), text)
        }
    }

    func testActivationTextForms() {
        XCTAssertEqual(TextAttributes.activationText(.relu), "relu")
        XCTAssertEqual(TextAttributes.activationText(.hardSwish), "hard_swish")
        XCTAssertEqual(TextAttributes.activationText(.leakyRelu(alpha: 0.1)), "leaky_relu(0.1)")
        XCTAssertEqual(TextAttributes.activationText(.clip(min: 0, max: 6)), "clip(0.0, 6.0)")
    }

    func testUnfusedConvPrintsNoActivation() throws {
        let text = try assertRoundTrip(try convGraph(nil))
        XCTAssertFalse(text.contains("activation"), text)
    }

    func testHandWrittenActivationParses() throws {
        let g = try TextParser.parse("""
            graph @g(%x: f32[1,2,4,4]) -> (%y) {
              const %w: f32[2,2,1,1] = dense<elided>
              %y = conv(%x, %w) {kernel = [1, 1], activation = clip(0.0, 6.0)}
              return %y
            }
            """)
        guard case .conv(let a) = g.nodes[0].op else { return XCTFail("not a conv") }
        XCTAssertEqual(a.activation, .clip(min: 0, max: 6))
    }

    func testBadActivationTextIsRejected() {
        for bad in ["sigmoid", "clip(0.0)", "leaky_relu", "3"] {
            let text = """
                graph @g(%x: f32[1,2,4,4]) -> (%y) {
                  const %w: f32[2,2,1,1] = dense<elided>
                  %y = conv(%x, %w) {kernel = [1, 1], activation = \(bad)}
                  return %y
                }
                """
            XCTAssertThrowsError(try TextParser.parse(text), bad)
        }
    }

    func testStandaloneOpCorrespondence() {
        for activation in activations { XCTAssertEqual(FusedActivation(activation.op), activation) }
        XCTAssertNil(FusedActivation(.sigmoid))
        XCTAssertEqual(FusedActivation.hardSwish.apply(3), 3)
        XCTAssertEqual(FusedActivation.hardSwish.apply(-3), 0)
        XCTAssertEqual(FusedActivation.hardSwish.apply(1), 1 * (1.0 / 6 + 0.5))
        XCTAssertEqual(FusedActivation.leakyRelu(alpha: 0.5).apply(-2), -1)
        XCTAssertEqual(FusedActivation.clip(min: 0, max: 6).apply(7), 6)
    }

    func testCostCountsTheActivationAsOtherOps() throws {
        let plain = try CostModel.report(try convGraph(nil)).totals
        let fused = try CostModel.report(try convGraph(.relu)).totals
        XCTAssertEqual(plain.otherOps, 0)
        XCTAssertEqual(fused.macs, plain.macs)
        XCTAssertEqual(fused.otherOps, 4 * 5 * 5)
    }

    func testVerifierChecksActivationParameters() throws {
        XCTAssertNoThrow(try Verifier.verify(try convGraph(.clip(min: 0, max: 6))))
        let bad: [(FusedActivation, String)] = [(.clip(min: 6, max: 0), "greater than max"),
                                                (.clip(min: .nan, max: 1), "NaN"),
                                                (.leakyRelu(alpha: .infinity), "finite")]
        for (activation, fragment) in bad {
            let found = Verifier.diagnostics(try convGraph(activation)).map(\.description)
            XCTAssertTrue(found.contains { $0.contains(fragment) && $0.contains("conv") }, "\(found)")
        }
    }
}
