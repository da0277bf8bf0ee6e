// EmitCommandTests: `s2dc emit` writes the C, header, Swift and weight files and reports the arena.

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

    func testRejectsBadOptions() {
        XCTAssertNotEqual(CLI.run(["emit", "models/default.onnx", "--target", "rust"]).status, 0)
        XCTAssertNotEqual(CLI.run(["emit", "models/default.onnx", "--weights", "cloud"]).status, 0)
        XCTAssertNotEqual(CLI.run(["emit", "models/default.onnx", "--prefix", "9lives"]).status, 0)
        XCTAssertNotEqual(CLI.run(["emit", "models/default.onnx", "--target", "swift", "--cblas"]).status, 0)
    }
}
