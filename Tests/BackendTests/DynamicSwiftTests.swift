// DynamicSwiftTests: the Swift of a staged model against the staged interpreter on Fashion-MNIST images.

import Backend
import Foundation
import IR
import Passes
import Runtime
import TestSupport
import XCTest

final class DynamicSwiftTests: XCTestCase {
    /// `predict` with the default policy and with `maxStage` 1, and `run(input:)`, on the first
    /// test images: exits, MACs and labels equal the interpreter's, logits within 1e-4.
    func testStagedDefaultModelMatchesInterpreter() throws {
        let samples = 100
        let work = Harness.workDir("dynamic-swift")
        let staged = try DynamicCTests.stagedDefault()
        var folded = staged
        _ = try PassManager(pipeline: "fold-constants", verifyEach: false).run(&folded)
        let result = try CodeGenerator.emit(folded, target: .swift, name: "dyn", options: EmitOptions(prefix: "dyn", weights: .inline))
        try Harness.write(result.files, to: work)
        let x = try DynamicCTests.images(samples)
        try Harness.writeRaw(x.scalars, to: work.appendingPathComponent("x.bin"))
        let main = """
            import Foundation
            let d = FileManager.default.contents(atPath: "x.bin")!
            let x = d.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
            let m = Dyn()
            let n = x.count / Dyn.inputSize
            var first = Dyn.Policy.default
            first.maxStage = 1
            for (mode, policy) in [Dyn.Policy.default, first].enumerated() {
                var text = "", logits: [Float] = []
                for i in 0..<n {
                    let p = m.predict(Array(x[(i * Dyn.inputSize)..<((i + 1) * Dyn.inputSize)]), policy: policy)
                    text += "\\(p.exitStage) \\(p.macs) \\(p.label)\\n"
                    logits += p.logits
                }
                try! text.write(toFile: "r\\(mode).txt", atomically: true, encoding: .utf8)
                _ = logits.withUnsafeBytes { FileManager.default.createFile(atPath: "y\\(mode).bin", contents: Data($0)) }
            }
            var all: [Float] = []
            for i in 0..<n { all += m.run(input: Array(x[(i * Dyn.inputSize)..<((i + 1) * Dyn.inputSize)])) }
            _ = all.withUnsafeBytes { FileManager.default.createFile(atPath: "y2.bin", contents: Data($0)) }

            """
        try main.write(to: work.appendingPathComponent("main.swift"), atomically: true, encoding: .utf8)
        guard let build = TestSupport.run("swiftc", ["-O", "-suppress-warnings", "-o", "run", "main.swift", "dyn.swift"], cwd: work) else {
            return XCTFail("cannot start swiftc")
        }
        guard build.status == 0 else { return XCTFail("swiftc failed:\n\(build.err.prefix(4000))") }
        guard let r = TestSupport.run(work.appendingPathComponent("run").path, [], cwd: work), r.status == 0 else {
            return XCTFail("the Swift program failed")
        }
        let interpreter = try StagedInterpreter(graph: staged)
        let stages = staged.stageInfo!.stageCount
        for mode in 0...2 {
            let want = try interpreter.run([staged.inputs[0].name: x], exitAt: [nil, 1, stages][mode])
            let logits = want.outputs[staged.outputs[0]]!.scalars
            let y = try Harness.readRaw(work.appendingPathComponent("y\(mode).bin"))
            let k = logits.count / samples
            XCTAssertEqual(y.count, logits.count)
            let lines = mode == 2 ? [] : try String(contentsOf: work.appendingPathComponent("r\(mode).txt"), encoding: .utf8).split(separator: "\n")
            for i in 0..<min(samples, y.count / k) {
                let row = Array(logits[(i * k)..<((i + 1) * k)])
                XCTAssertLessThanOrEqual(Harness.relativeDifference(Array(y[(i * k)..<((i + 1) * k)]), row), 1e-4, "mode \(mode), sample \(i)")
                guard mode != 2, i < lines.count else { continue }
                let label = row.indices.max { row[$0] < row[$1] }!
                XCTAssertEqual(lines[i].split(separator: " ").compactMap { Int($0) }, [want.exitStage[i], want.macs[i], label], "mode \(mode), sample \(i)")
            }
            if mode != 2 { XCTAssertEqual(lines.count, samples) }
        }
    }
}
