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

    /// The use lists follow every mutation: insertion in the middle, rerouting, op changes with new
    /// inputs, and removal, with a node that reads one value twice.
    func testUseListsFollowMutations() throws {
        var g = try smallGraph()
        XCTAssertEqual(g.producer(of: "add0"), 0)
        XCTAssertNil(g.producer(of: "x"))
        XCTAssertEqual(g.users(of: "x"), [0])
        try g.insertNode(Node(name: "r", op: .relu, inputs: ["x"], outputs: ["r"]), at: 0)
        XCTAssertEqual(g.producer(of: "r"), 0)
        XCTAssertEqual(g.producer(of: "add0"), 1)
        XCTAssertEqual(g.users(of: "x"), [0, 1])
        let m = try g.append(.mul, ["add0", "add0"], name: "m")
        XCTAssertEqual(g.users(of: "add0"), [2])
        XCTAssertEqual(g.useCount(of: "add0"), 2)
        try g.setOp(.add, ofNodeAt: 1, inputs: ["r", "c"])
        XCTAssertEqual(g.users(of: "x"), [0])
        XCTAssertEqual(g.users(of: "r"), [1])
        try g.replaceAllUses(of: "add0", with: "r")
        XCTAssertEqual(g.users(of: "add0"), [])
        XCTAssertEqual(g.useCount(of: "r"), 3)
        XCTAssertEqual(g.nodes[2].inputs, ["r", "r"])
        try g.setOutputs([m])
        try g.removeNode(at: 1)
        XCTAssertNil(g.producer(of: "add0"))
        XCTAssertEqual(g.producer(of: m), 1)
        XCTAssertEqual(g.users(of: "c"), [])
        try g.removeConstant("c")
        XCTAssertEqual(g.constantNames, [])
        XCTAssertEqual(Verifier.diagnostics(g).map(\.description), [])
    }
    /// Inside `withDeferredNodeRemoval` a removed node's outputs are gone at once while no index
    /// moves; the block's end compacts the tombstones, and the result equals removing one by one.
    func testDeferredRemovalKeepsIndicesThenCompacts() throws {
        func chain() throws -> Graph {
            var g = Graph(name: "g")
            try g.addInput("x", type: TensorType(dims: [.symbol("N"), .fixed(4)]))
            var v = "x"
            for i in 0..<4 { v = try g.append(.relu, [v], name: "r\(i)") }
            try g.setOutputs(["x"])
            return g
        }
        var oneByOne = try chain()
        for i in (0..<4).reversed() { try oneByOne.removeNode(at: i) }
        var deferred = try chain()
        try deferred.withDeferredNodeRemoval { g in
            try g.removeNode(at: 3)
            XCTAssertEqual(g.nodes.count, 4, "a tombstone keeps its slot")
            XCTAssertTrue(g.isRemoved(nodeAt: 3))
            XCTAssertFalse(g.isDefined("r3"))
            XCTAssertEqual(g.useCount(of: "r2"), 0)
            XCTAssertEqual(g.producer(of: "r2"), 2)
            XCTAssertThrowsError(try g.setName("again", ofNodeAt: 3), "a removed node cannot be edited")
            try g.insertNode(Node(name: "extra", op: .relu, inputs: ["x"], outputs: ["e"]), at: 0)
            XCTAssertEqual(g.producer(of: "r2"), 3, "positions after an insertion still move")
            XCTAssertTrue(g.isRemoved(nodeAt: 4))
            try g.removeNode(at: 0)
            for i in (1...3).reversed() { try g.removeNode(at: i) }
        }
        XCTAssertEqual(deferred.nodes.count, 0)
        XCTAssertFalse(deferred.isRemoved(nodeAt: 0))
        XCTAssertEqual(deferred, oneByOne)
        XCTAssertEqual(deferred.users(of: "x"), [])
    }

    /// The stage table's values are roots: a node making one cannot be removed, and replacing
    /// one renames the table's reference as it renames a graph output.
    func testStageTableValuesAreRoots() throws {
        var g = Graph(name: "g")
        try g.addInput("x", type: TensorType(dims: [.symbol("N"), .fixed(4)]))
        let e = try g.append(.relu, ["x"], name: "e")
        let f = try g.append(.sigmoid, ["x"], name: "f")
        let y = try g.append(.add, ["x", "x"], name: "y")
        try g.setOutputs([y])
        g.setStageInfo(StageInfo(stageCount: 2, classes: [], exits: [
            StageExit(stage: 1, value: e, threshold: 0.5, score: .softmax), StageExit(stage: 2, value: y, threshold: .infinity, score: .softmax),
        ], classifierSums: [e, y]))
        XCTAssertTrue(g.isRoot(e))
        XCTAssertFalse(g.isRoot(f))
        XCTAssertEqual(g.roots, [y, e, y, e, y])
        XCTAssertThrowsError(try g.removeNode(at: 0)) { error in
            XCTAssertEqual((error as? IRError)?.description,
                           "node 'e': output 'e' is named by the stage table (an exit or classifier sum)")
        }
        try g.replaceAllUses(of: e, with: f)
        XCTAssertEqual(g.stageInfo?.exits.map(\.value), [f, y])
        XCTAssertEqual(g.stageInfo?.classifierSums, [f, y])
        try g.removeNode(at: 0)
        XCTAssertFalse(g.isDefined(e))
    }
}
