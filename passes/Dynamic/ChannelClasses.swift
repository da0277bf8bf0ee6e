// ChannelClasses: the analysis pass that reports each channel class with its channel count and members.

import IR

/// Reports the channel classes of a static graph (see `ChannelClassAnalysis`) under `--stats`;
/// the graph is unchanged. On a staged graph it reports the partition of each class.
///
/// ```
/// $ s2dc opt models/default.onnx --passes=canonicalize,channel-classes --stats
/// // channel-classes
/// class 0 '/conv1/Conv_output_0': 16 channels, 5 members: /conv1/Conv_output_0, /relu/Relu_output_0, ...
/// classifier: /fc/Gemm (tail: 0 nodes)
/// ```
public struct ChannelClasses: Pass {
    public static let name = "channel-classes"
    public static let summary = "Analysis: prints every channel class (channel count, member values) under --stats"

    public init(options: PassOptions) throws {}

    public func run(on graph: inout Graph) throws {
        if graph.stageInfo == nil { _ = try ChannelClassAnalysis(graph) }
    }

    public func report(after graph: Graph) -> String? {
        if let info = graph.stageInfo {
            return info.classes.enumerated().map { i, k in
                "class \(i) '\(k.name)': \(k.channels) channels, boundaries \(k.boundaries)\(k.bins.isEmpty ? "" : ", bins \(k.bins)")\(k.sliceable ? ", sliceable" : "")\n"
            }.joined()
        }
        guard let analysis = try? ChannelClassAnalysis(graph) else { return nil }
        var text = ""
        for (i, k) in analysis.classes.enumerated() {
            text += "class \(i) '\(k.name)': \(k.channels) channels, \(k.members.count) members: " + k.members.joined(separator: ", ") + "\n"
        }
        text += "classifier: \(graph.nodes[analysis.classifier].name) (tail: \(analysis.tail.count) nodes)\n"
        return text
    }
}
