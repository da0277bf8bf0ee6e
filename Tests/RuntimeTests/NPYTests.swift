// NPYTests: NPY/NPZ round trips, files NumPy wrote, files NumPy reads back, and bad files.
import Foundation
import IR
@testable import Runtime
import TestSupport
import XCTest

final class NPYTests: XCTestCase {
    static let fixtures = TestSupport.fixtures(of: "RuntimeTests").appendingPathComponent("npy")
    static let good = fixtures.appendingPathComponent("good")
    static let bad = fixtures.appendingPathComponent("bad")

    /// The arrays that scripts/make-npy-fixtures.py saved (restated from good/expected.txt).
    static let expected: [String: NumPyArray] = [
        "f32": NumPyArray(shape: [2, 3, 4], elements: .float32((0..<24).map { Float($0) / 4 - 1 })),
        "u8": NumPyArray(shape: [2, 5], elements: .uint8([250, 251, 252, 253, 254, 255, 0, 1, 2, 3])),
        "i64": NumPyArray(shape: [4], elements: .int64([-3, 0, 1 << 40, -(1 << 62)])),
        "scalar": NumPyArray(shape: [], elements: .float32([3.5])),
        "empty": NumPyArray(shape: [0, 3], elements: .float32([])),
    ]

    func testReadsWhatNumPyWrote() throws {
        for (name, array) in Self.expected {
            XCTAssertEqual(try NPY.read(fileAt: Self.good.appendingPathComponent("\(name).npy").path), array, name)
        }
        for version in [2, 3] {
            XCTAssertEqual(try NPY.read(fileAt: Self.good.appendingPathComponent("f32-v\(version).npy").path), Self.expected["f32"])
        }
        let special = try NPY.read(fileAt: Self.good.appendingPathComponent("special.npy").path)
        guard case .float32(let v) = special.elements else { return XCTFail("special.npy is not float32") }
        XCTAssert(v[0].isNaN)
        XCTAssertEqual(Array(v[1...]).map(\.bitPattern), [Float.infinity, -.infinity, -0.0, Float(bitPattern: 1)].map(\.bitPattern))
        for archive in ["stored.npz", "compressed.npz"] {
            let arrays = try NPZ.read(fileAt: Self.good.appendingPathComponent(archive).path)
            XCTAssertEqual(arrays.map(\.name), ["f32", "u8", "i64"], archive)
            for (name, array) in arrays { XCTAssertEqual(array, Self.expected[name], "\(archive) \(name)") }
        }
    }

    func testRoundTrips() throws {
        var arrays = Self.expected.sorted { $0.key < $1.key }.map { (name: $0.key, array: $0.value) }
        arrays.append(("ramp", NumPyArray(arange([3, 1, 2]))))
        for (name, array) in arrays {
            XCTAssertEqual(try NPY.decode(NPY.encode(array), file: name), array, name)
            // NumPy's layout: the data starts on a 64-byte boundary and the header ends in a newline.
            let bytes = NPY.encode(array)
            let headerEnd = 10 + Int(bytes[8]) + Int(bytes[9]) << 8
            XCTAssertEqual(headerEnd % 64, 0, name)
            XCTAssertEqual(bytes[headerEnd - 1], 0x0a, name)
        }
        for compressed in [false, true] {
            let bytes = try NPZ.encode(arrays, compressed: compressed)
            let back = try NPZ.decode(bytes, file: "memory.npz")
            XCTAssertEqual(back.map(\.name), arrays.map(\.name))
            XCTAssertEqual(back.map(\.array), arrays.map(\.array))
        }
    }

    /// Files s2dc writes, read back by NumPy itself (through $PYTHON).
    func testNumPyReadsWhatS2dcWrote() throws {
        guard TestSupport.requireONNXPackage() != nil else { return }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("s2dc-npy-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let arrays = Self.expected.sorted { $0.key < $1.key }.map { (name: $0.key, array: $0.value) }
        for (name, array) in arrays { try NPY.write(array, to: dir.appendingPathComponent("\(name).npy").path) }
        try NPZ.write(arrays, to: dir.appendingPathComponent("stored.npz").path)
        try NPZ.write(arrays, to: dir.appendingPathComponent("compressed.npz").path, compressed: true)
        let script = """
            import numpy as np, sys, os
            d = sys.argv[1]
            ref = dict(f32=np.arange(24, dtype=np.float32).reshape(2, 3, 4) / 4 - 1,
                       u8=np.array([250, 251, 252, 253, 254, 255, 0, 1, 2, 3], dtype=np.uint8).reshape(2, 5),
                       i64=np.array([-3, 0, 2**40, -(2**62)], dtype=np.int64),
                       scalar=np.array(3.5, dtype=np.float32), empty=np.zeros((0, 3), dtype=np.float32))
            def same(a, b):
                return a.dtype == b.dtype and a.shape == b.shape and np.array_equal(a, b)
            bad = [n for n in ref if not same(np.load(os.path.join(d, n + '.npy')), ref[n])]
            for archive in ['stored.npz', 'compressed.npz']:
                with np.load(os.path.join(d, archive)) as z:
                    bad += [archive + ':' + n for n in ref if not same(z[n], ref[n])]
                    if sorted(z.files) != sorted(ref): bad.append(archive + ' names ' + str(z.files))
            print('mismatch: ' + ', '.join(bad) if bad else 'ok')
            """
        guard let result = TestSupport.run(TestSupport.python, ["-c", script, dir.path]) else {
            return XCTFail("could not run \(TestSupport.python)")
        }
        XCTAssertEqual(result.status, 0, result.err)
        XCTAssertEqual(result.out.trimmingCharacters(in: .whitespacesAndNewlines), "ok")
    }

    func testEveryBadFileFailsWithItsError() throws {
        let manifest = try String(contentsOf: Self.bad.appendingPathComponent("expected-errors.txt"), encoding: .utf8)
        let entries = manifest.split(separator: "\n").filter { !$0.hasPrefix("#") }.map { $0.split(separator: "\t", maxSplits: 1) }
        XCTAssertGreaterThanOrEqual(entries.count, 20)
        for entry in entries where entry.count == 2 {
            let file = String(entry[0]), expected = String(entry[1])
            let path = Self.bad.appendingPathComponent(file).path
            do {
                if file.hasSuffix(".npz") { _ = try NPZ.read(fileAt: path) } else { _ = try NPY.read(fileAt: path) }
                XCTFail("\(file): read without error; expected '\(expected)'")
            } catch let error as RuntimeError {
                XCTAssert(error.description.contains(file), "\(file): error does not name the file: \(error)")
                XCTAssert(error.description.contains(expected), "\(file): expected '\(expected)' in: \(error)")
            }
        }
    }

    /// Every prefix and many single-byte corruptions of valid files fail cleanly (no crash).
    func testCorruptionNeverCrashes() throws {
        let sources = ["f32.npy", "stored.npz", "compressed.npz"].map { Self.good.appendingPathComponent($0).path }
        for path in sources {
            let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
            let decode: ([UInt8]) throws -> Void = path.hasSuffix(".npz")
                ? { _ = try NPZ.decode($0, file: "x") } : { _ = try NPY.decode($0, file: "x") }
            for n in 0..<bytes.count { _ = try? decode(Array(bytes.prefix(n))) }
            var rng = SeededRandom(seed: 99)
            for _ in 0..<2000 {
                var copy = bytes
                let i = Int(rng.next() % UInt64(copy.count))
                copy[i] = UInt8(truncatingIfNeeded: rng.next())
                _ = try? decode(copy)
            }
        }
    }

    func testMissingFileAndDtypeErrors() {
        XCTAssertThrowsError(try NPY.read(fileAt: "/nonexistent/x.npy")) { error in
            XCTAssertEqual("\(error)", "file '/nonexistent/x.npy': no such file")
        }
        XCTAssertThrowsError(try Self.expected["u8"]?.floatTensor(forInput: "images")) { error in
            XCTAssertEqual("\(error)", "input 'images': has dtype uint8; the model expects float32 (convert with arr.astype(np.float32))")
        }
    }
}
