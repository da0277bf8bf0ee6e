// BatchNormRecalibration: recompute a configuration's BatchNormalization running statistics over N training images.
import IR

public enum BatchNormRecalibration {
    /// The running statistics of `config` (DS-Net/OFA's recalibration before evaluating a
    /// subnetwork): the configuration's graph runs forward in training mode (batch statistics)
    /// over the first `images` images of `data` (default 2000, no augmentation), and every
    /// BatchNormalization's mean and variance become the average over the batches of the batch
    /// mean and of the unbiased batch variance. The statistics of channels a configuration reads
    /// are replaced; the rest of each buffer is kept. Returns the supernet with the new buffers.
    public static func recalibrate(_ supernet: Graph, space: SupernetSpace, configuration: SupernetConfiguration, data: Dataset,
                                   preprocessing: Preprocessing, images: Int = 2000, batchSize: Int = 200) throws -> Graph {
        let g = try space.graph(supernet, configuration)
        guard let input = g.inputs.first?.name else { throw RuntimeError("the graph has no input") }
        let net = try TrainableGraph(graph: g)
        guard !net.bufferNames.isEmpty else { return supernet }
        let subset = data.prefix(min(images, data.count))
        guard subset.count > 0 else { throw RuntimeError("recalibration needs at least one training image") }
        var rng = TrainingRNG(seed: 0)  // unused: no augmentation or dropout draws matter here
        for (b, indices) in subset.epochOrder(batchSize: batchSize, shuffle: false, dropLast: false, rng: &rng).enumerated() {
            // running = m·running + (1 − m)·batch with m = b/(b+1) is the mean over batches 0…b.
            net.batchNormMomentum = Float(b) / Float(b + 1)
            let batch = subset.batch(indices, preprocessing.evaluation, rng: &rng)
            _ = try net.forward([input: batch.images], mode: .training, rng: &rng)
        }
        var out = supernet
        for name in net.bufferNames { if let t = net.buffers[name] { try out.replaceConstant(name, with: t) } }
        return out
    }
}
