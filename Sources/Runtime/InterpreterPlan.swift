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
    var activation: Activation
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

    init(graph: Graph, fuse: Bool) throws {
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
        try buildSteps(graph, fuse: fuse)
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

    /// A new slot holding a constant made by folding; its name is for messages only and is never
    /// looked up, so it cannot collide with a graph value.
    private mutating func newConstant(_ name: String, _ t: Tensor) -> Int {
        slotNames.append(name)
        constants.append(t)
        return slotNames.count - 1
    }

    private mutating func buildSteps(_ graph: Graph, fuse: Bool) throws {
        let nodes = graph.nodes
        // Readers of each value, one entry per reading input (a node reading a value twice counts twice).
        var readers: [String: [Int]] = [:]
        for (i, node) in nodes.enumerated() { for input in node.inputs { readers[input, default: []].append(i) } }
        let outputs = Set(graph.outputs)
        func soleReader(_ value: String) -> Int? {
            guard !outputs.contains(value), let r = readers[value], r.count == 1 else { return nil }
            return r[0]
        }
        var fused = Set<Int>()
        for (i, node) in nodes.enumerated() where !fused.contains(i) {
            var step = Step(name: node.name, op: node.op, inputs: node.inputs.map { slot($0) },
                            outputs: node.outputs.map { slot($0) }, outputTypes: try node.outputs.map { try graph.type(of: $0) },
                            activation: .none)
            var last = node
            // A convolution that carries its own activation (the fuse-activation pass) applies it
            // after the bias; a BatchNormalization after it cannot be folded, nor another fused.
            var carriesActivation = false
            if case .conv(let a) = node.op, let fused = a.activation {
                step.activation = Activation(fused)
                carriesActivation = true
            }
            if fuse, !carriesActivation, case .conv = node.op, let j = soleReader(node.outputs[0]),
               case .batchNormalization(let eps) = nodes[j].op,
               nodes[j].inputs[0] == node.outputs[0], let folded = foldBatchNorm(conv: node, bn: nodes[j], epsilon: eps, graph) {
                step.inputs = [step.inputs[0], newConstant("\(node.name)+bn.weight", folded.weight),
                               newConstant("\(node.name)+bn.bias", folded.bias)]
                step.name += "+" + nodes[j].name
                fused.insert(j)
                last = nodes[j]
            }
            if fuse, !carriesActivation, acceptsActivation(node.op), let j = soleReader(last.outputs[0]),
               nodes[j].inputs == [last.outputs[0]],
               let act = Activation(nodes[j].op), act != .none {
                step.activation = act
                step.name += "+" + nodes[j].name
                fused.insert(j)
                last = nodes[j]
            }
            if last.name != node.name || last.outputs != node.outputs {
                step.outputs = last.outputs.map { slot($0) }
                step.outputTypes = try last.outputs.map { try graph.type(of: $0) }
            }
            steps.append(step)
        }
    }

    private func acceptsActivation(_ op: Op) -> Bool {
        switch op {
        case .conv, .gemm, .batchNormalization, .add, .sub, .mul, .div: return true
        default: return false
        }
    }

    /// Conv weights and bias with a following inference BatchNormalization folded in, when all
    /// of them are constants.
    private func foldBatchNorm(conv: Node, bn: Node, epsilon: Float, _ graph: Graph) -> (weight: Tensor, bias: Tensor)? {
        guard let w = graph.constants[conv.inputs[1]] else { return nil }
        let params = bn.inputs.dropFirst().compactMap { graph.constants[$0] }
        guard params.count == 4 else { return nil }
        var bias = Tensor(shape: [w.shape[0]], repeating: 0)
        if conv.inputs.count > 2 {
            guard let b = graph.constants[conv.inputs[2]] else { return nil }
            bias = b
        }
        let (a, t) = Kernels.batchNormCoefficients(scale: params[0], bias: params[1], mean: params[2],
                                                   variance: params[3], epsilon: epsilon)
        var weight = w
        let perChannel = w.count / max(1, w.shape[0])
        for o in 0..<w.shape[0] {
            for j in 0..<perChannel { weight.scalars[o * perChannel + j] *= a[o] }
            bias.scalars[o] = bias.scalars[o] * a[o] + t[o]
        }
        return (weight, bias)
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
