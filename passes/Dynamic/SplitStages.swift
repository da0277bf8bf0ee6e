// SplitStages: splits every channel class into S contiguous groups and the graph into S stages.

import IR

/// Turns a static graph into S stages (S2DNAS; DESIGN: "Static to dynamic: exact semantics").
/// Stage s computes group s of every split value; a weighted layer's stage s reads input groups
/// ≤ s (reuse on, the default) or = s (off); the classifier is accumulated over the stages and the
/// graph output becomes the exit of the last stage. See `StageSplitter` for the IR it writes.
///
/// ```
/// // before (C = 4 channels, split-stages{fractions=[0.5]})
/// %c: f32[N,4,8,8] = conv(%x, %w) {…} name = "c"
/// %y: f32[N,10] = gemm(%f, %fc_w, %fc_b) {…} name = "fc"
/// // after
/// %w.s1: f32[2,1,3,3] = slice(%w) {starts = [0], ends = [2], axes = [0], steps = [1]} name = "c.w.s1" stage = 1 ranges = [[0, 0, 1, 0, 1, 1]]
/// %c.s1: f32[N,2,8,8] = conv(%x, %w.s1) {…} name = "c.s1" stage = 1
/// …
/// %y: f32[N,10] = add(%y.s1, %y.part2) name = "fc.sum.s2" stage = 2
/// stages 2 …
/// ```
public struct SplitStages: Pass {
    public static let name = "split-stages"
    public static let summary = "Splits channel classes into S groups and the graph into S stages that reuse earlier groups"
    public static let options: [PassOptionSpec] = [
        .int("stages", default: 0, help: "S, with evenly spaced fractions when `fractions` is not given"),
        .doubles("fractions", default: [], help: "f1..f(S-1) in (0,1), increasing: every class gets b_s = floor(f_s*C + 0.5)"),
        .bool("reuse", default: true, help: "stage s of a weighted layer reads input groups <= s (false: only group s)"),
        .string("config", default: "", help: "JSON file: {\"stages\": S, \"boundaries\": {class: [b1..bS]}, \"reuse\": {layer: bool}}, e.g. the config.json of s2dc search (its other keys are ignored)"),
    ]

    let stages: Int
    let fractions: [Double]
    let reuse: Bool
    let config: String

    public init(options: PassOptions) throws {
        stages = try options.int("stages")
        fractions = try options.doubles("fractions")
        reuse = try options.bool("reuse")
        config = try options.string("config")
        guard stages >= 0 else { throw PassError("stages must be >= 1, got \(stages)") }
    }

    public func run(on graph: inout Graph) throws {
        guard graph.stageInfo == nil else { throw PassError("the graph is already split into stages") }
        let analysis = try ChannelClassAnalysis(graph)
        let layers = Set(graph.nodes.enumerated().filter { i, n in
            i != analysis.classifier && ChannelClassAnalysis.weightOperand(n, graph) != nil
        }.map { $0.element.name })
        let choice = try PartitionChoice(classes: analysis.classes, layers: layers, stages: stages, fractions: fractions,
                                         reuse: reuse, config: config)
        var splitter = try StageSplitter(graph, analysis: analysis, choice: choice)
        graph = try splitter.build()
    }
}
