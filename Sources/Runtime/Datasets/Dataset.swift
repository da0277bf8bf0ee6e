// Dataset: labelled images in memory (uint8 or float32, NCHW), loaded by name, from IDX or NPZ.
import Foundation
import IR

/// A labelled image dataset held in memory as NCHW. Pixels are kept as given (uint8 0–255 or
/// float32); `Batches` scales and normalizes them when it builds a batch.
public struct Dataset: Sendable {
    /// Image pixels, NCHW.
    public enum Pixels: Sendable {
        case uint8([UInt8])
        case float32([Float])
    }

    public var pixels: Pixels
    /// [C, H, W] of one image.
    public var imageShape: [Int]
    public var labels: [Int]

    public init(pixels: Pixels, imageShape: [Int], labels: [Int]) {
        self.pixels = pixels
        self.imageShape = imageShape
        self.labels = labels
    }

    public var count: Int { labels.count }
    public var imageSize: Int { imageShape.elementCount }
    /// The number of classes: the largest label + 1.
    public var classCount: Int { (labels.max() ?? -1) + 1 }

    /// The images at `indices`, in that order.
    public func subset(_ indices: [Int]) -> Dataset {
        let s = imageSize
        let px: Pixels
        switch pixels {
        case .uint8(let v): px = .uint8(indices.flatMap { v[($0 * s)..<($0 * s + s)] })
        case .float32(let v): px = .float32(indices.flatMap { v[($0 * s)..<($0 * s + s)] })
        }
        return Dataset(pixels: px, imageShape: imageShape, labels: indices.map { labels[$0] })
    }

    /// The first `n` images (all when n ≥ count).
    public func prefix(_ n: Int) -> Dataset { n >= count ? self : subset(Array(0..<n)) }

    /// A seeded random split: `fraction` of the images (rounded) go to the second part.
    public func split(validationFraction fraction: Double, seed: UInt64) -> (train: Dataset, validation: Dataset) {
        var rng = TrainingRNG(seed: seed ^ 0x5EED_5A11)
        let order = rng.permutation(count)
        let nv = Int((Double(count) * fraction).rounded())
        return (subset(Array(order[nv...]).sorted()), subset(Array(order[..<nv]).sorted()))
    }

    /// Throws unless images of this dataset fit a model input of `type` ([N, C, H, W]) and the
    /// labels fit `classes` outputs.
    public func check(fits type: TensorType, classes: Int?) throws {
        let expected = Array(type.dims.dropFirst().map { $0.value ?? -1 })
        guard expected == imageShape else {
            throw RuntimeError("the dataset's images are \(imageShape) (C×H×W) but the model's input is \(type)")
        }
        if let classes, classCount > classes {
            throw RuntimeError("the dataset has labels up to \(classCount - 1) but the model has \(classes) outputs")
        }
    }
}

/// A train and a test split.
public struct DatasetSplits: Sendable {
    public var train: Dataset
    public var test: Dataset
    /// Where the data came from, for messages.
    public var source: String
    /// True for data that comes as one set (an NPZ with only `x`, `y`): `train` holds it, `test`
    /// is empty, and evaluation reads `train`.
    public var unsplit = false

    /// The split an evaluation reads: the test split, or the only one of unsplit data.
    public var evaluation: Dataset { unsplit ? train : test }
}

extension Dataset {
    /// Loads `spec`: the name `fashion-mnist` or `mnist` (IDX files in `S2DC_DATA_DIR` or
    /// /usr/share/datasets/NAME), a directory of IDX files, or an `.npz` with `x_train`,
    /// `y_train`, `x_test`, `y_test` (or `x`, `y`: then the test split is empty).
    public static func load(_ spec: String) throws -> DatasetSplits {
        let fm = FileManager.default
        var isDir: ObjCBool = false
        if spec.hasSuffix(".npz") { return try loadNPZ(spec) }
        if fm.fileExists(atPath: spec, isDirectory: &isDir), isDir.boolValue { return try loadIDXDirectory(spec) }
        let known = ["fashion-mnist", "mnist"]
        guard known.contains(spec) else {
            throw RuntimeError("unknown dataset '\(spec)': give fashion-mnist, mnist, a directory of IDX files, or an .npz file")
        }
        let root = ProcessInfo.processInfo.environment["S2DC_DATA_DIR"] ?? "/usr/share/datasets"
        let dir = root + "/" + spec
        guard fm.fileExists(atPath: dir) else {
            let hint = spec == "fashion-mnist" ? " (install the Debian package dataset-fashion-mnist)" : ""
            throw RuntimeError("dataset '\(spec)' not found in \(dir)\(hint); set S2DC_DATA_DIR or pass a directory")
        }
        return try loadIDXDirectory(dir)
    }

    /// The IDX files of a directory: {train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz].
    static func loadIDXDirectory(_ dir: String) throws -> DatasetSplits {
        func find(_ stem: String) throws -> String {
            for candidate in [stem + ".gz", stem] where FileManager.default.fileExists(atPath: dir + "/" + candidate) {
                return dir + "/" + candidate
            }
            throw RuntimeError.file(dir + "/" + stem + ".gz", "no such file (the dataset directory must hold \(stem)[.gz])")
        }
        func pair(_ prefix: String) throws -> Dataset {
            let imagesPath = try find("\(prefix)-images-idx3-ubyte"), labelsPath = try find("\(prefix)-labels-idx1-ubyte")
            let images = try IDX.read(fileAt: imagesPath), labels = try IDX.read(fileAt: labelsPath)
            guard images.shape.count == 3 || images.shape.count == 4 else {
                throw RuntimeError.file(imagesPath, "images must be N×H×W or N×C×H×W, got \(images.shape)")
            }
            guard labels.shape.count == 1 else { throw RuntimeError.file(labelsPath, "labels must be one-dimensional, got \(labels.shape)") }
            guard labels.shape[0] == images.shape[0] else {
                throw RuntimeError("\(labels.shape[0]) labels in \(labelsPath) but \(images.shape[0]) images in \(imagesPath)")
            }
            guard case .uint8(let px) = images.elements, case .uint8(let ls) = labels.elements else {
                throw RuntimeError.file(imagesPath, "IDX data must be unsigned bytes")
            }
            let shape = images.shape.count == 3 ? [1, images.shape[1], images.shape[2]] : Array(images.shape.dropFirst())
            return Dataset(pixels: .uint8(px), imageShape: shape, labels: ls.map(Int.init))
        }
        return DatasetSplits(train: try pair("train"), test: try pair("t10k"), source: dir)
    }

    /// An NPZ dataset. Images: uint8 or float32, N×C×H×W, N×H×W×C (C ≤ 4 last, converted) or N×H×W.
    static func loadNPZ(_ path: String) throws -> DatasetSplits {
        let arrays = Dictionary(try NPZ.read(fileAt: path).map { ($0.name, $0.array) }, uniquingKeysWith: { a, _ in a })
        func pair(_ x: String, _ y: String) throws -> Dataset? {
            guard let xa = arrays[x] else { return nil }
            guard let ya = arrays[y] else { throw RuntimeError.file(path, "has '\(x)' but no labels '\(y)'") }
            return try dataset(xa, ya, names: (x, y), file: path)
        }
        if let train = try pair("x_train", "y_train") {
            let test = try pair("x_test", "y_test") ?? Dataset(pixels: .uint8([]), imageShape: train.imageShape, labels: [])
            return DatasetSplits(train: train, test: test, source: path)
        }
        guard let all = try pair("x", "y") else {
            let has = arrays.isEmpty ? "it has no arrays" : "it has \(arrays.keys.sorted())"
            throw RuntimeError.file(path, "needs arrays x and y (or x_train, y_train, x_test, y_test); \(has)")
        }
        return DatasetSplits(train: all, test: Dataset(pixels: .uint8([]), imageShape: all.imageShape, labels: []), source: path,
                             unsplit: true)
    }

    static func dataset(_ x: NumPyArray, _ y: NumPyArray, names: (String, String), file: String) throws -> Dataset {
        guard y.shape.count == 1 else { throw RuntimeError.file(file, "'\(names.1)' must be one-dimensional, got \(y.shape)") }
        guard x.shape.count >= 3, x.shape.count <= 4 else {
            throw RuntimeError.file(file, "'\(names.0)' must be N×H×W, N×C×H×W or N×H×W×C, got \(x.shape)")
        }
        guard x.shape[0] == y.shape[0] else {
            throw RuntimeError.file(file, "\(y.shape[0]) labels in '\(names.1)' but \(x.shape[0]) images in '\(names.0)'")
        }
        let labels: [Int]
        switch y.elements {
        case .int64(let v): labels = v.map { Int($0) }
        case .uint8(let v): labels = v.map { Int($0) }
        case .float32: throw RuntimeError.file(file, "labels '\(names.1)' must be integers, got float32")
        }
        if let bad = labels.first(where: { $0 < 0 }) { throw RuntimeError.file(file, "negative label \(bad)") }
        let n = x.shape[0]
        // Channels-last when the last dimension is a plausible channel count and the second is not.
        let nhwc = x.shape.count == 4 && x.shape[3] <= 4 && x.shape[1] > 4
        let shape: [Int] = x.shape.count == 3 ? [1, x.shape[1], x.shape[2]]
            : (nhwc ? [x.shape[3], x.shape[1], x.shape[2]] : Array(x.shape.dropFirst()))
        func toNCHW<T>(_ v: [T]) -> [T] {
            guard nhwc, let first = v.first else { return v }
            let c = shape[0], hw = shape[1] * shape[2]
            var out = [T](repeating: first, count: v.count)
            for i in 0..<n { for p in 0..<hw { for ch in 0..<c { out[(i * c + ch) * hw + p] = v[(i * hw + p) * c + ch] } } }
            return out
        }
        switch x.elements {
        case .uint8(let v): return Dataset(pixels: .uint8(toNCHW(v)), imageShape: shape, labels: labels)
        case .float32(let v): return Dataset(pixels: .float32(toNCHW(v)), imageShape: shape, labels: labels)
        case .int64: throw RuntimeError.file(file, "images '\(names.0)' must be uint8 or float32, got int64")
        }
    }
}
