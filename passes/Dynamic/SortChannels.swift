// SortChannels: permutes channels by decreasing filter importance, so width prefixes keep the best.
//
// Before (criterion=l1: filter 1 of %w1 has the larger L1 norm):
//   const %w1: f32[2,1,1,1] = dense<[1.0, -3.0]>
//   const %b1: f32[2] = dense<[0.5, 0.25]>
//   const %w2: f32[1,2,1,1] = dense<[1.0, 2.0]>
//   %a = conv(%x, %w1, %b1) {kernel = [1, 1]}
//   %r = relu(%a)
//   %y = conv(%r, %w2) {kernel = [1, 1]}
// After (the same function):
//   const %w1: f32[2,1,1,1] = dense<[-3.0, 1.0]>
//   const %b1: f32[2] = dense<[0.25, 0.5]>
//   const %w2: f32[1,2,1,1] = dense<[2.0, 1.0]>
//   ...
//
// `split-stages` gives stage 1 the first channels of every class, and a stage never reads later
// groups, so the channels a class lists first are the ones the small exits keep and the ones
// whose inputs from later groups are dropped least. Once-for-all reorganizes channels by
// importance before elastic-width training for this reason. The channel-coupled sets and the
// importance (the summed norm of the filters producing a set, BatchNorm scale included once
// folded) are `prune-filters`' analysis; sets it could not prune (graph inputs and outputs, a
// Concat or grouped convolution along channels, ...) keep their order. Run it after
// `canonicalize` and before `split-stages`.

import IR

/// Permutes every prunable channel-coupled set into decreasing filter importance, leaving the
/// function unchanged (see the file comment). Registered as `sort-channels`.
public struct SortChannels: Pass {
    public static let name = "sort-channels"
    public static let summary = "Permutes channels by decreasing filter importance (same function), so that width prefixes keep the most important filters"
    public static let options: [PassOptionSpec] = [
        .string("criterion", default: "l1", help: "filter importance: l1 or l2 (the norm of the filter's weights)"),
    ]

    let criterion: PruningCriterion

    public init(options: PassOptions) throws {
        criterion = try PruningCriterion(option: options.string("criterion"))
    }

    public func run(on graph: inout Graph) throws {
        try FilterPruning(graph: graph, criterion: criterion, strict: false).sortByImportance(&graph)
    }
}
