// BatchNormInsertion: sets the BatchNormalizations `insert-batchnorm` added from training-data statistics, keeping the function.
import IR
import Passes

public enum BatchNormInsertion {
    /// What turns a static model into the `staticGraph` of `initialize(_:fromStatic:…)`: the
    /// staging pipeline's steps up to the split (`convert` runs it before `split-stages`).
    public static let staticPipeline = "canonicalize,strip-softmax,insert-batchnorm"

    /// Sets every BatchNormalization that `insert-batchnorm` inserted (constants
    /// `….inserted_bn.{scale,bias,mean,var}`) from the statistics of its input over the first
    /// `images` images of `data`: mean μ, variance σ² (population), scale √(σ²+ε), bias μ — so
    /// that in inference mode it still computes the identity, while training-mode batch statistics
    /// start close to the running ones. Works on the static or the staged graph (per piece, each
    /// piece's channels land in the full-width constants). The graph's function is unchanged up
    /// to float rounding.
    /// Sets a staged graph's inserted BatchNormalizations from the statistics of the *static*
    /// network it was split from (`staticGraph`: the same model after `insert-batchnorm`, before
    /// `split-stages`; the constants share their names). In inference mode each is still the
    /// identity, so the staged function is unchanged; but training-mode batch statistics then
    /// renormalize every split activation to the static network's per-channel mean and spread,
    /// which is what the trained BatchNormalizations of an unfolded model do when its weights are
    /// masked (the PyTorch peer's setting), and what `recalibrate-bn` then measures. Setting them
    /// from the staged graph's own statistics instead would freeze the split's shifted activations
    /// (on the default model: 0.11 train accuracy after the first epoch instead of about 0.5).
    public static func initialize(_ staged: Graph, fromStatic staticGraph: Graph, data: Dataset, preprocessing: Preprocessing,
                                  images: Int = 2000, batchSize: Int = 200) throws -> Graph {
        let measured = try initialize(staticGraph, data: data, preprocessing: preprocessing, images: images, batchSize: batchSize)
        var out = staged
        for name in staged.constantNames where name.hasSuffix(InsertBatchNorm.suffix + ".mean") {
            let base = String(name.dropLast(".mean".count))
            for field in ["mean", "var", "scale", "bias"] {
                let key = base + "." + field
                guard let value = measured.constants[key], let old = staged.constants[key], value.shape == old.shape else {
                    throw RuntimeError("the static model has no inserted BatchNormalization constant '\(key)' of the staged model's shape: "
                                       + "give the model the staged one was split from, after the same passes up to insert-batchnorm")
                }
                try out.replaceConstant(key, with: value)
            }
        }
        // The statistics are per channel, so the static model must also order its channels as
        // the staged one does (a `sort-channels` before the split permutes them): every weight
        // both graphs hold must be the same.
        for name in staged.constantNames where !name.contains(InsertBatchNorm.suffix) {
            guard let mine = staged.constants[name], let theirs = staticGraph.constants[name], mine.shape == theirs.shape else { continue }
            guard mine == theirs else {
                throw RuntimeError("the static model's constant '\(name)' differs from the staged model's: give the model the staged one "
                                   + "was split from, after the same passes up to insert-batchnorm (sort-channels included, if it ran)")
            }
        }
        return out
    }

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
            guard case .batchNormalization(let eps, _) = node.op, let (mean, start) = root(node.inputs[3]),
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
