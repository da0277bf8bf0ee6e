// FlopsBins: CafeNet's FLOPs-sensitive candidate boundaries for every channel class.

import Foundation
import IR

/// Gives each class of a staged graph K candidate boundaries (`bins`, ending at C) so that each bin
/// adds an equal share of the MACs that depend on the class, instead of an equal share of its
/// channels (CafeNet). The MACs that depend on class k at width w: every full-width weighted layer
/// with output or input in k, at the width prefix where every class keeps the fraction w/C_k of
/// its channels (the whole image and the classifier's outputs stay whole), i.e. the cost of the
/// dense prefix subnetwork. A layer between two classes grows quadratically, so bins crowd
/// towards the wide end; one that reads the image grows linearly. Bin j is the smallest width whose
/// MACs reach j/K of the class's full-width MACs, forced strictly increasing (K > C gives every
/// channel). `--stats` prints them.
///
/// ```
/// // before: class "c1" channels = 16 … bins = []
/// // after flops-bins{bins=4}: class "c1" channels = 16 … bins = [8, 11, 14, 16]
/// ```
public struct FlopsBins: Pass {
    public static let name = "flops-bins"
    public static let summary = "Places K candidate boundaries per class so that each bin adds an equal share of its MACs (CafeNet)"
    public static let options: [PassOptionSpec] = [
        .int("bins", default: 8, help: "K, the number of candidate boundaries per class (the last is the class's width)"),
    ]

    let bins: Int

    public init(options: PassOptions) throws {
        bins = try options.int("bins")
        guard bins >= 1 else { throw PassError("bins must be >= 1, got \(bins)") }
    }

    /// One full-width weighted layer: MACs per (output, input) feature pair, its output class (nil:
    /// whole) and rows, and its input segments (class, scale) or whole columns.
    struct Layer {
        var perPair: Double
        var outClass: Int?
        var rows: Int
        var inputs: [(classIndex: Int?, features: Int, scale: Int)]
    }

    public func run(on graph: inout Graph) throws {
        var info = try graph.widthStageInfo(for: "flops-bins")
        let layers = try Self.layers(graph, info)
        for k in info.classes.indices {
            let c = info.classes[k].channels
            let total = Self.macs(layers, info, classIndex: k, width: c)
            var out: [Int] = []
            var w = 1
            for j in 1...min(bins, c) {
                let target = total * Double(j) / Double(min(bins, c))
                while w < c && Self.macs(layers, info, classIndex: k, width: w) < target * (1 - 1e-12) { w += 1 }
                let b = max(w, (out.last ?? 0) + 1)
                out.append(min(b, c - (min(bins, c) - j)))
            }
            out[out.count - 1] = c
            info.classes[k].bins = out
        }
        graph.setStageInfo(info)
    }

    public func report(after graph: Graph) -> String? {
        graph.stageInfo.map { info in
            info.classes.map { "class '\($0.name)' (\($0.channels) channels): bins \($0.bins)\n" }.joined()
        }
    }

    /// MACs of the layers that depend on class `k` at width `w` (others at the same fraction).
    static func macs(_ layers: [Layer], _ info: StageInfo, classIndex k: Int, width w: Int) -> Double {
        let f = Double(w) / Double(info.classes[k].channels)
        var total = 0.0
        for l in layers where l.outClass == k || l.inputs.contains(where: { $0.classIndex == k }) {
            let rows = l.outClass == nil ? Double(l.rows) : (l.outClass == k ? Double(w) : (f * Double(l.rows)).rounded())
            var cols = 0.0
            for i in l.inputs {
                guard let ci = i.classIndex else { cols += Double(i.features); continue }
                cols += ci == k ? Double(w * i.scale) : (f * Double(i.features) / Double(i.scale)).rounded() * Double(i.scale)
            }
            total += l.perPair * rows * cols
        }
        return total
    }

    /// The full-width weighted layers, from the stage-1 nodes whose weight is a partition slice
    /// (rows: its output class; columns: its input segments) or the classifier's stage-1 part.
    static func layers(_ graph: Graph, _ info: StageInfo) throws -> [Layer] {
        var seen = Set<String>()
        var result: [Layer] = []
        for node in graph.nodes where node.staging?.stage == 1 {
            let axes: (out: Int, in: Int)
            switch node.op {
            case .conv: axes = (0, 1)
            case .gemm(let a): axes = a.transB ? (0, 1) : (1, 0)
            case .matMul: axes = (1, 0)
            default: continue
            }
            guard node.inputs.count > 1 else { continue }
            // The weight: a slice of a constant, or a concat of slices of one constant.
            var slices: [Node] = []
            if let p = graph.producer(of: node.inputs[1]) {
                let n = graph.nodes[p]
                if case .slice = n.op { slices = [n] } else if case .concat = n.op {
                    slices = n.inputs.compactMap { graph.producer(of: $0).map { graph.nodes[$0] } }
                }
            }
            guard let first = slices.first, let w = graph.constants[first.inputs[0]], seen.insert(first.inputs[0]).inserted else { continue }
            let ranges = slices.flatMap { $0.staging?.ranges ?? [] }
            let outRange = ranges.first { $0.axis == axes.out }
            let inRanges = ranges.filter { $0.axis == axes.in }
            let cost = try CostModel.cost(of: node, in: graph).macs
            let stageRows = try graph.type(of: node.outputs[0]).dims[1].value ?? 1
            let stageCols = try graph.type(of: node.inputs[1]).dims[axes.in].value ?? 1
            let depthwise: Bool
            if case .conv(let a) = node.op, a.group > 1 || (w.shape.count > 1 && w.shape[1] == 1 && inRanges.isEmpty && graph.producer(of: node.inputs[0]) != nil) {
                depthwise = true
            } else {
                depthwise = false
            }
            let perPair = Double(cost) / Double(max(1, stageRows * (depthwise ? 1 : stageCols)))
            var inputs: [(classIndex: Int?, features: Int, scale: Int)] = []
            if depthwise {
                inputs = [(nil, 1, 1)]
            } else if inRanges.isEmpty {
                inputs = [(nil, w.shape[axes.in], 1)]
            } else {
                for r in inRanges { inputs.append((r.classIndex, info.classes[r.classIndex].channels * r.scale, r.scale)) }
            }
            result.append(Layer(perPair: perPair, outClass: outRange?.classIndex, rows: w.shape[axes.out], inputs: inputs))
        }
        return result
    }
}
