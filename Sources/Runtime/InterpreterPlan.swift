// InterpreterPlan: the graph compiled to numbered slots and steps, with fusions and value lifetimes.
import IR

/// One kernel call of a compiled graph: a node, or a node with the BatchNormalization and/or
/// activation after it folded in.
struct Step {
    /// The node name(s), joined with "+" when fused, for error messages and profiles.
    var name: String
    var op: Op
    var inputs: [Int]
    var outputs: [Int]
    var outputTypes: [TensorType]
    var activation: FusedActivation?
    /// Slots whose last reader is this step, released after it runs.
    var releases: [Int] = []
}

/// A graph compiled for the interpreter: values are numbered slots; constants (including those
/// made by folding) are preloaded; every step lists the slots it frees.
struct Plan {
    var slotNames: [String] = []
    var slotOf: [String: Int] = [:]
    var constants: [Tensor?] = []
    var steps: [Step] = []
    var inputSlots: [(name: String, type: TensorType, slot: Int)] = []
    var outputSlots: [(name: String, type: TensorType, slot: Int)] = []

    init(graph: Graph) throws {
        for input in graph.inputs {
            inputSlots.append((input.name, input.type, slot(input.name)))
        }
        for name in graph.constantNames {
            guard let t = graph.constants[name] else { continue }
            if t.isElided {
                throw RuntimeError("constant '\(name)' has no data (the graph was parsed from elided text); it cannot run")
            }
            let s = slot(name)
            constants[s] = t
        }
        for node in graph.nodes {
            steps.append(Step(name: node.name, op: node.op, inputs: node.inputs.map { slot($0) },
                              outputs: node.outputs.map { slot($0) }, outputTypes: try node.outputs.map { try graph.type(of: $0) }))
        }
        for name in graph.outputs {
            outputSlots.append((name, try graph.type(of: name), slot(name)))
        }
        computeLifetimes()
    }

    /// The slot of a value name, created on first use.
    mutating func slot(_ name: String) -> Int {
        if let s = slotOf[name] { return s }
        slotOf[name] = slotNames.count
        slotNames.append(name)
        constants.append(nil)
        return slotNames.count - 1
    }

    /// Marks each intermediate value for release after its last reader (or right after its
    /// producer when nothing reads it). Inputs and outputs of the graph and constants stay.
    private mutating func computeLifetimes() {
        var keep = Set(outputSlots.map(\.slot))
        keep.formUnion(inputSlots.map(\.slot))
        for (s, c) in constants.enumerated() where c != nil { keep.insert(s) }
        var lastUse: [Int: Int] = [:]
        for (i, step) in steps.enumerated() {
            for s in step.inputs { lastUse[s] = i }
            for s in step.outputs where lastUse[s] == nil { lastUse[s] = i }
        }
        for (s, i) in lastUse where !keep.contains(s) { steps[i].releases.append(s) }
    }
}
