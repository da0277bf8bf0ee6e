// GeneratedCodeDriftTests: the committed protobuf-c code is exactly what the script generates.
import Foundation
import XCTest

final class GeneratedCodeDriftTests: XCTestCase {
    static let protoDir = DecoderTestSupport.repoRoot.appendingPathComponent("Sources/ONNXProto")
    static let script = DecoderTestSupport.repoRoot.appendingPathComponent("scripts/regenerate-onnx-proto.sh")

    /// Regenerates from the committed onnx.proto into a temporary directory and compares byte for
    /// byte. A missing protoc-c is a failure, not a skip: the Makefile installs it, and without it
    /// nobody would notice the generated code going stale.
    func testCommittedCodeMatchesProtocC() throws {
        guard let which = DecoderTestSupport.run("sh", ["-c", "command -v protoc-c"]), which.status == 0 else {
            return XCTFail("""
                protoc-c is not on PATH, so the committed Sources/ONNXProto code cannot be checked for \
                drift. Install it (Debian: apt-get install protobuf-c-compiler; `make` does this).
                """)
        }
        let committedC = Self.protoDir.appendingPathComponent("onnx.pb-c.c")
        let committedH = Self.protoDir.appendingPathComponent("include/onnx.pb-c.h")
        // The onnx version is recorded in the generated header line; reuse it, since the input is
        // the committed onnx.proto rather than the pip package's.
        let firstLine = try String(contentsOf: committedC, encoding: .utf8).prefix { $0 != "\n" }
        guard let range = firstLine.range(of: "of onnx "),
            let version = firstLine[range.upperBound...].split(separator: " ").first
        else {
            return XCTFail("Sources/ONNXProto/onnx.pb-c.c lacks the s2dc header line; run scripts/regenerate-onnx-proto.sh")
        }
        let tmp = FileManager.default.temporaryDirectory.appendingPathComponent("s2dc-proto-drift-\(getpid())")
        try? FileManager.default.removeItem(at: tmp)
        defer { try? FileManager.default.removeItem(at: tmp) }
        let result = DecoderTestSupport.run("bash", [
            Self.script.path, "--proto", Self.protoDir.appendingPathComponent("onnx.proto").path,
            "--onnx-version", String(version), "--out", tmp.path,
        ])
        guard let result else { return XCTFail("could not start bash to run scripts/regenerate-onnx-proto.sh") }
        guard result.status == 0 else {
            // Status, stdout and stderr all go in the message: a failure once seen with an empty
            // stderr could not be diagnosed from stderr alone.
            return XCTFail("scripts/regenerate-onnx-proto.sh exited with status \(result.status); stdout: \(result.out); stderr: \(result.err)")
        }
        for (committed, name) in [(committedC, "onnx.pb-c.c"), (committedH, "onnx.pb-c.h")] {
            let fresh = try Data(contentsOf: tmp.appendingPathComponent(name))
            let old = try Data(contentsOf: committed)
            XCTAssertTrue(fresh == old, """
                \(committed.path) differs from what protoc-c generates now from the committed onnx.proto \
                (another protoc-c version, or a hand edit). Run scripts/regenerate-onnx-proto.sh and commit \
                the result. First lines now: \(String(decoding: fresh.prefix(160), as: UTF8.self))
                """)
        }
    }

    /// A note, not a failure: the pip package's onnx.proto differs from the committed one (a newer
    /// onnx is installed); regenerate when the new fields are wanted.
    func testCommittedProtoAgainstInstalledONNX() throws {
        guard let dir = DecoderTestSupport.onnxPackageDir else {
            print("note: onnx python package not found; committed onnx.proto not compared")
            return
        }
        let installed = try? Data(contentsOf: URL(fileURLWithPath: dir + "/onnx.proto"))
        let committed = try Data(contentsOf: Self.protoDir.appendingPathComponent("onnx.proto"))
        if installed != committed {
            print("note: \(dir)/onnx.proto differs from Sources/ONNXProto/onnx.proto; run scripts/regenerate-onnx-proto.sh to update")
        }
    }
}
