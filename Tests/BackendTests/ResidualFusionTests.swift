// ResidualFusionTests: which conv + Add pairs the backend fuses into one kernel, and which it keeps apart.

import IR
import XCTest
@testable import Backend

final class ResidualFusionTests: XCTestCase {
    /// A conv, an Add of its output and a shortcut computed after it (as a downsampling conv is;
    /// here not a conv, which could take the residual itself), then relu; `extra` gives the conv's
    /// output a second reader.
    func graph(extra: Bool, convActivation: Bool = false) throws -> Graph {
        let act = convActivation ? " {kernel = [1, 1], activation = relu}" : " {kernel = [1, 1]}"
        return try TextParser.parse("""
            graph @g(%x: f32[1,2,3,3]) -> (%y\(extra ? ", %c" : "")) {
              const %w: f32[2,2,1,1] = dense<[1.0, 0.5, -0.5, 1.0]>
              const %b: f32[2] = dense<[0.25, -0.25]>
              %c: f32[1,2,3,3] = conv(%x, %w, %b)\(act) name = "conv"
              %d: f32[1,2,3,3] = max_pool(%x) {kernel = [1, 1]} name = "shortcut"
              %s: f32[1,2,3,3] = add(%c, %d) name = "add"
              %y: f32[1,2,3,3] = relu(%s) name = "relu"
              return %y\(extra ? ", %c" : "")
            }
            """)
    }

    func steps(_ g: Graph) throws -> [Step] {
        try Assembly(graph: g, lang: .c, options: EmitOptions(prefix: "m")).program.steps
    }

    func testConvAndAddBecomeOneStepAtTheAddsPlace() throws {
        let s = try steps(try graph(extra: false))
        XCTAssertEqual(s.map(\.name), ["shortcut", "conv+add+relu"])
        XCTAssertEqual(s[1].residual, 3)
        XCTAssertEqual(s[1].inputs.last, "d")
        XCTAssertEqual(s[1].outputs, ["y"])
        XCTAssertEqual(s[1].activation, .relu)
    }

    func testConvOutputWithAnotherReaderOrAnActivationStaysApart() throws {
        XCTAssertEqual(try steps(try graph(extra: true)).count, 3)
        XCTAssertEqual(try steps(try graph(extra: false, convActivation: true)).count, 3)
    }
}
