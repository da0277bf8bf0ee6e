// BadGraphTests: unimportable graphs (scripts/make-bad-graphs.py) fail with errors naming the file, node and reason.
import Foundation
import XCTest
@testable import ONNX

final class BadGraphTests: XCTestCase {
    /// Every file in Fixtures/bad-import/expected-errors.txt fails to import with an ONNXError
    /// whose text names the file and contains each listed fragment; none crashes.
    func testBadGraphsFailWithClearErrors() throws {
        let dir = DecoderTestSupport.fixtures.appendingPathComponent("bad-import")
        let manifest = try String(contentsOf: dir.appendingPathComponent("expected-errors.txt"), encoding: .utf8)
        let lines = manifest.split(separator: "\n").filter { !$0.isEmpty }
        XCTAssertGreaterThan(lines.count, 25)
        for line in lines {
            let fields = line.split(separator: "\t").map(String.init)
            let path = dir.appendingPathComponent(fields[0]).path
            do {
                let graph = try ONNXLoader.load(path: path)
                XCTFail("\(fields[0]) imported: \(graph.nodes.map(\.op.name))")
            } catch let e as ONNXError {
                if ProcessInfo.processInfo.environment["S2DC_PRINT_ERRORS"] != nil { print(e) }
                XCTAssertTrue(e.description.contains(fields[0]), "\(fields[0]): error does not name the file: \(e)")
                for fragment in fields.dropFirst() where !e.description.contains(fragment) {
                    XCTFail("\(fields[0]): error lacks '\(fragment)': \(e)")
                }
            } catch {
                XCTFail("\(fields[0]): not an ONNXError: \(error)")
            }
        }
    }
}
