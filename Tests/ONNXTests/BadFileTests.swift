// BadFileTests: every malformed file in Fixtures/bad-decode fails with the error its manifest names.
import Foundation
import TestSupport
import XCTest
@testable import ONNX

final class BadFileTests: XCTestCase {
    static let dir = DecoderTestSupport.fixtures.appendingPathComponent("bad-decode")

    /// The manifest written by scripts/make-bad-onnx-files.py: (file name, expected substring).
    static func manifest() throws -> [(file: String, expected: String)] {
        let text = try String(contentsOf: dir.appendingPathComponent("expected-errors.txt"), encoding: .utf8)
        return text.split(separator: "\n").compactMap { line in
            if line.hasPrefix("#") || line.isEmpty { return nil }
            let parts = line.split(separator: "\t", maxSplits: 1)
            guard parts.count == 2 else { return nil }
            return (String(parts[0]), String(parts[1]))
        }
    }

    func testEveryBadFileFailsWithItsError() throws {
        let entries = try Self.manifest()
        XCTAssertGreaterThanOrEqual(entries.count, 15, "manifest looks truncated")
        for (file, expected) in entries {
            let path = Self.dir.appendingPathComponent(file).path
            do {
                let model = try ONNXDecoder.decodeModel(fileAt: path)
                XCTFail("\(file): decoded without error (\(model.graph.nodes.count) nodes); expected '\(expected)'")
            } catch let error as ONNXError {
                let text = error.description
                XCTAssertTrue(text.contains(file), "\(file): error does not name the file: \(text)")
                XCTAssertTrue(text.contains(expected), "\(file): expected '\(expected)' in: \(text)")
            } catch {
                XCTFail("\(file): threw \(type(of: error)), not ONNXError: \(error)")
            }
        }
    }

    /// Each committed .onnx has a manifest line, so a new bad file cannot go untested.
    func testManifestCoversEveryFile() throws {
        let listed = Set(try Self.manifest().map(\.file))
        let onDisk = try FileManager.default.contentsOfDirectory(atPath: Self.dir.path).filter { $0.hasSuffix(".onnx") }
        XCTAssertFalse(onDisk.isEmpty)
        for name in onDisk { XCTAssertTrue(listed.contains(name), "\(name) is not in expected-errors.txt") }
    }

    /// The byte API reports the same errors, under the name it was given.
    func testBytesAPIErrorsNameTheGivenFile() throws {
        let bytes = try [UInt8](Data(contentsOf: Self.dir.appendingPathComponent("raw-data-length.onnx")))
        XCTAssertThrowsError(try ONNXDecoder.decodeModel(bytes: bytes, file: "in-memory.onnx", baseDirectory: nil)) { error in
            let text = String(describing: error)
            XCTAssertTrue(text.hasPrefix("in-memory.onnx: "), text)
            XCTAssertTrue(text.contains("raw_data has 20 bytes, expected 24"), text)
        }
        XCTAssertThrowsError(try ONNXDecoder.decodeModel(bytes: [], file: "none.onnx", baseDirectory: nil)) { error in
            XCTAssertTrue(String(describing: error).contains("empty file"))
        }
    }

    /// Tensor files: missing, empty and garbage ones fail cleanly too.
    func testBadTensorFiles() {
        XCTAssertThrowsError(try ONNXDecoder.decodeTensor(fileAt: Self.dir.appendingPathComponent("nope.pb").path)) { e in
            XCTAssertTrue(String(describing: e).contains("nope.pb: file not found"), "\(e)")
        }
        XCTAssertThrowsError(try ONNXDecoder.decodeTensor(fileAt: Self.dir.appendingPathComponent("empty.onnx").path)) { e in
            XCTAssertTrue(String(describing: e).contains("empty file"), "\(e)")
        }
        XCTAssertThrowsError(try ONNXDecoder.decodeTensor(bytes: [0xff, 0xff, 0xff], file: "junk.pb", baseDirectory: nil)) { e in
            XCTAssertTrue(String(describing: e).contains("junk.pb: not a valid ONNX tensor (protobuf parse failed)"), "\(e)")
        }
        XCTAssertThrowsError(try ONNXDecoder.decodeModel(fileAt: Self.dir.path)) { e in
            XCTAssertTrue(String(describing: e).contains("not a regular file"), "\(e)")
        }
    }

    /// Never crash: every prefix and many random corruptions of small valid models either decode
    /// or throw ONNXError. (Run under the debug build, so overflow and bounds checks are live.)
    func testCorruptedInputsNeverCrash() throws {
        let decodeDir = DecoderTestSupport.fixtures.appendingPathComponent("decode")
        var rng = SplitMix64(seed: 0x5EED)
        for name in ["attributes.onnx", "external/model.onnx"] {
            let url = decodeDir.appendingPathComponent(name)
            let original = try [UInt8](Data(contentsOf: url))
            let base = url.deletingLastPathComponent().path
            for cut in 0..<original.count {
                expectDecodesOrThrowsONNXError(Array(original.prefix(cut)), base: base)
            }
            for _ in 0..<10_000 {
                var bytes = original
                for _ in 0..<(1 + Int(rng.next() % 4)) {
                    bytes[Int(rng.next() % UInt64(bytes.count))] = UInt8(truncatingIfNeeded: rng.next())
                }
                expectDecodesOrThrowsONNXError(bytes, base: base)
            }
        }
    }

    private func expectDecodesOrThrowsONNXError(_ bytes: [UInt8], base: String) {
        do {
            _ = try ONNXDecoder.decodeModel(bytes: bytes, file: "fuzz.onnx", baseDirectory: base)
        } catch is ONNXError {
        } catch {
            XCTFail("threw \(type(of: error)), not ONNXError: \(error)")
        }
    }
}
