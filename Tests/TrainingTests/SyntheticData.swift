// SyntheticData: a dataset the training tests need no download for.
import Runtime

/// `n` 1×28×28 images of a bright 10×10 square whose quadrant is the label (4 classes).
func syntheticQuadrants(_ n: Int) -> Dataset {
    var px = [UInt8](repeating: 0, count: n * 784)
    for i in 0..<n {
        let label = i % 4, oy = (label / 2) * 14, ox = (label % 2) * 14
        for y in 0..<10 { for x in 0..<10 { px[i * 784 + (oy + 2 + y) * 28 + ox + 2 + x] = UInt8(150 + (i * 7 + y * x) % 100) } }
    }
    return Dataset(pixels: .uint8(px), imageShape: [1, 28, 28], labels: (0..<n).map { $0 % 4 })
}
