// StagedInterpreter: runs a staged graph stage by stage with real early exit per sample.
import Foundation
import IR

/// Executes a graph that `split-stages` / `insert-exits` produced (DESIGN: "Static to dynamic").
///
/// The graph is cut into one sub-graph per stage, each compiled by `Interpreter` (so every stage
/// gets the interpreter's fusions and layouts). A sub-graph's inputs are the graph inputs and the
/// earlier-stage values it reads; its outputs are its exit's value and what later stages read.
/// `run` executes stage 1 on the whole batch; after each exit the samples that leave are
/// answered and only the rows of the samples still running are kept and fed to the next stage, so
/// a batch's cost shrinks for real. Every sample's result is what it would get at batch 1.
public struct StagedInterpreter: Sendable {
    /// What a staged run produced for each sample.
    public struct Result: Sendable {
        /// The graph output (the logits of the exit each sample took), by the output's name.
        public var outputs: [String: Tensor]
        /// 1-based exit stage of each sample.
        public var exitStage: [Int]
        /// The MACs each sample cost: the cumulative MACs of its exit.
        public var macs: [Int]
    }

    struct Stage: Sendable {
        var interpreter: Interpreter
        var inputs: [String]
        var exit: StageExit?
    }

    public let graph: Graph
    public let info: StageInfo
    /// The cumulative MACs of each stage's exit (per sample), from the cost model.
    public let exitMACs: [Int]
    let stages: [Stage]

    /// Compiles each stage of `graph`, which must be staged and verify.
    public init(graph: Graph, options: Interpreter.Options = .init()) throws {
        do {
            try Verifier.verify(graph)
        } catch let error as IRError {
            throw RuntimeError("the graph does not verify: \(error.description)")
        }
        guard let info = graph.stageInfo, graph.outputs.count == 1 else {
            throw RuntimeError("the graph is not split into stages (run split-stages and insert-exits)")
        }
        self.graph = graph
        self.info = info
        exitMACs = try CostModel.stageReport(graph).cumulativeMACs
        var stageOf: [String: Int] = [:]
        for node in graph.nodes { for o in node.outputs { stageOf[o] = node.staging?.stage ?? 1 } }
        // Values each stage reads from earlier stages.
        var readLater = Set<String>()
        var stages: [Stage] = []
        var perStage: [[Node]] = Array(repeating: [], count: info.stageCount)
        for node in graph.nodes { perStage[(node.staging?.stage ?? 1) - 1].append(node) }
        for s in (1...info.stageCount).reversed() {
            let nodes = perStage[s - 1]
            let produced = Set(nodes.flatMap(\.outputs))
            let exit = info.exit(atStage: s)
            var sub = Graph(name: "\(graph.name).stage\(s)")
            var inputs: [String] = []
            var seen = Set<String>()
            for node in nodes {
                for input in node.inputs where !produced.contains(input) && seen.insert(input).inserted {
                    if let t = graph.constants[input] {
                        try sub.addConstant(input, t)
                    } else {
                        try sub.addInput(input, type: try graph.type(of: input))
                        inputs.append(input)
                    }
                }
            }
            for var node in nodes {
                node.staging = nil
                try sub.appendNode(node)
            }
            var outputs: [String] = []
            if let exit { outputs.append(exit.value) }
            for name in nodes.flatMap(\.outputs) where readLater.contains(name) && !outputs.contains(name) { outputs.append(name) }
            guard !outputs.isEmpty else {
                throw RuntimeError("stage \(s) computes nothing that an exit or a later stage reads")
            }
            try sub.setOutputs(outputs)
            readLater.formUnion(inputs.filter { stageOf[$0] != nil })
            stages.append(Stage(interpreter: try Interpreter(graph: sub, options: options), inputs: inputs, exit: exit))
        }
        self.stages = stages.reversed()
    }

    /// Runs every sample of a batch until its exit.
    ///
    /// - Parameters:
    ///   - thresholds: the early exits' thresholds, in order (nil: the stage table's).
    ///   - exitAt: every sample takes exit `exitAt` (a stage with an exit).
    public func run(_ inputs: [String: Tensor], thresholds: [Float]? = nil, exitAt: Int? = nil) throws -> Result {
        let early = info.exits.filter { $0.stage < info.stageCount }
        if let thresholds, thresholds.count != early.count {
            throw RuntimeError("\(thresholds.count) thresholds given; the model has \(early.count) early exits (at stages \(early.map(\.stage)))")
        }
        if let exitAt, info.exit(atStage: exitAt) == nil {
            throw RuntimeError("--exit-at \(exitAt): the model has exits at stages \(info.exits.map(\.stage))")
        }
        var tau: [Int: Float] = [:]
        for (i, e) in early.enumerated() { tau[e.stage] = thresholds?[i] ?? e.threshold }
        let output = graph.outputs[0]
        guard let batch = inputs.values.first?.shape.first else { throw RuntimeError("no input given") }
        for (name, t) in inputs where t.shape.first != batch {
            throw RuntimeError.input(name, "has batch \(t.shape.first ?? 0), another input has \(batch)")
        }
        var store = inputs
        var active = Array(0..<batch)
        var rows: [[Float]?] = Array(repeating: nil, count: batch)
        var rowShape: [Int] = []
        var exitStage = Array(repeating: 0, count: batch)
        var macs = Array(repeating: 0, count: batch)
        for (index, stage) in stages.enumerated() where !active.isEmpty {
            let s = index + 1
            var feed: [String: Tensor] = [:]
            for name in stage.inputs {
                guard let t = store[name] else { throw RuntimeError("stage \(s) needs '\(name)', which was not computed") }
                feed[name] = t
            }
            let results = try stage.interpreter.run(feed)
            store.merge(results) { _, new in new }
            guard let exit = stage.exit, let y = results[exit.value] else { continue }
            let n = active.count
            let width = n == 0 ? 0 : y.count / n
            rowShape = Array(y.shape.dropFirst())
            var keep: [Int] = []
            for (r, sample) in active.enumerated() {
                let row = Array(y.scalars[(r * width)..<((r + 1) * width)])
                let leaves: Bool
                if let exitAt { leaves = s == exitAt } else {
                    leaves = s == info.stageCount || Self.score(row, exit.score) >= (tau[s] ?? .infinity)
                }
                if leaves || s == info.stageCount {
                    rows[sample] = row
                    exitStage[sample] = s
                    macs[sample] = exitMACs[s - 1]
                } else {
                    keep.append(r)
                }
            }
            if keep.count < n {
                active = keep.map { active[$0] }
                for (name, t) in store { store[name] = Self.gather(t, rows: keep, of: n) }
            }
        }
        var scalars: [Float] = []
        scalars.reserveCapacity(batch * rowShape.elementCount)
        for r in rows { scalars += r ?? [] }
        return Result(outputs: [output: Tensor(shape: [batch] + rowShape, scalars: scalars)], exitStage: exitStage, macs: macs)
    }

    /// The confidence of one sample's exit output.
    public static func score(_ row: [Float], _ kind: ExitScore) -> Float {
        guard let m = row.max() else { return 0 }
        switch kind {
        case .max: return m
        case .softmax:
            var sum: Float = 0
            for v in row { sum += expf(v - m) }
            return 1 / sum
        }
    }

    /// The rows `keep` (of `n`) of a tensor whose leading dimension is the batch.
    public static func gather(_ t: Tensor, rows keep: [Int], of n: Int) -> Tensor {
        guard t.shape.first == n, n > 0 else { return t }
        let width = t.count / n
        var scalars: [Float] = []
        scalars.reserveCapacity(keep.count * width)
        for r in keep { scalars += t.scalars[(r * width)..<((r + 1) * width)] }
        return Tensor(shape: [keep.count] + t.shape.dropFirst(), scalars: scalars)
    }
}
