// RealModelTests: whole models through the emitted C (gcc and clang, sanitizers) and the emitted
// Swift, against onnxruntime; and the node-test subset through the emitted Swift.

import Backend
import Foundation
import IR
import ONNX
import TestSupport
import XCTest

final class RealModelTests: XCTestCase {
    /// The issue's bound: max |emitted − onnxruntime| ≤ 1e-4 · max |onnxruntime|.
    static let bound: Float = 1e-4

    static let lightModels = [
        "light_bvlc_alexnet", "light_densenet121", "light_inception_v1", "light_inception_v2", "light_resnet50",
        "light_shufflenet", "light_squeezenet", "light_vgg19", "light_zfnet512",
    ]
    /// The runtime tests' torchvision exports (Tests/RuntimeTests/Fixtures/torchvision, 64×64 inputs).
    static let torchvisionModels = [
        "resnet18", "mobilenet_v2", "mobilenet_v3_small", "efficientnet_b0", "shufflenet_v2", "squeezenet1_1",
        "densenet121", "regnet",
    ]
    /// The emitted Swift compiles slowly and runs on plain loops: a light subset with every op
    /// family, and the torchvision exports.
    static let swiftModels = ["default", "light_squeezenet", "light_shufflenet", "light_inception_v1"] + torchvisionModels

    /// Model copies, inputs and onnxruntime outputs, made once per test run.
    static let references: (dir: URL, models: [String])? = {
        guard let onnxDir = TestSupport.onnxPackageDir else { return nil }
        let dir = Harness.workDir("real-references")
        let paths = [TestSupport.repoRoot.appendingPathComponent("models/default.onnx").path]
            + lightModels.map { "\(onnxDir)/backend/test/data/light/\($0).onnx" }
            + torchvisionModels.map { TestSupport.fixtures(of: "RuntimeTests").appendingPathComponent("torchvision/\($0).onnx").path }
        let script = TestSupport.repoRoot.appendingPathComponent("scripts/make-backend-references.py").path
        guard let r = TestSupport.run(TestSupport.python, [script, dir.path] + paths), r.status == 0 else { return nil }
        return (dir, ["default"] + lightModels + torchvisionModels)
    }()

    static func requireReferences() throws -> (dir: URL, models: [String]) {
        guard let refs = references else {
            XCTFail("make-backend-references.py failed: onnx and onnxruntime must be installed in \(TestSupport.python)")
            throw XCTSkip("no references")
        }
        return refs
    }

    static func expected(_ refs: URL, _ stem: String, outputs: Int) throws -> [[Float]] {
        try (0..<outputs).map { try Harness.readRaw(refs.appendingPathComponent("\(stem).out\($0).raw")) }
    }

    /// Emits `stem` as C into its own folder, compiles it with the strict flags plus `extra`, runs
    /// it on the reference input, and returns the largest relative difference over its outputs.
    static func runC(_ stem: String, refs: URL, work: URL, compiler: String? = nil, extra: [String]) throws -> Float {
        let graph = try ONNXLoader.load(path: refs.appendingPathComponent("\(stem).onnx").path)
        let result = try CodeGenerator.emit(graph, target: .c, name: "m", options: EmitOptions(prefix: "m"))
        try Harness.write(result.files, to: work)
        let file = result.weightStorage == .file
        try Harness.driver(name: "m", prefix: "m", inputs: graph.inputs.count, outputs: graph.outputs.count, fileWeights: file)
            .write(to: work.appendingPathComponent("driver.c"), atomically: true, encoding: .utf8)
        if let err = Harness.compile(work, sources: ["m.c", "driver.c"], exe: "run", compiler: compiler, flags: Harness.strictFlags + extra) {
            throw BackendError(err)
        }
        let ins = graph.inputs.indices.map { refs.appendingPathComponent("\(stem).in\($0).raw").path }
        let outs = graph.outputs.indices.map { work.appendingPathComponent("out\($0).raw").path }
        guard let r = TestSupport.run(work.appendingPathComponent("run").path, (file ? [work.appendingPathComponent("m.bin").path] : []) + ins + outs) else {
            throw BackendError("cannot start the compiled program")
        }
        guard r.status == 0 else { throw BackendError("exit \(r.status): \(r.err.prefix(3000))") }
        let want = try expected(refs, stem, outputs: graph.outputs.count)
        return try outs.enumerated().map { Harness.relativeDifference(try Harness.readRaw(URL(fileURLWithPath: $1)), want[$0]) }.max() ?? 0
    }

    /// The default model, the nine light models and the torchvision exports through the emitted C (-O2), each output
    /// within 1e-4 of onnxruntime's (relative to its largest magnitude).
    func testModelsThroughEmittedCMatchOnnxruntime() throws {
        let refs = try Self.requireReferences()
        let work = Harness.workDir("real-c")
        let lock = NSLock()
        var lines: [String: String] = [:]
        Harness.parallel(refs.models) { stem in
            let line: String
            do {
                let ratio = try Self.runC(stem, refs: refs.dir, work: work.appendingPathComponent(stem), extra: ["-O2"])
                line = String(format: "%.2e", ratio) + (ratio <= Self.bound ? "" : "  EXCEEDS \(Self.bound)")
            } catch {
                line = "FAILED: \(error)"
            }
            lock.lock(); lines[stem] = line; lock.unlock()
        }
        var report = "models through the emitted C vs onnxruntime (max |difference| / max |reference|, bound \(Self.bound)):\n"
        for stem in refs.models { report += "  \(stem.padding(toLength: 20, withPad: " ", startingAt: 0)) \(lines[stem]!)\n" }
        print(report)
        for stem in refs.models { XCTAssertFalse(lines[stem]!.contains("FAILED") || lines[stem]!.contains("EXCEEDS"), "\(stem): \(lines[stem]!)") }
    }

    /// The SIMD paths of the emitted C: the AVX2+FMA tiles and, with AVX-512F, the 512-bit tiles
    /// (grouped row blocks, twice the columns), each against onnxruntime within the same bound.
    /// Without -m flags (the test above) only the portable loops are compiled. A path the CPU
    /// cannot run is compiled with the strict flags but not run, and the report says so.
    func testSIMDTilesMatchOnnxruntime() throws {
        let refs = try Self.requireReferences()
        #if arch(x86_64)
        let cpuFlags = Set(((try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? "")
            .split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "\t" }).map(String.init))
        let paths: [(name: String, flags: [String], needs: [String])] = [
            ("avx2+fma", ["-O2", "-mavx2", "-mfma"], ["avx2", "fma"]),
            ("avx512f", ["-O2", "-mavx512f", "-mavx512vl", "-mfma"], ["avx512f", "avx512vl", "fma"]),
        ]
        let stems = ["default", "resnet18", "mobilenet_v2", "efficientnet_b0", "squeezenet1_1", "regnet"].filter(refs.models.contains)
        XCTAssertEqual(stems.count, 6, "missing references: \(stems)")
        let work = Harness.workDir("simd-c")
        let lock = NSLock()
        var lines: [String: String] = [:]
        let jobs = paths.flatMap { path in stems.map { (path, $0) } }
        Harness.parallel(jobs) { path, stem in
            let dir = work.appendingPathComponent(path.name).appendingPathComponent(stem)
            let runs = path.needs.allSatisfy(cpuFlags.contains)
            let line: String
            do {
                if runs {
                    let ratio = try Self.runC(stem, refs: refs.dir, work: dir, extra: path.flags)
                    line = String(format: "%.2e", ratio) + (ratio <= Self.bound ? "" : "  EXCEEDS \(Self.bound)")
                } else {
                    let graph = try ONNXLoader.load(path: refs.dir.appendingPathComponent("\(stem).onnx").path)
                    let result = try CodeGenerator.emit(graph, target: .c, name: "m", options: EmitOptions(prefix: "m"))
                    try Harness.write(result.files, to: dir)
                    if let err = Harness.compile(dir, sources: ["m.c"], exe: "m.o", flags: Harness.strictFlags + path.flags + ["-c"]) {
                        throw BackendError(err)
                    }
                    line = "compiled only (this CPU lacks \(path.needs.filter { !cpuFlags.contains($0) }.joined(separator: ", ")))"
                }
            } catch {
                line = "FAILED: \(error)"
            }
            lock.lock(); lines["\(path.name) \(stem)"] = line; lock.unlock()
        }
        var report = "SIMD paths of the emitted C vs onnxruntime (max |difference| / max |reference|, bound \(Self.bound)):\n"
        for (path, stem) in jobs { report += "  \(path.name.padding(toLength: 9, withPad: " ", startingAt: 0)) \(stem.padding(toLength: 16, withPad: " ", startingAt: 0)) \(lines["\(path.name) \(stem)"]!)\n" }
        print(report)
        for (path, stem) in jobs {
            let line = lines["\(path.name) \(stem)"]!
            XCTAssertFalse(line.contains("FAILED") || line.contains("EXCEEDS"), "\(path.name) \(stem): \(line)")
        }
        // The 512-bit tiles are there to be tested: plain and transposed ones, in the emitted files.
        let resnet = try String(contentsOf: work.appendingPathComponent("avx512f/resnet18/m.c"), encoding: .utf8)
        XCTAssertTrue(resnet.contains("m_tilez_") || resnet.contains("m_tileoz_"), "no 512-bit plain tile in resnet18")
        let all = try stems.map { try String(contentsOf: work.appendingPathComponent("avx512f/\($0)/m.c"), encoding: .utf8) }.joined()
        XCTAssertTrue(all.contains("m_tilez_t"), "no grouped 512-bit transposed tile in any model")
        #else
        print("SIMD paths: not an x86-64 host; only the portable loops are tested")
        #endif
    }

    /// `--cblas`: convolutions through `cblas_sgemm` (OpenBLAS here) give the same answers.
    func testCblasVariantMatchesOnnxruntime() throws {
        let refs = try Self.requireReferences()
        guard let pc = TestSupport.run("pkg-config", ["--cflags", "--libs", "openblas"]), pc.status == 0 else {
            return XCTFail("pkg-config cannot find openblas (the Makefile installs libopenblas-dev)")
        }
        let blasFlags = pc.out.split(whereSeparator: \.isWhitespace).map(String.init)
        let (cflags, libs) = (blasFlags.filter { $0.hasPrefix("-I") }, blasFlags.filter { !$0.hasPrefix("-I") })
        let work = Harness.workDir("cblas")
        for stem in ["default", "light_squeezenet"] {
            let graph = try ONNXLoader.load(path: refs.dir.appendingPathComponent("\(stem).onnx").path)
            let result = try CodeGenerator.emit(graph, target: .c, name: "m", options: EmitOptions(prefix: "m", weights: .file, cblas: true))
            let dir = work.appendingPathComponent(stem)
            try Harness.write(result.files, to: dir)
            try Harness.driver(name: "m", prefix: "m", inputs: 1, outputs: 1, fileWeights: true)
                .write(to: dir.appendingPathComponent("driver.c"), atomically: true, encoding: .utf8)
            XCTAssertNil(Harness.compile(dir, sources: ["m.c", "driver.c"], exe: "run", flags: Harness.strictFlags + ["-O2"] + cflags, libs: libs), stem)
            let out = dir.appendingPathComponent("out0.raw")
            let r = TestSupport.run(dir.appendingPathComponent("run").path, [dir.appendingPathComponent("m.bin").path,
                                                                             refs.dir.appendingPathComponent("\(stem).in0.raw").path, out.path])
            XCTAssertEqual(r?.status, 0, r?.err ?? "")
            let ratio = Harness.relativeDifference(try Harness.readRaw(out), try Self.expected(refs.dir, stem, outputs: 1)[0])
            XCTAssertLessThanOrEqual(ratio, Self.bound, stem)
        }
    }

    /// The emitted C under AddressSanitizer and UndefinedBehaviorSanitizer, with gcc and clang:
    /// the default model, a light model, and node tests with padding, strides, groups and broadcasting.
    func testEmittedCUnderSanitizers() throws {
        let refs = try Self.requireReferences()
        let work = Harness.workDir("sanitizers")
        let flags = ["-O1", "-g", "-fsanitize=address,undefined", "-fno-sanitize-recover=all", "-fno-omit-frame-pointer"]
        let compilers = [Harness.cc] + (Harness.clang.map { [$0] } ?? [])
        XCTAssertEqual(compilers.count, 2, "clang not found: only \(compilers) checked")
        let nodeNames: Set<String> = ["test_conv_with_strides_and_asymmetric_padding", "test_maxpool_2d_ceil", "test_averagepool_2d_pads_count_include_pad",
                                      "test_gemm_default_matrix_bias", "test_matmul_4d", "test_pad_reflect_mode", "test_softmax_axis_1", "test_lrn",
                                      "test_concat_3d_axis_1", "test_add_bcast", "test_basic_conv_with_padding", "test_slice_neg_steps"]
        let nodeCases = NodeCases.load(work: work.appendingPathComponent("node-data")).cases.filter { nodeNames.contains($0.name) }
        XCTAssertGreaterThanOrEqual(nodeCases.count, 8)
        // Every (compiler, model or node test) pair is its own compile: run them on every core.
        let jobs = compilers.flatMap { compiler in
            ["default", "light_squeezenet", "light_shufflenet"].map { (compiler, $0, nil as NodeCase?) } + nodeCases.map { (compiler, $0.name, $0 as NodeCase?) }
        }
        let lock = NSLock()
        var results: [String: String?] = [:]
        Harness.parallel(jobs) { compiler, name, node in
            let dir = work.appendingPathComponent("\(name)-\(URL(fileURLWithPath: compiler).lastPathComponent)")
            var failure: String?
            if let node {
                failure = NodeTestCTests.run(node, work: dir, compiler: compiler, flags: Harness.strictFlags + flags)
            } else {
                do {
                    let ratio = try Self.runC(name, refs: refs.dir, work: dir, compiler: compiler, extra: flags)
                    failure = ratio <= Self.bound ? nil : "difference \(ratio) exceeds \(Self.bound)"
                } catch {
                    failure = "\(error)"
                }
            }
            lock.lock(); results.updateValue(failure, forKey: "\(compiler) \(name)"); lock.unlock()
        }
        var report = "emitted C under -fsanitize=address,undefined:\n"
        for compiler in compilers {
            let mine = jobs.filter { $0.0 == compiler }
            let failed = mine.compactMap { job in (results["\(compiler) \(job.1)"] ?? "no result").map { "\(job.1): \($0)" } }
            for f in failed { XCTFail("\(compiler) \(f)") }
            report += "  \(compiler): \(mine.count - failed.count) of \(mine.count) clean (3 models, \(nodeCases.count) node tests)\n"
        }
        print(report)
    }

    /// One swiftc -O build holds the Swift of one node test per op and of `swiftModels`; its main
    /// runs each on its data and the outputs are compared: node tests at rtol 1e-3 / atol 1e-5,
    /// models within 1e-4 of onnxruntime.
    func testEmittedSwift() throws {
        let refs = try Self.requireReferences()
        let work = Harness.workDir("swift")
        let (cases, _, _) = NodeCases.load(work: work.appendingPathComponent("node-data"))
        var perOp: [String: NodeCase] = [:]
        for c in cases where perOp[c.op] == nil { perOp[c.op] = c }
        let chosen = perOp.keys.sorted().map { perOp[$0]! }
        var main = """
            import Foundation
            func readRaw(_ p: String) -> [Float] {
                let d = FileManager.default.contents(atPath: p)!
                return d.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
            }
            func writeRaw(_ v: [Float], _ p: String) { _ = v.withUnsafeBytes { FileManager.default.createFile(atPath: p, contents: Data($0)) } }
            func job(_ ins: [String], _ outs: [String], _ f: ([[Float]]) throws -> [[Float]]) {
                do {
                    let r = try f(ins.map(readRaw))
                    for (v, p) in zip(r, outs) { writeRaw(v, p) }
                } catch { print("error: \\(error)") }
            }

            """
        var sources = ["main.swift"]
        var checks: [(name: String, outs: [URL], expected: [[Float]], model: Bool)] = []
        for (i, c) in chosen.enumerated() {
            let result = try CodeGenerator.emit(c.graph, target: .swift, name: "n\(i)", options: EmitOptions(prefix: "n\(i)", weights: .inline))
            try Harness.write(result.files, to: work)
            sources.append("n\(i).swift")
            let set = c.dataSets[0]
            let outs = c.graph.outputs.indices.map { work.appendingPathComponent("n\(i).out\($0).raw") }
            main += "job(\(set.inputs.map(\.path)), \(outs.map(\.path))) { try N\(i)().run(inputs: $0) }\n"
            checks.append((c.name, outs, set.expected, false))
        }
        for stem in Self.swiftModels {
            let graph = try ONNXLoader.load(path: refs.dir.appendingPathComponent("\(stem).onnx").path)
            let prefix = "m_\(stem)"
            // The default model keeps its weights inline (a base64 literal); the others read a .bin,
            // which also keeps multi-megabyte literals out of the compiler.
            let result = try CodeGenerator.emit(graph, target: .swift, name: prefix,
                                                options: EmitOptions(prefix: prefix, weights: stem == "default" ? .inline : .file))
            try Harness.write(result.files, to: work)
            sources.append("\(prefix).swift")
            let ins = graph.inputs.indices.map { refs.dir.appendingPathComponent("\(stem).in\($0).raw").path }
            let outs = graph.outputs.indices.map { work.appendingPathComponent("\(stem).out\($0).raw") }
            let make = result.weightStorage == .file ? "M_\(stem)(weightsPath: \"\(work.appendingPathComponent("\(prefix).bin").path)\")" : "M_\(stem)()"
            main += "job(\(ins), \(outs.map(\.path))) { try \(make).run(inputs: $0) }\n"
            checks.append((stem, outs, try Self.expected(refs.dir, stem, outputs: graph.outputs.count), true))
        }
        try main.write(to: work.appendingPathComponent("main.swift"), atomically: true, encoding: .utf8)
        guard let build = TestSupport.run("swiftc", ["-O", "-j", "\(ProcessInfo.processInfo.activeProcessorCount)",
                                                       "-suppress-warnings", "-o", "run"] + sources, cwd: work) else { return XCTFail("cannot start swiftc") }
        guard build.status == 0 else { return XCTFail("swiftc failed:\n\(build.err.prefix(4000))") }
        guard let r = TestSupport.run(work.appendingPathComponent("run").path, []), r.status == 0 else { return XCTFail("the Swift program failed") }
        if r.out.contains("error:") { XCTFail(r.out) }
        var passed = 0
        var report = "emitted Swift: \(chosen.count) node tests (one per op) and \(Self.swiftModels.count) models:\n"
        for check in checks {
            let actual = try? check.outs.map { try Harness.readRaw($0) }
            guard let actual, actual.count == check.expected.count else { XCTFail("\(check.name): no output"); continue }
            if check.model {
                let ratio = zip(actual, check.expected).map { Harness.relativeDifference($0, $1) }.max() ?? 0
                report += "  \(check.name.padding(toLength: 20, withPad: " ", startingAt: 0)) \(String(format: "%.2e", ratio))\n"
                XCTAssertLessThanOrEqual(ratio, Self.bound, check.name)
                if ratio <= Self.bound { passed += 1 }
            } else {
                let why = zip(actual, check.expected).compactMap { Harness.mismatch($0, $1) }.first
                XCTAssertNil(why, check.name)
                if why == nil { passed += 1 } else { report += "  FAILED \(check.name): \(why!)\n" }
            }
        }
        report += "\(passed) passed, \(checks.count - passed) failed\n"
        print(report)
    }
}
