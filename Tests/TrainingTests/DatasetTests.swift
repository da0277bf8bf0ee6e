// DatasetTests: IDX (plain and gzip) and NPZ datasets, bad files with their errors, batches and augmentation.
import Foundation
import IR
import Runtime
import XCTest

final class DatasetTests: XCTestCase {
    private var dir: URL!

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("s2dc-dataset-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    private func idx(_ dims: [Int], _ data: [UInt8]) -> Data {
        var b: [UInt8] = [0, 0, 8, UInt8(dims.count)]
        for d in dims { b += [UInt8(d >> 24 & 255), UInt8(d >> 16 & 255), UInt8(d >> 8 & 255), UInt8(d & 255)] }
        return Data(b + data)
    }

    /// Writes a tiny IDX dataset (n images of 4×4, labels i % 3); `gzip` compresses with the system tool.
    private func writeIDX(n: Int = 6, labels: Int? = nil, gzip: Bool = false, badMagic: Bool = false) throws {
        for prefix in ["train", "t10k"] {
            var images = idx([n, 4, 4], (0..<(n * 16)).map { UInt8($0 % 256) })
            if badMagic && prefix == "train" { images[2] = 0x0D }
            try images.write(to: dir.appendingPathComponent("\(prefix)-images-idx3-ubyte"))
            let m = labels ?? n
            try idx([m], (0..<m).map { UInt8($0 % 3) }).write(to: dir.appendingPathComponent("\(prefix)-labels-idx1-ubyte"))
        }
        if gzip {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/bin/sh")
            p.arguments = ["-c", "gzip -9 \(dir.path)/*-ubyte"]
            try p.run()
            p.waitUntilExit()
        }
    }

    func testIDXDirectoryPlainAndGzip() throws {
        for gz in [false, true] {
            try? FileManager.default.removeItem(at: dir)
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            try writeIDX(gzip: gz)
            let s = try Dataset.load(dir.path)
            XCTAssertEqual(s.train.count, 6)
            XCTAssertEqual(s.train.imageShape, [1, 4, 4])
            XCTAssertEqual(s.train.labels, [0, 1, 2, 0, 1, 2])
            XCTAssertEqual(s.test.classCount, 3)
        }
    }

    func testFashionMNISTByName() throws {
        guard FileManager.default.fileExists(atPath: "/usr/share/datasets/fashion-mnist") else {
            throw XCTSkip("the Debian package dataset-fashion-mnist is not installed")
        }
        let s = try Dataset.load("fashion-mnist")
        XCTAssertEqual(s.train.count, 60000)
        XCTAssertEqual(s.test.count, 10000)
        XCTAssertEqual(s.train.imageShape, [1, 28, 28])
        XCTAssertEqual(s.train.classCount, 10)
    }

    private func assertLoadError(_ spec: String, contains text: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try Dataset.load(spec), file: file, line: line) { e in
            XCTAssertTrue("\(e)".contains(text), "expected '\(text)' in: \(e)", file: file, line: line)
        }
    }

    func testBadIDXFiles() throws {
        assertLoadError(dir.path, contains: "no such file")
        try writeIDX(labels: 5)
        assertLoadError(dir.path, contains: "5 labels")
        try writeIDX(badMagic: true)
        assertLoadError(dir.path, contains: "IDX data type")
        try Data([1, 2, 3, 4, 5]).write(to: dir.appendingPathComponent("train-images-idx3-ubyte"))
        assertLoadError(dir.path, contains: "wrong magic")
        try Data(idx([6, 4, 4], [1, 2, 3])).write(to: dir.appendingPathComponent("train-images-idx3-ubyte"))
        assertLoadError(dir.path, contains: "holds 3")
        // A corrupt gzip file.
        try writeIDX(gzip: true)
        let gz = dir.appendingPathComponent("train-images-idx3-ubyte.gz")
        var bytes = [UInt8](try Data(contentsOf: gz))
        bytes[bytes.count / 2] ^= 0xFF
        try Data(bytes).write(to: gz)
        assertLoadError(dir.path, contains: "gzip")
        assertLoadError("no-such-dataset", contains: "unknown dataset")
        assertLoadError(dir.appendingPathComponent("missing.npz").path, contains: "no such file")
    }

    func testNPZDatasetsNCHWAndNHWC() throws {
        let nchw = dir.appendingPathComponent("a.npz").path
        try NPZ.write([("x_train", NumPyArray(shape: [2, 3, 2, 2], elements: .float32((0..<24).map(Float.init)))),
                       ("y_train", NumPyArray(shape: [2], elements: .int64([1, 0]))),
                       ("x_test", NumPyArray(shape: [1, 3, 2, 2], elements: .float32(Array(repeating: 0, count: 12)))),
                       ("y_test", NumPyArray(shape: [1], elements: .int64([2])))], to: nchw)
        let a = try Dataset.load(nchw)
        XCTAssertEqual(a.train.imageShape, [3, 2, 2])
        XCTAssertEqual(a.test.labels, [2])
        // NHWC uint8 with x / y names: converted to NCHW; the test split is empty.
        let nhwc = dir.appendingPathComponent("b.npz").path
        // 1×5×5×3, channel last: pixel p of channel c holds 10·c + p.
        var pixels: [UInt8] = []
        for p in 0..<25 { for c in 0..<3 { pixels.append(UInt8(100 * c + p)) } }
        try NPZ.write([("x", NumPyArray(shape: [1, 5, 5, 3], elements: .uint8(pixels))),
                       ("y", NumPyArray(shape: [1], elements: .uint8([4])))], to: nhwc)
        let b = try Dataset.load(nhwc)
        XCTAssertEqual(b.train.imageShape, [3, 5, 5])
        var rng = TrainingRNG(seed: 0)
        let batch = b.train.batch([0], Preprocessing(), rng: &rng)
        XCTAssertEqual(batch.images.scalars.map { Int(($0 * 255).rounded()) }, (0..<3).flatMap { c in (0..<25).map { 100 * c + $0 } })
        XCTAssertEqual(batch.labels, [4])
    }

    func testBadNPZDatasets() throws {
        let p = dir.appendingPathComponent("bad.npz").path
        try NPZ.write([("x", NumPyArray(shape: [2, 2, 2], elements: .uint8([0, 0, 0, 0, 0, 0, 0, 0]))),
                       ("y", NumPyArray(shape: [3], elements: .int64([0, 1, 2])))], to: p)
        assertLoadError(p, contains: "3 labels")
        try NPZ.write([("x", NumPyArray(shape: [1, 2, 2], elements: .uint8([0, 0, 0, 0]))),
                       ("y", NumPyArray(shape: [1], elements: .float32([0])))], to: p)
        assertLoadError(p, contains: "must be integers")
        try NPZ.write([("images", NumPyArray(shape: [1], elements: .uint8([0])))], to: p)
        assertLoadError(p, contains: "needs arrays x and y")
    }

    func testShapeThatDoesNotFitTheModel() throws {
        let d = Dataset(pixels: .uint8([UInt8](repeating: 0, count: 16)), imageShape: [1, 4, 4], labels: [0])
        XCTAssertThrowsError(try d.check(fits: TensorType(dims: [.symbol("N"), .fixed(1), .fixed(28), .fixed(28)]), classes: 10)) { e in
            XCTAssertTrue("\(e)".contains("[1, 4, 4]"), "\(e)")
        }
        let e = Dataset(pixels: .uint8([UInt8](repeating: 0, count: 16)), imageShape: [1, 4, 4], labels: [12])
        XCTAssertThrowsError(try e.check(fits: TensorType(dims: [.symbol("N"), .fixed(1), .fixed(4), .fixed(4)]), classes: 10))
    }

    func testNormalizationCropFlipAndSplit() throws {
        let px: [UInt8] = (0..<9).map { UInt8($0 * 10) }  // one 3×3 image: rows 0 10 20 / 30 40 50 / 60 70 80
        let d = Dataset(pixels: .uint8(px), imageShape: [1, 3, 3], labels: [1])
        var rng = TrainingRNG(seed: 3)
        let norm = d.batch([0], Preprocessing(mean: [0.5], std: [0.25]), rng: &rng)
        XCTAssertEqual(norm.images.scalars[4], (40 / 255 - 0.5) / 0.25, accuracy: 1e-6)
        let flipped = d.batch([0], Preprocessing(horizontalFlip: true), rng: &rng).images.scalars.map { Int(($0 * 255).rounded()) }
        XCTAssertTrue([[0, 10, 20], [20, 10, 0]].contains(Array(flipped[0..<3])))
        // Crops are shifts of at most 1 pixel with zero fill: every output pixel is 0 or a source pixel.
        for _ in 0..<20 {
            let c = d.batch([0], Preprocessing(cropPadding: 1), rng: &rng).images.scalars.map { Int(($0 * 255).rounded()) }
            XCTAssertTrue(c.allSatisfy { $0 % 10 == 0 && $0 <= 80 })
            XCTAssertTrue(c.contains(40))
        }
        let big = Dataset(pixels: .uint8([UInt8](repeating: 0, count: 100)), imageShape: [1, 1, 1], labels: Array(0..<100))
        let (t1, v1) = big.split(validationFraction: 0.2, seed: 5)
        let (t2, v2) = big.split(validationFraction: 0.2, seed: 5)
        XCTAssertEqual(v1.count, 20)
        XCTAssertEqual(t1.count, 80)
        XCTAssertEqual(v1.labels, v2.labels)
        XCTAssertEqual(t1.labels, t2.labels)
        XCTAssertTrue(Set(t1.labels).isDisjoint(with: v1.labels))
        XCTAssertNotEqual(big.split(validationFraction: 0.2, seed: 6).validation.labels, v1.labels)
    }
}
