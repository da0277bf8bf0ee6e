// InsertExits: puts an exit after chosen stages, running the classifier's tail on that stage's sums.

import IR

/// Adds an exit after every stage (default) or after the stages listed in `at`. Exit s runs the
/// classifier's weightless tail (e.g. Softmax, or SqueezeNet's Relu → GlobalAveragePool) on the
/// classifier sums over input groups ≤ s, which `split-stages` already accumulates per stage, so
/// an exit adds no MACs and nothing is recomputed. A sample leaves at the first exit whose score
/// (max softmax) is ≥ its threshold; the last exit always answers. `at=blocks` instead puts depth
/// exits with new heads after residual blocks (see `DepthExits`).
///
/// ```
/// // before (S = 2): the tail runs on the last sum only
/// %y: f32[N,10] = add(%z.s1, %z.part2) name = "fc.sum.s2" stage = 2
/// %p: f32[N,10] = softmax(%y) {axis = 1} name = "sm" stage = 2
/// exit 2 %p threshold = inf score = max
/// // after insert-exits{thresholds=[0.9]}
/// %p.exit1: f32[N,10] = softmax(%z.s1) {axis = 1} name = "sm.exit1" stage = 1
/// exit 1 %p.exit1 threshold = 0.9 score = max
/// exit 2 %p threshold = inf score = max
/// ```
public struct InsertExits: Pass {
    public static let name = "insert-exits"
    public static let summary = "Adds an exit (the classifier tail on the stage's sums, with a threshold) after every or chosen stages"
    public static let options: [PassOptionSpec] = [
        .string("at", default: "all", help: "'all', the stages to exit after, e.g. [1,3] (the last stage always has its exit), or 'blocks': depth exits after residual blocks on an unsplit graph"),
        .doubles("thresholds", default: [], help: "max-softmax threshold of each early exit in order (default: +inf, never leave early)"),
        .string("head", default: "classifier", help: "'classifier': width exits share the split classifier (at=blocks adds new global-pool + fully connected heads)"),
        .int("seed", default: 0, help: "at=blocks: seed of the new heads' initialization (uniform in ±1/sqrt(channels))"),
        .string("config", default: "", help: "configuration file (the config.json of s2dc search) whose \"thresholds\" the early exits take"),
    ]

    let at: String
    let thresholds: [Double]
    let config: String
    let seed: Int

    public init(options: PassOptions) throws {
        at = try options.string("at")
        thresholds = try options.doubles("thresholds")
        config = try options.string("config")
        guard config.isEmpty || thresholds.isEmpty else { throw PassError("give thresholds=[...] or config=FILE, not both") }
        let head = try options.string("head")
        guard head == "classifier" else {
            throw PassError("head '\(head)' is not available; only 'classifier' exits exist so far (depth exits with new heads are not implemented)")
        }
        seed = try options.int("seed")
    }

    public func run(on graph: inout Graph) throws {
        if at == "blocks" {
            var thresholds = self.thresholds
            if !config.isEmpty {
                guard let t = try ConfigurationFile.read(config).thresholds else { throw PassError("\(config): no \"thresholds\"") }
                thresholds = t
            }
            return try DepthExits(thresholds: thresholds, seed: UInt64(bitPattern: Int64(seed))).run(on: &graph)
        }
        guard var info = graph.stageInfo else { throw PassError("the graph has no stages; run split-stages first (or use at=blocks for depth exits)") }
        guard info.axis == .width else { throw PassError("the graph already has depth exits (at stages \(info.exits.map(\.stage)))") }
        guard info.exits.count == 1, let final = info.exits.last else {
            throw PassError("the graph already has early exits (at stages \(info.exits.map(\.stage)))")
        }
        let s = info.stageCount
        let stages = try exitStages(s)
        let early = stages.filter { $0 < s }
        var thresholds = self.thresholds
        if !config.isEmpty {
            guard let t = try ConfigurationFile.read(config).thresholds else { throw PassError("\(config): no \"thresholds\"") }
            guard t.count == early.count else {
                throw PassError("\(config): \(t.count) thresholds for \(early.count) early exits (at stages \(early))")
            }
            thresholds = t
        }
        guard thresholds.isEmpty || thresholds.count == early.count || thresholds.count == stages.count else {
            throw PassError("\(thresholds.count) thresholds for \(early.count) early exits (at stages \(early))")
        }
        let exits = try Self.widthExits(at: early, thresholds: thresholds.isEmpty ? [] : Array(thresholds.prefix(early.count)),
                                        in: &graph, info: info)
        var lastExit = final
        if thresholds.count == stages.count, let t = thresholds.last { lastExit.threshold = Float(t) }
        info.exits = exits + [lastExit]
        graph.setStageInfo(info)
    }

    /// Inserts width exits after stages `early` (each < S) of a width-staged graph: the classifier's
    /// tail copied onto each stage's classifier sums, at that stage. Returns those exits, with
    /// `thresholds` in order (+inf when empty); the stage table is not changed (depth exits on
    /// width stages, `CombinedExits`, call this too).
    static func widthExits(at early: [Int], thresholds: [Double], in graph: inout Graph, info: StageInfo) throws -> [StageExit] {
        let s = info.stageCount
        guard let final = info.exits.last else { throw PassError("the staged graph has no exit") }
        let last = info.classifierSums[s - 1]
        guard let lastProducer = graph.producer(of: last) else { throw PassError("the last classifier sum '\(last)' has no producer") }
        // The tail: nodes after the last sum that depend on it.
        var reach: Set<String> = [last]
        var tail: [Node] = []
        for node in graph.nodes[(lastProducer + 1)...] where node.inputs.contains(where: reach.contains) {
            tail.append(node)
            reach.formUnion(node.outputs)
        }
        var exits: [StageExit] = []
        for (i, e) in early.enumerated() {
            let sum = info.classifierSums[e - 1]
            guard var at = graph.producer(of: sum) else { throw PassError("classifier sum '\(sum)' has no producer") }
            var rename: [String: String] = [last: sum]
            for node in tail {
                var copy = node
                copy.name = "\(node.name).exit\(e)"
                copy.inputs = node.inputs.map { rename[$0] ?? $0 }
                copy.outputs = node.outputs.map { o in
                    let fresh = graph.freshName("\(o).exit\(e)")
                    rename[o] = fresh
                    return fresh
                }
                copy.staging = NodeStaging(stage: e)
                at += 1
                try graph.insertNode(copy, at: at)
            }
            let value = rename[final.value] ?? final.value
            let tau = thresholds.isEmpty ? Float.infinity : Float(thresholds[i])
            exits.append(StageExit(stage: e, value: value, threshold: tau, score: ExitScore.of(value, in: graph)))
        }
        return exits
    }

    /// The exit stages `at` names, increasing, always ending with S.
    func exitStages(_ s: Int) throws -> [Int] {
        if at == "all" { return Array(1...s) }
        let body = at.trimmed(of: "[]")
        var stages: [Int] = []
        for part in body.split(separator: ",") {
            let text = String(part).trimmed(of: " ")
            guard let v = Int(text), (1...s).contains(v) else {
                throw PassError("at: '\(text)' is not a stage in 1...\(s) (use 'all' or a list such as [1,3])")
            }
            stages.append(v)
        }
        guard zip(stages, stages.dropFirst()).allSatisfy({ $0 < $1 }) else { throw PassError("at: stages must increase, got \(at)") }
        if stages.last != s { stages.append(s) }
        return stages
    }
}

extension String {
    /// The text without the given characters at either end.
    fileprivate func trimmed(of set: String) -> String {
        let chars = Set(set)
        return String(drop { chars.contains($0) }.reversed().drop { chars.contains($0) }.reversed())
    }
}
