// Materialize: a supernet and a chosen configuration become a fixed dynamic graph (only its boundaries, thresholds set).
//
// Before (a supernet; the slice of the shared weight is a partition range resolved per configuration):
//   const %w: f32[8,1,3,3] = dense<…>
//   %w.s1: f32[2,1,3,3] = slice(%w) {starts = [0], ends = [2], …} stage = 1 ranges = [[0, 0, 1, 0, 1, 1]]
//   %c.s1 = conv(%x, %w.s1) stage = 1
// After materialize{config=chosen.json} with boundaries {"c": [3, 6, 8]}, thresholds [0.9, 0.8]:
//   const %w.s1_folded: f32[3,1,3,3] = dense<…>          (the supernet's %w is gone)
//   %c.s1 = conv(%x, %w.s1_folded) stage = 1
//   exits: thresholds 0.9, 0.8
//
// Then fold-constants and fold-batchnorm run, so the result is what `s2dc run` and `s2dc emit`
// read. BatchNormalization statistics are folded as they are: recalibrate them for the
// configuration first (`s2dc search` recalibrates per candidate in Runtime; a pass cannot read data).

import IR

/// Fixes a supernet to one configuration (see the file comment).
public struct Materialize: Pass {
    public static let name = "materialize"
    public static let summary = "Fixes a supernet to a configuration file (boundaries, exit thresholds) and folds its slices and BatchNorms"
    public static let options: [PassOptionSpec] = [
        .string("config", default: "", help: "JSON file from `s2dc search`: {\"stages\", \"boundaries\": {class: [b1..bS]}, \"reuse\", \"thresholds\": [t1..t(S-1)]}"),
    ]

    let config: String

    public init(options: PassOptions) throws {
        config = try options.string("config")
        guard !config.isEmpty else { throw PassError("materialize needs config=FILE (the configuration s2dc search wrote)") }
    }

    public func run(on graph: inout Graph) throws {
        guard graph.stageInfo != nil else { throw PassError("materialize needs a staged supernet (split-stages, insert-exits)") }
        let info = try graph.widthStageInfo(for: "materialize")
        let c = try ConfigurationFile.read(config)
        guard !c.boundaries.isEmpty else {
            throw PassError("\(config): no \"boundaries\" (the boundaries of each class the search chose)")
        }
        if let s = c.stages, s != info.stageCount {
            throw PassError("\(config): \(s) stages; the supernet has \(info.stageCount)")
        }
        for (layer, on) in c.reuse.sorted(by: { $0.key < $1.key }) where on == info.reuseOff.contains(layer) {
            throw PassError("\(config): layer '\(layer)' has reuse \(on); the supernet was split with \(!on) (reuse is fixed by split-stages)")
        }
        var g: Graph
        do { g = try graph.repartitioned(boundaries: c.boundaries) } catch let e as IRError {
            throw PassError("\(config): \(e.description)")
        }
        if let t = c.thresholds {
            guard t.count == info.stageCount - 1 else {
                throw PassError("\(config): \(t.count) thresholds for \(info.stageCount - 1) early exits")
            }
            guard var staged = g.stageInfo else { throw PassError("the repartitioned graph lost its stages") }
            for (i, exit) in staged.exits.enumerated() where exit.stage < info.stageCount {
                staged.exits[i].threshold = Float(t[exit.stage - 1])
            }
            g.setStageInfo(staged)
        }
        // The folds remove the constants they leave unused (the full-width weights).
        try PassManager(pipeline: "fold-constants,fold-batchnorm").run(&g)
        graph = g
    }
}
