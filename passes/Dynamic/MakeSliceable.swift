// MakeSliceable: checks that every class boundary may move (dense prefix slices) and marks the classes.

import IR

/// Marks every channel class of a staged graph `sliceable` (DS-Net's dense slicing): a supernet
/// may then move the class's boundaries per configuration, re-resolving the partition slices of
/// the shared full-width constants (`Repartition.apply`), with no mask at inference. Refuses,
/// naming the node, what cannot be sliced densely: a layer whose reuse flag is off (its stages
/// read block-diagonal weights, so the first s stages are not a prefix slice) and a slice of a
/// constant whose bounds are not stated by partition ranges (it would not follow a new partition).
///
/// ```
/// // before:  class "c1" channels = 4 boundaries = [2, 4] sliceable = false …
/// // after:   class "c1" channels = 4 boundaries = [2, 4] sliceable = true …
/// ```
public struct MakeSliceable: Pass {
    public static let name = "make-sliceable"
    public static let summary = "Marks channel classes whose boundaries a supernet may move (dense prefix slices); refuses what is not"

    public init(options: PassOptions) throws {}

    public func run(on graph: inout Graph) throws {
        var info = try graph.widthStageInfo(for: "make-sliceable")
        if let layer = info.reuseOff.first {
            throw PassError("layer '\(layer)' has reuse off: its stage s reads only input group s (block-diagonal weights), so the first s stages are not a dense prefix slice of its weight")
        }
        for node in graph.nodes {
            if case .slice = node.op, graph.constants[node.inputs[0]] != nil, node.staging?.ranges.isEmpty ?? true,
               graph.nodes.contains(where: { n in n.inputs.contains(node.outputs[0]) && ChannelClassAnalysis.weightOperand(n, graph) == nil && isWeighted(n) }) {
                throw PassError("node '\(node.name)': a slice of the constant '\(node.inputs[0])' feeding a weighted layer has no partition ranges, so it would not follow a new partition")
            }
        }
        for i in info.classes.indices { info.classes[i].sliceable = true }
        graph.setStageInfo(info)
    }

    private func isWeighted(_ node: Node) -> Bool {
        switch node.op {
        case .conv, .gemm, .matMul: return true
        default: return false
        }
    }
}
