// CLITestSupport: runs the built `s2dc` binary as a user would and captures what it prints.
import Foundation
import TestSupport
import XCTest

enum CLI {
    /// The `s2dc` binary SwiftPM built for this test run.
    static var binary: String { TestSupport.productsDirectory.appendingPathComponent("s2dc").path }

    /// Runs `s2dc ARGS` from the repository root; fails the test if the binary cannot start.
    static func run(_ arguments: [String], file: StaticString = #filePath, line: UInt = #line) -> (status: Int32, out: String, err: String) {
        guard let result = TestSupport.run(binary, arguments, cwd: TestSupport.repoRoot) else {
            XCTFail("cannot start \(binary)", file: file, line: line)
            return (-1, "", "")
        }
        return result
    }

    /// Runs `s2dc inspect MODEL --json` and decodes the report.
    static func inspectJSON(_ model: String, extra: [String] = [], file: StaticString = #filePath, line: UInt = #line) -> [String: Any]? {
        let r = run(["inspect", model, "--json"] + extra, file: file, line: line)
        guard r.status == 0 else {
            XCTFail("s2dc inspect \(model) exited \(r.status): \(r.err)", file: file, line: line)
            return nil
        }
        guard let object = try? JSONSerialization.jsonObject(with: Data(r.out.utf8)) as? [String: Any] else {
            XCTFail("s2dc inspect --json printed no JSON object: \(r.out.prefix(300))", file: file, line: line)
            return nil
        }
        return object
    }

    /// The integer total `key` of an inspect JSON report.
    static func total(_ report: [String: Any], _ key: String) -> Int? {
        (report["totals"] as? [String: Any])?[key] as? Int
    }
}
