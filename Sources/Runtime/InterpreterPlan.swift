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
    /// A residual block's Add (with its fused activation) folded into this convolution: the
    /// step's last input is the Add's other operand, and its outputs are the Add's.
    var residualAdd: Op? = nil
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

    /// `fuseResidualAdds`: fold each Add that alone reads a convolution's output into that
    /// convolution (see `foldResidualAdds`).
    init(graph: Graph, fuseResidualAdds: Bool = false) throws {
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
        if fuseResidualAdds { foldResidualAdds() }
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

    /// Folds `y = Add(Conv(x), r)` (or `Add(r, Conv(x))`), with the Add's activation, into the
    /// convolution's step when the Add is the convolution's only reader, its output has the
    /// convolution's type (no broadcast), and `r` is ready before the convolution runs: a graph
    /// input, a constant, or the output of an earlier step. The kernels then add `r` while the
    /// convolution's outputs are in registers (SameConv), or run the Add right after.
    private mutating func foldResidualAdds() {
        var producer: [Int: Int] = [:]
        var readers: [Int: [Int]] = [:]
        for (i, step) in steps.enumerated() {
            for s in step.outputs { producer[s] = i }
            for s in step.inputs { readers[s, default: []].append(i) }
        }
        let graphOutputs = Set(outputSlots.map(\.slot))
        var removed = Set<Int>()
        for i in steps.indices {
            guard case .conv(let a) = steps[i].op, a.activation == nil, steps[i].residualAdd == nil,
                  steps[i].outputs.count == 1 else { continue }
            let s = steps[i].outputs[0]
            guard !graphOutputs.contains(s), let users = readers[s], users.count == 1, let j = users.first, j > i,
                  case .add = steps[j].op, steps[j].inputs.count == 2,
                  steps[j].outputTypes == steps[i].outputTypes else { continue }
            let others = steps[j].inputs.filter { $0 != s }
            guard others.count == 1, let r = others.first else { continue }
            if let p = producer[r], p >= i { continue }
            steps[i].name += "+" + steps[j].name
            steps[i].inputs.append(r)
            steps[i].outputs = steps[j].outputs
            steps[i].residualAdd = steps[j].op
            for o in steps[j].outputs { producer[o] = i }
            removed.insert(j)
        }
        steps = steps.enumerated().filter { !removed.contains($0.offset) }.map(\.element)
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
