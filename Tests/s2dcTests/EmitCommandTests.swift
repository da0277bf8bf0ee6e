// EmitCommandTests: `s2dc emit` writes the C, header, Swift, ONNX and weight files and reports the arena.

import Foundation
import TestSupport
import XCTest

final class EmitCommandTests: XCTestCase {
    func testEmitsCAndSwiftForTheDefaultModel() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("s2dc-emit-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let c = CLI.run(["emit", "models/default.onnx", "--target", "c", "-o", dir.path, "--prefix", "net"])
        XCTAssertEqual(c.status, 0, c.err)
        XCTAssertTrue(c.out.contains("arena: "), c.out)
        XCTAssertTrue(c.out.contains("sum of all activations: "), c.out)
        for f in ["net.c", "net.h"] { XCTAssertTrue(FileManager.default.fileExists(atPath: dir.appendingPathComponent(f).path), f) }
        let header = try String(contentsOf: dir.appendingPathComponent("net.h"), encoding: .utf8)
        XCTAssertTrue(header.contains("int net_run(const float *input, float *output);"))
        let file = CLI.run(["emit", "models/default.onnx", "--target", "swift", "-o", dir.path, "--weights", "file"])
        XCTAssertEqual(file.status, 0, file.err)
        for f in ["default.swift", "default.bin"] { XCTAssertTrue(FileManager.default.fileExists(atPath: dir.appendingPathComponent(f).path), f) }
        // No temporary files left behind by the atomic writes.
        XCTAssertFalse(try FileManager.default.contentsOfDirectory(atPath: dir.path).contains { $0.hasPrefix(".") })
    }

    /// `--target onnx` on a static model: -o a folder gets <name>.onnx, the same bytes as `opt -o`.
    func testEmitsONNXIntoAFolder() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("s2dc-emit-onnx-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let r = CLI.run(["emit", "models/default.onnx", "--target", "onnx", "-o", dir.path, "--name", "net"])
        XCTAssertEqual(r.status, 0, r.err)
        let opt = CLI.run(["opt", "models/default.onnx", "--passes=canonicalize", "-o", dir.appendingPathComponent("opt.onnx").path])
        XCTAssertEqual(opt.status, 0, opt.err)
        let emitted = FileManager.default.contents(atPath: dir.appendingPathComponent("net.onnx").path)
        XCTAssertNotNil(emitted)
        XCTAssertEqual(emitted, FileManager.default.contents(atPath: dir.appendingPathComponent("opt.onnx").path))
        let bad = CLI.run(["emit", "models/default.onnx", "--target", "onnx", "-o", dir.appendingPathComponent("missing/x.onnx").path])
        XCTAssertNotEqual(bad.status, 0)
        XCTAssertTrue(bad.err.contains("does not exist"), bad.err)
    }

    func testRejectsBadOptions() {
        XCTAssertNotEqual(CLI.run(["emit", "models/default.onnx", "--target", "rust"]).status, 0)
        XCTAssertNotEqual(CLI.run(["emit", "models/default.onnx", "--weights", "cloud"]).status, 0)
        XCTAssertNotEqual(CLI.run(["emit", "models/default.onnx", "--prefix", "9lives"]).status, 0)
        XCTAssertNotEqual(CLI.run(["emit", "models/default.onnx", "--target", "swift", "--cblas"]).status, 0)
        XCTAssertNotEqual(CLI.run(["emit", "models/default.onnx", "--target", "onnx", "--weights", "file"]).status, 0)
    }
}
