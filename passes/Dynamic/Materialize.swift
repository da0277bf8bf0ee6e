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

import Foundation
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
        guard let info = graph.stageInfo else { throw PassError("materialize needs a staged supernet (split-stages, insert-exits)") }
        let c = try Self.read(config)
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
        // No dce: it keeps only what graph outputs read, and early exits are not graph outputs.
        try PassManager(pipeline: "fold-constants,fold-batchnorm").run(&g)
        graph = g
    }

    struct Config {
        var stages: Int?
        var boundaries: [String: [Int]] = [:]
        var reuse: [String: Bool] = [:]
        var thresholds: [Double]?
    }

    /// Reads the keys materialize uses; the others `s2dc search` writes (accuracy, bins, …) are ignored.
    static func read(_ path: String) throws -> Config {
        guard let data = FileManager.default.contents(atPath: path) else { throw PassError("\(path): cannot read the configuration file") }
        let json: Any
        do { json = try JSONSerialization.jsonObject(with: data) } catch {
            throw PassError("\(path): not valid JSON (\(error.localizedDescription))")
        }
        guard let top = json as? [String: Any] else { throw PassError("\(path): the configuration must be a JSON object") }
        var c = Config()
        if let s = top["stages"] {
            guard let n = s as? Int, n >= 1 else { throw PassError("\(path): \"stages\" must be an integer >= 1") }
            c.stages = n
        }
        guard let table = top["boundaries"] as? [String: Any] else {
            throw PassError("\(path): \"boundaries\" must map class names to lists of channel counts")
        }
        for (name, list) in table {
            guard let ints = list as? [Int] else { throw PassError("\(path): boundaries of class '\(name)' must be a list of integers") }
            c.boundaries[name] = ints
        }
        if let r = top["reuse"] {
            guard let flags = r as? [String: Bool] else { throw PassError("\(path): \"reuse\" must map layer names to true/false") }
            c.reuse = flags
        }
        if let t = top["thresholds"] {
            guard let list = (t as? [NSNumber])?.map(\.doubleValue), list.allSatisfy({ $0.isFinite }) else {
                throw PassError("\(path): \"thresholds\" must be a list of numbers")
            }
            c.thresholds = list
        }
        return c
    }
}
