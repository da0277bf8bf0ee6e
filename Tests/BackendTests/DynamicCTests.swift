// DynamicCTests: the C of a staged model against the staged interpreter on Fashion-MNIST images.

import Backend
import Foundation
import IR
import ONNX
import Passes
import Runtime
import TestSupport
import XCTest

final class DynamicCTests: XCTestCase {
    /// The staged default model (3 stages, an exit after each) the tests share. Its stages are not
    /// trained as a supernet, so stage 1 is unsure (max softmax about 0.18) and stage 2 too (about
    /// 0.57): these thresholds let a share of the images leave at each exit.
    static let pipeline = "canonicalize,split-stages{stages=3},insert-exits{thresholds=[0.185,0.6]}"
    static let samples = 300

    static func stagedDefault() throws -> Graph {
        var g = try ONNXLoader.load(path: TestSupport.repoRoot.appendingPathComponent("models/default.onnx").path)
        _ = try PassManager(pipeline: pipeline, verifyEach: false).run(&g)
        return g
    }

    /// The first `n` test images, scaled to [0, 1] as `s2dc eval` does.
    static func images(_ n: Int) throws -> Tensor {
        guard FileManager.default.fileExists(atPath: "/usr/share/datasets/fashion-mnist") else {
            throw XCTSkip("the Debian package dataset-fashion-mnist is not installed")
        }
        let test = try Dataset.load("fashion-mnist").test.prefix(n)
        var rng = TrainingRNG(seed: 0)
        return test.batch(Array(0..<test.count), Preprocessing(), rng: &rng).images
    }

    /// Reads N images from argv[1]; argv[3] is the mode (0: default policy, 1: max_stage = 1,
    /// 2: p_run); writes the logits to argv[4] and "exit macs label" lines to argv[5]; argv[6] is
    /// the weights file (file weights keep the sanitizer builds short).
    static func driver(_ p: String) -> String {
        let P = p.uppercased()
        return """
            #include <stdio.h>
            #include <stdlib.h>
            #include "\(p).h"

            int main(int argc, char **argv)
            {
                if (argc != 7) return 2;
                long n = atol(argv[2]);
                int mode = atoi(argv[3]);
                float *in = (float *)malloc(sizeof(float) * (size_t)(n * \(P)_INPUT_SIZE));
                float *out = (float *)malloc(sizeof(float) * (size_t)(n * \(P)_CLASSES));
                FILE *f = fopen(argv[1], "rb");
                if (!in || !out || !f || fread(in, sizeof(float), (size_t)(n * \(P)_INPUT_SIZE), f) != (size_t)(n * \(P)_INPUT_SIZE)) return 3;
                fclose(f);
                FILE *t = fopen(argv[5], "w");
                if (!t) return 4;
                \(p)_policy policy;
                \(p)_default_policy(&policy);
                if (\(p)_predict(in, out, 0, 0) != -1) return 7;
                if (\(p)_load_weights(argv[6]) != 0) return 8;
                if (mode == 1) policy.max_stage = 1;
                /* Errors: a NULL input and a max_stage outside 1..STAGES. */
                if (\(p)_predict(0, out, &policy, 0) != -3) return 7;
                policy.max_stage = 0;
                if (\(p)_predict(in, out, &policy, 0) != -2) return 7;
                policy.max_stage = mode == 1 ? 1 : \(P)_STAGES;
                for (long i = 0; i < n; ++i) {
                    \(p)_result r;
                    int e = mode == 2 ? \(p)_run(in + i * \(P)_INPUT_SIZE, out + i * \(P)_CLASSES)
                                      : \(p)_predict(in + i * \(P)_INPUT_SIZE, out + i * \(P)_CLASSES, mode == 0 ? 0 : &policy, &r);
                    if (e != 0) return 5;
                    if (mode == 2) fprintf(t, "0 0 0\\n"); else fprintf(t, "%d %lld %d\\n", r.exit_stage, r.macs, r.label);
                }
                fclose(t);
                f = fopen(argv[4], "wb");
                if (!f) return 6;
                fwrite(out, sizeof(float), (size_t)(n * \(P)_CLASSES), f);
                fclose(f);
                free(in);
                free(out);
                return 0;
            }

            """
    }

    /// Emits the staged default model, compiles it with `compiler` and `flags`, and checks every
    /// mode against the interpreter on the first `samples` test images.
    func check(compiler: String, flags: [String], samples: Int, work: URL, staged given: Graph? = nil) throws {
        let staged = try given ?? Self.stagedDefault()
        var folded = staged
        _ = try PassManager(pipeline: "fold-constants", verifyEach: false).run(&folded)
        let result = try CodeGenerator.emit(folded, target: .c, name: "p", options: EmitOptions(prefix: "p", weights: .file))
        try Harness.write(result.files, to: work)
        let c = String(decoding: result.files[0].contents, as: UTF8.self)
        XCTAssertTrue(c.contains(" concats read in place, 0 copied"), "every stage's concat should be read in place")
        try Self.driver("p").write(to: work.appendingPathComponent("main.c"), atomically: true, encoding: .utf8)
        if let e = Harness.compile(work, sources: ["p.c", "main.c"], exe: "dyn", compiler: compiler, flags: Harness.strictFlags + flags) {
            return XCTFail(e)
        }
        let x = try Self.images(samples)
        try Harness.writeRaw(x.scalars, to: work.appendingPathComponent("x.bin"))
        let interpreter = try StagedInterpreter(graph: staged)
        let input = staged.inputs[0].name
        let stages = staged.stageInfo!.stageCount
        for mode in 0...2 {
            guard let r = TestSupport.run(work.appendingPathComponent("dyn").path, ["x.bin", "\(samples)", "\(mode)", "y.bin", "r.txt", "p.bin"], cwd: work),
                  r.status == 0 else { return XCTFail("mode \(mode): the driver failed") }
            let y = try Harness.readRaw(work.appendingPathComponent("y.bin"))
            let lines = try String(contentsOf: work.appendingPathComponent("r.txt"), encoding: .utf8).split(separator: "\n")
            let want = try interpreter.run([input: x], exitAt: mode == 0 ? nil : (mode == 1 ? 1 : stages))
            let logits = want.outputs[staged.outputs[0]]!.scalars
            let k = logits.count / samples
            XCTAssertEqual(lines.count, samples)
            var exits = Array(repeating: 0, count: stages + 1)
            for i in 0..<min(samples, lines.count) {
                let row = Array(logits[(i * k)..<((i + 1) * k)]), got = Array(y[(i * k)..<((i + 1) * k)])
                let d = Harness.relativeDifference(got, row)
                XCTAssertLessThanOrEqual(d, 1e-4, "mode \(mode), sample \(i): logits differ by \(d)")
                guard mode != 2 else { continue }
                let f = lines[i].split(separator: " ").compactMap { Int($0) }
                let label = row.indices.max { row[$0] < row[$1] }!  // the first largest, as the C
                XCTAssertEqual(f, [want.exitStage[i], want.macs[i], label], "mode \(mode), sample \(i): exit, MACs, label")
                exits[want.exitStage[i]] += 1
            }
            if mode == 0 { print("dynamic C (\(compiler)): exits per stage over \(samples) images: \(exits.dropFirst())") }
            // The default thresholds must make the test meaningful: some leave early, some do not.
            if mode == 0 { XCTAssertTrue(exits[1] > 0 && exits[stages] > 0, "exits \(exits)") }
        }
    }

    func testStagedDefaultModelMatchesInterpreter() throws {
        try check(compiler: Harness.cc, flags: ["-O2"], samples: Self.samples, work: Harness.workDir("dynamic-c"))
    }

    /// Depth exits (insert-exits{at=blocks}) run the same way: thresholds at the median exit-1
    /// and exit-2 scores of the interpreter send images out at every exit.
    func testDepthExitsMatchInterpreter() throws {
        var graph = try ONNXLoader.load(path: TestSupport.repoRoot.appendingPathComponent("models/default.onnx").path)
        _ = try PassManager(pipeline: "canonicalize,insert-exits{at=blocks seed=5}", verifyEach: true).run(&graph)
        let n = 100
        let x = try Self.images(n)
        let interpreter = try StagedInterpreter(graph: graph)
        var thresholds: [Double] = []
        for s in 1...2 {
            let y = try interpreter.run([graph.inputs[0].name: x], exitAt: s).outputs[graph.outputs[0]]!
            let scores = (0..<n).map { StagedInterpreter.score(Array(y.scalars[($0 * 10)..<($0 * 10 + 10)]), .softmax) }.sorted()
            thresholds.append(Double(TestSupport.threshold(between: scores, at: n / 2)))
        }
        var staged = try ONNXLoader.load(path: TestSupport.repoRoot.appendingPathComponent("models/default.onnx").path)
        let t = thresholds.map { String(describing: $0) }.joined(separator: ",")
        _ = try PassManager(pipeline: "canonicalize,insert-exits{at=blocks seed=5 thresholds=[\(t)]}", verifyEach: true).run(&staged)
        XCTAssertEqual(staged.stageInfo?.axis, .depth)
        try check(compiler: Harness.cc, flags: ["-O2"], samples: n, work: Harness.workDir("dynamic-c-depth"), staged: staged)
    }

    /// Width stages cut at blocks (split-stages, then insert-exits{at=blocks}: 3 width stages × 2
    /// blocks and the classifier, 9 exits) run the same way: each early exit's threshold at the
    /// 75th percentile of the interpreter's scores there sends images out at many exits.
    func testWidthAndDepthExitsMatchInterpreter() throws {
        let split = "canonicalize,split-stages{fractions=[0.25,0.5]},insert-exits{at=blocks seed=5"
        var graph = try ONNXLoader.load(path: TestSupport.repoRoot.appendingPathComponent("models/default.onnx").path)
        _ = try PassManager(pipeline: split + "}", verifyEach: true).run(&graph)
        let n = 100
        let x = try Self.images(n)
        let interpreter = try StagedInterpreter(graph: graph)
        var thresholds: [Double] = []
        for s in 1..<graph.stageInfo!.stageCount {
            let y = try interpreter.run([graph.inputs[0].name: x], exitAt: s).outputs[graph.outputs[0]]!
            let scores = (0..<n).map { StagedInterpreter.score(Array(y.scalars[($0 * 10)..<($0 * 10 + 10)]), .softmax) }.sorted()
            thresholds.append(Double(TestSupport.threshold(between: scores, at: n * 3 / 4)))
        }
        var staged = try ONNXLoader.load(path: TestSupport.repoRoot.appendingPathComponent("models/default.onnx").path)
        let t = thresholds.map { String(describing: $0) }.joined(separator: ",")
        _ = try PassManager(pipeline: split + " thresholds=[\(t)]}", verifyEach: true).run(&staged)
        XCTAssertEqual(staged.stageInfo?.axis, .widthDepth)
        try check(compiler: Harness.cc, flags: ["-O2"], samples: n, work: Harness.workDir("dynamic-c-width-depth"), staged: staged)
    }

    /// ASan and UBSan, with gcc and clang, on fewer images.
    func testStagedCUnderSanitizers() throws {
        let flags = ["-O1", "-g", "-fsanitize=address,undefined", "-fno-sanitize-recover=all", "-fno-omit-frame-pointer"]
        let compilers = [Harness.cc] + (Harness.clang.map { [$0] } ?? [])
        XCTAssertEqual(compilers.count, 2, "clang not found: only \(compilers) checked")
        for compiler in compilers {
            try check(compiler: compiler, flags: flags, samples: 40,
                      work: Harness.workDir("dynamic-c-san-\(URL(fileURLWithPath: compiler).lastPathComponent)"))
        }
    }
}
