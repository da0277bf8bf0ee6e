// BatchNormInsertion: sets the BatchNormalizations `insert-batchnorm` added from training-data statistics, keeping the function.
import IR
import Passes

public enum BatchNormInsertion {
    /// Sets every BatchNormalization that `insert-batchnorm` inserted (constants
    /// `….inserted_bn.{scale,bias,mean,var}`) from the statistics of its input over the first
    /// `images` images of `data`: mean μ, variance σ² (population), scale √(σ²+ε), bias μ — so
    /// that in inference mode it still computes the identity, while training-mode batch statistics
    /// start close to the running ones. Works on the static or the staged graph (per piece, each
    /// piece's channels land in the full-width constants). The graph's function is unchanged up
    /// to float rounding.
    public static func initialize(_ graph: Graph, data: Dataset, preprocessing: Preprocessing, images: Int = 2000,
                                  batchSize: Int = 200) throws -> Graph {
        let net = try TrainableGraph(graph: graph)
        guard let input = graph.inputs.first?.name else { throw RuntimeError("the graph has no input") }
        // Each inserted BN node (or piece): its input value, epsilon, constant base name, first channel.
        var targets: [(value: String, epsilon: Float, base: String, start: Int)] = []
        func root(_ v: String) -> (String, Int)? {
            if graph.constants[v] != nil { return (v, 0) }
            guard let n = graph.nodes.first(where: { $0.outputs.first == v }), case .slice(let starts, _, let axes, _) = n.op,
                  axes == [0], graph.constants[n.inputs[0]] != nil else { return nil }
            return (n.inputs[0], starts[0])
        }
        for node in graph.nodes {
            guard case .batchNormalization(let eps) = node.op, let (mean, start) = root(node.inputs[3]),
                  mean.hasSuffix(InsertBatchNorm.suffix + ".mean") else { continue }
            targets.append((node.inputs[0], eps, String(mean.dropLast(".mean".count)), start))
        }
        guard !targets.isEmpty else { return graph }
        let subset = data.prefix(min(images, data.count))
        var sum: [String: [Double]] = [:], sumSq: [String: [Double]] = [:], count: [String: Double] = [:]
        var rng = TrainingRNG(seed: 0)
        for indices in subset.epochOrder(batchSize: batchSize, shuffle: false, dropLast: false, rng: &rng) {
            let batch = subset.batch(indices, preprocessing.evaluation, rng: &rng)
            let tape = try net.forward([input: batch.images], mode: .inference, rng: &rng)
            for t in targets {
                let v = try net.value(t.value, on: tape)
                let n = v.shape[0], c = v.shape[1], hw = v.count / max(1, n * c)
                let width = graph.constants[t.base + ".mean"]?.count ?? 0
                var s = sum[t.base] ?? Array(repeating: 0, count: width), q = sumSq[t.base] ?? Array(repeating: 0, count: width)
                for ch in 0..<c where t.start + ch < width {
                    for i in 0..<n { for p in 0..<hw { let x = Double(v.scalars[(i * c + ch) * hw + p]); s[t.start + ch] += x; q[t.start + ch] += x * x } }
                }
                sum[t.base] = s
                sumSq[t.base] = q
                if t.start == 0 { count[t.base, default: 0] += Double(n * hw) }
            }
        }
        var out = graph
        for t in targets where t.start == 0 {
            guard let s = sum[t.base], let q = sumSq[t.base], let k = count[t.base], k > 0 else { continue }
            let mean = s.map { $0 / k }
            let variance = zip(q, mean).map { max(0, $0 / k - $1 * $1) }
            let c = mean.count
            try out.replaceConstant(t.base + ".mean", with: Tensor(shape: [c], scalars: mean.map(Float.init)))
            try out.replaceConstant(t.base + ".var", with: Tensor(shape: [c], scalars: variance.map(Float.init)))
            try out.replaceConstant(t.base + ".scale", with: Tensor(shape: [c], scalars: variance.map { Float(($0 + Double(t.epsilon)).squareRoot()) }))
            try out.replaceConstant(t.base + ".bias", with: Tensor(shape: [c], scalars: mean.map(Float.init)))
        }
        return out
    }
}
