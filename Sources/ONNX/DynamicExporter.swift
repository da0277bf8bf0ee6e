// DynamicExporter: writes a staged graph as one ONNX model whose If chain leaves at the first confident exit.

import IR

/// The dynamic ONNX model of a staged graph (docs/STAGES.md), for onnxruntime at batch 1:
///
/// ```
/// stage 1 nodes; conf1 = ReduceMax(Softmax(Flatten(exit1)))
/// If(conf1 >= threshold_1)
///   then: exit1 → logits, exit_stage = [1], macs = [MACs of exit 1]
///   else: stage 2 nodes (reading stage 1's values from the outer scope); conf2 = …
///         If(conf2 >= threshold_2) then: exit 2 …  else: … the last stage, whose exit always answers
/// ```
///
/// - Only the branch taken runs, so a sample that leaves at exit s computes stages 1…s and nothing
///   more: the early exit is real. Every node of the graph is written by `GraphBuilder.emit`,
///   the static exporter's serialization, into the scope of its stage.
/// - Outputs: the graph output (the logits of the exit taken, under the graph output's name),
///   `exit_stage` (int64 [1], 1-based) and `macs` (int64 [1], the cumulative MACs of that exit,
///   counted by `CostModel.stageReport`, as `s2dc run` writes them).
/// - Each early exit's threshold is a graph input `threshold_<stage>` (float scalar) that is also
///   an initializer holding the stage table's value: omitted, it is the default; fed, it overrides.
///   A sample leaves at exit s when the exit's score (max softmax, or max for a `max` exit) is
///   ≥ the threshold, as `StagedInterpreter` decides.
/// - Batch 1 only: the one input's batch dimension is written as 1 (the If condition is one
///   sample's decision), so onnxruntime refuses another batch size with a shape error.
/// - Each constant is an initializer of the scope that first reads it (a branch sees the
///   initializers of the scopes around it): onnxruntime treats only a scope's own initializers
///   as constant weights when it optimizes that scope (its NCHWc layout for Conv, for one), so
///   weights read from an outer scope would leave a later stage's convolutions unoptimized.
extension GraphBuilder {
    /// The names of the extra outputs and of the threshold inputs.
    static let exitStageOutput = "exit_stage"
    static let macsOutput = "macs"
    static func thresholdInput(stage: Int) -> String { "threshold_\(stage)" }

    /// Where a scope's three answers go: the logits, the exit stage and the MACs.
    struct Answer {
        var logits: String
        var stage: String
        var macs: String
    }

    mutating func buildStaged(_ info: StageInfo) throws -> ProtoMessage {
        guard graph.inputs.count == 1, graph.outputs.count == 1 else {
            throw ONNXError(file: file, "a staged model must have one input and one output to export as dynamic ONNX, has \(graph.inputs.count) and \(graph.outputs.count)")
        }
        guard info.stageCount >= 1 else { throw ONNXError(file: file, "the stage table has no stages") }
        let input = graph.inputs[0], output = graph.outputs[0]
        if let first = input.type.dims.first, let b = first.value, b != 1 {
            throw ONNXError(file: file, "the dynamic ONNX model runs batch 1 (each If decides for one sample); the input '\(input.name)' has batch \(b)")
        }
        guard let outputType = graph.types[output] else { throw ONNXError(file: file, "graph output '\(output)' is not defined") }
        guard let last = info.exits.last, last.stage == info.stageCount, last.value == output else {
            throw ONNXError(file: file, "the staged graph's last exit must be the graph output '\(output)' at stage \(info.stageCount)")
        }
        let macs: [Int]
        do { macs = try CostModel.stageReport(graph).cumulativeMACs } catch {
            throw ONNXError(file: file, "cannot count the stages' MACs: \(error)")
        }
        let early = info.exits.filter { $0.stage < info.stageCount }
        for name in [Self.exitStageOutput, Self.macsOutput] + early.map({ Self.thresholdInput(stage: $0.stage) }) {
            guard used.insert(name).inserted else {
                throw ONNXError(file: file, "the graph has a value named '\(name)', which the dynamic ONNX model needs for an input or output; rename it")
            }
        }
        var pending = Set(graph.constantNames)
        for e in early {
            initializers.append(Self.floatTensor(Self.thresholdInput(stage: e.stage), shape: [], scalars: [e.threshold]))
        }

        // The top-level If answers under the graph output's name, so the value the last stage
        // computes under that name is renamed inside its branch (one definition per name).
        let lastValue = fresh(output + "_stage\(info.stageCount)")
        var perStage: [[Node]] = Array(repeating: [], count: info.stageCount)
        for var node in graph.nodes {
            let s = node.staging?.stage ?? 1
            guard s >= 1 && s <= info.stageCount else {
                throw ONNXError(file: file, node: "'\(node.name)' (\(node.op.name))", "its stage \(node.staging?.stage ?? 0) is outside 1…\(info.stageCount)")
            }
            if !early.isEmpty {
                node.inputs = node.inputs.map { $0 == output ? lastValue : $0 }
                node.outputs = node.outputs.map { $0 == output ? lastValue : $0 }
            }
            perStage[s - 1].append(node)
        }
        let finalValue = early.isEmpty ? output : lastValue
        let top = Answer(logits: output, stage: Self.exitStageOutput, macs: Self.macsOutput)
        let answerType = TensorType(shape: outputType.shape(batch: 1))
        try emitScope(from: 1, perStage: perStage, early: early, macs: macs, finalValue: finalValue, answerType: answerType,
                      constants: &pending, into: top)

        var g = ProtoMessage()
        for n in nodes { g.message(1, n) }
        g.string(2, graph.name.isEmpty ? "main" : graph.name)
        for t in initializers { g.message(5, t) }
        g.message(11, Self.valueInfo(input.name, TensorType(shape: input.type.shape(batch: 1))))
        for e in early { g.message(11, Self.valueInfo(Self.thresholdInput(stage: e.stage), TensorType(shape: []))) }
        for o in Self.answerInfos(top, answerType) { g.message(12, o) }
        return g
    }

    /// Appends to `nodes` the nodes of stages `from`… up to the next early exit, and that exit's
    /// If (whose else branch is the scope of the following stages), writing the answer to `answer`.
    /// `constants`: the graph's constants no scope holds yet; each goes into the scope of its
    /// first reader.
    mutating func emitScope(from stage: Int, perStage: [[Node]], early: [StageExit], macs: [Int], finalValue: String,
                            answerType: TensorType, constants: inout Set<String>, into answer: Answer) throws {
        let exit = early.first { $0.stage >= stage }
        let through = exit?.stage ?? perStage.count
        for s in stage...through {
            for node in perStage[s - 1] {
                for input in node.inputs where constants.remove(input) != nil { try addConstant(input) }
                try emit(node)
            }
        }
        guard let exit else {
            try answerWith(finalValue, stage: perStage.count, macs: macs[perStage.count - 1], into: answer)
            return
        }
        let confidence = try score(exit)
        let cond = fresh("exit\(exit.stage)_leaves")
        nodes.append(Self.node(cond, "GreaterOrEqual", [confidence, Self.thresholdInput(stage: exit.stage)], [cond], []))

        let saved = (nodes, initializers)
        (nodes, initializers) = ([], [])
        let thenAnswer = freshAnswer("exit\(exit.stage)")
        try answerWith(exit.value, stage: exit.stage, macs: macs[exit.stage - 1], into: thenAnswer)
        let thenBranch = branch("exit\(exit.stage)_then", thenAnswer, answerType)
        (nodes, initializers) = ([], [])
        let elseAnswer = freshAnswer("after_exit\(exit.stage)")
        try emitScope(from: exit.stage + 1, perStage: perStage, early: early, macs: macs, finalValue: finalValue,
                      answerType: answerType, constants: &constants, into: elseAnswer)
        let elseBranch = branch("exit\(exit.stage)_else", elseAnswer, answerType)
        (nodes, initializers) = saved
        nodes.append(Self.node(fresh("exit\(exit.stage)_if"), "If", [cond], [answer.logits, answer.stage, answer.macs],
                               [Self.graphAttribute("then_branch", thenBranch), Self.graphAttribute("else_branch", elseBranch)]))
    }

    /// The exit's confidence for one sample, as a float scalar: `StagedInterpreter.score`.
    mutating func score(_ exit: StageExit) throws -> String {
        guard let type = graph.types[exit.value] else { throw ONNXError(file: file, "exit value '\(exit.value)' is not defined") }
        var row = exit.value
        if type.rank != 2 {
            let flat = fresh("exit\(exit.stage)_flat")
            try emit(Node(name: flat, op: .flatten(axis: 1), inputs: [row], outputs: [flat]))
            row = flat
        }
        if exit.score == .softmax {
            let p = fresh("exit\(exit.stage)_softmax")
            try emit(Node(name: p, op: .softmax(axis: 1), inputs: [row], outputs: [p]))
            row = p
        }
        let confidence = fresh("exit\(exit.stage)_confidence")
        nodes.append(Self.node(confidence, "ReduceMax", [row], [confidence], [Self.int("keepdims", 0)]))
        return confidence
    }

    /// Nodes that answer with `value` (an Identity: a branch output must be produced inside it),
    /// and the constants `stage` and `macs`.
    mutating func answerWith(_ value: String, stage: Int, macs: Int, into answer: Answer) throws {
        if value != answer.logits {
            try emit(Node(name: answer.logits, op: .identity, inputs: [value], outputs: [answer.logits]))
        }
        nodes.append(Self.node(answer.stage, "Constant", [], [answer.stage], [Self.tensorAttribute("value", Self.int64Tensor(answer.stage, [stage]))]))
        nodes.append(Self.node(answer.macs, "Constant", [], [answer.macs], [Self.tensorAttribute("value", Self.int64Tensor(answer.macs, [macs]))]))
    }

    mutating func freshAnswer(_ base: String) -> Answer {
        Answer(logits: fresh(base + "_logits"), stage: fresh(base + "_exit_stage"), macs: fresh(base + "_macs"))
    }

    /// A branch graph of the nodes in `nodes` and the initializers in `initializers`, with
    /// `answer` as its outputs.
    func branch(_ name: String, _ answer: Answer, _ type: TensorType) -> ProtoMessage {
        var g = ProtoMessage()
        for n in nodes { g.message(1, n) }
        g.string(2, name)
        for t in initializers { g.message(5, t) }
        for o in Self.answerInfos(answer, type) { g.message(12, o) }
        return g
    }

    /// The value infos of an answer: the same types in every branch, as If requires.
    static func answerInfos(_ answer: Answer, _ type: TensorType) -> [ProtoMessage] {
        [valueInfo(answer.logits, type),
         valueInfo(answer.stage, TensorType(shape: [1]), elementType: DataType.int64),
         valueInfo(answer.macs, TensorType(shape: [1]), elementType: DataType.int64)]
    }
}
