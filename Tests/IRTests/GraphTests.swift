// GraphTests: the graph's mutation API keeps single definition and order, and equality is structural.
@testable import IR
import XCTest

final class GraphTests: XCTestCase {
    private func smallGraph() throws -> Graph {
        var g = Graph(name: "g")
        try g.addInput("x", type: TensorType(dims: [.symbol("N"), .fixed(4)]))
        try g.addConstant("c", Tensor(shape: [4], scalars: [1, .nan, -0.0, 2]))
        let y = try g.append(.add, ["x", "c"], name: "add0")
        try g.setOutputs([y])
        return g
    }

    func testNodeListingAnOutputTwiceIsRejected() throws {
        var g = try smallGraph()
        let node = Node(name: "split0", op: .split(axis: 1, sizes: [2, 2]), inputs: ["x"], outputs: ["a", "a"])
        XCTAssertThrowsError(try g.appendNode(node)) { error in
            XCTAssertEqual((error as? IRError)?.description, "node 'split0': lists an output twice: [\"a\", \"a\"]")
        }
        XCTAssertFalse(g.isDefined("a"))
    }

    func testEqualityIgnoresHistoryAndComparesConstantsBitwise() throws {
        let a = try smallGraph()
        var b = try smallGraph()
        // Same content reached through more mutations.
        try b.setOutputs(["x"])
        try b.setOutputs(["add0"])
        XCTAssertNotEqual(a.changeCount, b.changeCount)
        XCTAssertEqual(a, b, "a NaN constant must equal its copy")
        try b.replaceConstant("c", with: Tensor(shape: [4], scalars: [1, .nan, 0.0, 2]))
        XCTAssertNotEqual(a, b, "-0 and +0 are different constants")
    }

    func testOutOfRangeNodeIndicesThrowInsteadOfTrapping() throws {
        var g = try smallGraph()
        XCTAssertThrowsError(try g.removeNode(at: 5))
        XCTAssertThrowsError(try g.setOp(.sub, ofNodeAt: -1))
        XCTAssertThrowsError(try g.insertNode(Node(name: "n", op: .relu, inputs: ["x"], outputs: ["r"]), at: 9))
    }

    func testRemovingAUsedNodeIsRefused() throws {
        var g = try smallGraph()
        XCTAssertThrowsError(try g.removeNode(at: 0)) { error in
            XCTAssertEqual((error as? IRError)?.description, "node 'add0': output 'add0' is still used")
        }
    }
}
