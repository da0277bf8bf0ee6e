// ConvertCommandTests: `s2dc convert` as a user runs it: help, bad options and inputs as errors that create nothing.
import Foundation
import TestSupport
import XCTest

final class ConvertCommandTests: XCTestCase {
    func testHelpAndBadInputsFailClearlyWithoutCreatingTheOutputFolder() throws {
        let help = CLI.run(["convert", "--help"])
        XCTAssertEqual(help.status, 0, help.err)
        for flag in ["--budget", "--stages", "--epochs", "--strategy", "--target", "--finetune-epochs", "--seed", "--resume"] {
            XCTAssertTrue(help.out.contains(flag), "help lacks \(flag)")
        }
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("s2dc-convert-cli-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: out) }
        func fails(_ args: [String], _ expected: String, file: StaticString = #filePath, line: UInt = #line) {
            let r = CLI.run(["convert", "models/default.onnx", "-o", out] + args, file: file, line: line)
            XCTAssertNotEqual(r.status, 0, file: file, line: line)
            XCTAssertTrue(r.err.contains(expected), r.err, file: file, line: line)
            XCTAssertFalse(FileManager.default.fileExists(atPath: out), file: file, line: line)
        }
        fails(["--data", "fashion-mnist", "--budget", "0"], "--budget must be in (0, 1]")
        fails(["--data", "fashion-mnist", "--budget", "1.2"], "--budget must be in (0, 1]")
        fails(["--data", "fashion-mnist", "--budget", "0.2", "--target", "tflite"], "--target must be c, swift or onnx")
        fails(["--data", "no-such-data", "--budget", "0.2"], "unknown dataset 'no-such-data'")
        fails(["--data", "fashion-mnist", "--budget", "0.2", "--resume"], "no run to continue")
    }
}
