// NodeTestCTests: every in-scope ONNX node test through the emitted C (strict flags), vs output_*.pb.

import Backend
import Foundation
import IR
import TestSupport
import XCTest

final class NodeTestCTests: XCTestCase {
    /// Each in-scope node test is emitted as C, compiled with `cc -std=c99 -Wall -Wextra -Werror
    /// -pedantic -O1` beside a driver, run on every data set, and compared at rtol 1e-3, atol 1e-5
    /// (the interpreter's tolerance). Prints `N passed, M failed` per op and in total.
    func testNodeTestsThroughEmittedC() throws {
        let work = Harness.workDir("node-c")
        let (cases, outOfScope, broken) = NodeCases.load(work: work)
        guard !cases.isEmpty else { return XCTFail("no node tests found: run `make node-tests` or set S2DC_NODE_TESTS") }
        let lock = NSLock()
        var failures: [String: String] = [:]
        for (n, why) in broken { failures[n] = why }
        Harness.parallel(cases) { c in
            if let why = Self.run(c, work: work.appendingPathComponent(c.name)) {
                lock.lock(); failures[c.name] = why; lock.unlock()
            }
        }
        var byOp: [String: (pass: Int, fail: Int)] = [:]
        for c in cases { byOp[c.op, default: (0, 0)].pass += failures[c.name] == nil ? 1 : 0; byOp[c.op, default: (0, 0)].fail += failures[c.name] == nil ? 0 : 1 }
        var report = "ONNX node tests through the emitted C (cc \(Harness.strictFlags.joined(separator: " ")) -O1; rtol 1e-3, atol 1e-5):\n"
        for (op, r) in byOp.sorted(by: { $0.key < $1.key }) { report += "  \(op): \(r.pass) passed, \(r.fail) failed\n" }
        for (n, why) in failures.sorted(by: { $0.key < $1.key }) { report += "  FAILED \(n): \(why.prefix(600))\n" }
        report += "out of scope: \(outOfScope.values.reduce(0) { $0 + $1.count }) tests (same rule as the interpreter's harness)\n"
        report += "\(cases.count + broken.count - failures.count) passed, \(failures.count) failed\n"
        print(report)
        try? report.write(to: TestSupport.repoRoot.appendingPathComponent(".build/node-test-c.txt"), atomically: true, encoding: .utf8)
        XCTAssertEqual(failures.count, 0, "node tests failed through the emitted C (see the report)")
        XCTAssertGreaterThan(cases.count, 200)
    }

    /// Emits, compiles and runs one case; nil when every output of every data set matches.
    static func run(_ c: NodeCase, work: URL, compiler: String? = nil, flags: [String] = Harness.strictFlags + ["-O1"]) -> String? {
        do {
            let result = try CodeGenerator.emit(c.graph, target: .c, name: "m", options: EmitOptions(prefix: "m", weights: .inline))
            try Harness.write(result.files, to: work)
            let driver = Harness.driver(name: "m", prefix: "m", inputs: c.graph.inputs.count, outputs: c.graph.outputs.count, fileWeights: false)
            try driver.write(to: work.appendingPathComponent("driver.c"), atomically: true, encoding: .utf8)
            if let err = Harness.compile(work, sources: ["m.c", "driver.c"], exe: "run", compiler: compiler, flags: flags) { return err }
            for (k, set) in c.dataSets.enumerated() {
                let outs = c.graph.outputs.indices.map { work.appendingPathComponent("set\(k)_out\($0).raw") }
                guard let r = TestSupport.run(work.appendingPathComponent("run").path, set.inputs.map(\.path) + outs.map(\.path)) else {
                    return "cannot start the compiled program"
                }
                if r.status != 0 { return "exit \(r.status): \(r.err.prefix(2000))" }
                for (j, url) in outs.enumerated() {
                    if let why = Harness.mismatch(try Harness.readRaw(url), set.expected[j]) { return "data set \(k) output \(j): \(why)" }
                }
            }
            return nil
        } catch {
            return "\(error)"
        }
    }
}
