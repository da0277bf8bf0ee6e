// Batches: shuffled mini-batches with scaling, normalization, random crop with padding and flips.
import IR

/// How images become model inputs: uint8 pixels are scaled to [0, 1] (float32 ones are taken as
/// they are), then (x − mean) / std per channel. Augmentation applies to training batches only.
public struct Preprocessing: Sendable, Equatable {
    /// Per-channel mean and standard deviation (one value applies to every channel).
    public var mean: [Float]
    public var std: [Float]
    /// Random crop after zero padding by this many pixels on each side (0: off).
    public var cropPadding: Int
    /// Random horizontal flips with probability 1/2.
    public var horizontalFlip: Bool

    public init(mean: [Float] = [0], std: [Float] = [1], cropPadding: Int = 0, horizontalFlip: Bool = false) {
        self.mean = mean
        self.std = std
        self.cropPadding = cropPadding
        self.horizontalFlip = horizontalFlip
    }

    /// The same normalization without augmentation (for evaluation).
    public var evaluation: Preprocessing { Preprocessing(mean: mean, std: std) }
}

/// One mini-batch: inputs [n, C, H, W] and labels.
public struct Batch {
    public var images: Tensor
    public var labels: [Int]
}

extension Dataset {
    /// Builds the batch of the images at `indices`. Augmentation draws from `rng`.
    public func batch(_ indices: [Int], _ p: Preprocessing, rng: inout TrainingRNG) -> Batch {
        let c = imageShape[0], h = imageShape[1], w = imageShape[2], s = imageSize
        var out = [Float](repeating: 0, count: indices.count * s)
        for (bi, index) in indices.enumerated() {
            let pad = p.cropPadding
            let dy = pad > 0 ? rng.nextInt(below: 2 * pad + 1) - pad : 0
            let dx = pad > 0 ? rng.nextInt(below: 2 * pad + 1) - pad : 0
            let flip = p.horizontalFlip && rng.next() & 1 == 1
            for ch in 0..<c {
                let mean = p.mean[min(ch, p.mean.count - 1)], inv = 1 / p.std[min(ch, p.std.count - 1)]
                let src = index * s + ch * h * w, dst = bi * s + ch * h * w
                for y in 0..<h {
                    let sy = y + dy
                    for x in 0..<w {
                        let sx0 = x + dx
                        let sx = flip ? w - 1 - sx0 : sx0
                        // Padding is zero in pixel space (black), normalized like any pixel.
                        var v: Float = 0
                        if sy >= 0, sy < h, sx >= 0, sx < w {
                            switch pixels {
                            case .uint8(let px): v = Float(px[src + sy * w + sx]) * (1 / 255)
                            case .float32(let px): v = px[src + sy * w + sx]
                            }
                        }
                        out[dst + y * w + x] = (v - mean) * inv
                    }
                }
            }
        }
        return Batch(images: Tensor(shape: [indices.count] + imageShape, scalars: out), labels: indices.map { labels[$0] })
    }

    /// The batches of one epoch: a seeded shuffle (when `shuffle`) cut into `size`-image pieces
    /// (the last may be smaller; `dropLast` drops it, which keeps BatchNormalization statistics sound).
    public func epochOrder(batchSize size: Int, shuffle: Bool, dropLast: Bool, rng: inout TrainingRNG) -> [[Int]] {
        let order = shuffle ? rng.permutation(count) : Array(0..<count)
        var batches: [[Int]] = []
        var i = 0
        while i < order.count {
            let end = min(order.count, i + size)
            if dropLast && end - i < size && !batches.isEmpty { break }
            batches.append(Array(order[i..<end]))
            i = end
        }
        return batches
    }
}
