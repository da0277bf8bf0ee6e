// EmitHarness: emits a graph, compiles the code with a driver, runs it on raw float files, compares.

import Backend
import Foundation
import IR
import TestSupport
import XCTest

enum Harness {
    /// The issue's flags for every emitted C file.
    static let strictFlags = ["-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic"]

    /// gcc (cc) and clang, when present.
    static var cc: String { ProcessInfo.processInfo.environment["CC"] ?? "cc" }
    static let clang: String? = {
        if FileManager.default.isExecutableFile(atPath: "/opt/swift/usr/bin/clang") { return "/opt/swift/usr/bin/clang" }
        return TestSupport.run("clang", ["--version"])?.status == 0 ? "clang" : nil
    }()

    /// A fresh folder under .build for one test's files.
    static func workDir(_ name: String) -> URL {
        let dir = TestSupport.repoRoot.appendingPathComponent(".build/backend-tests/\(name)")
        try? FileManager.default.removeItem(at: dir)
        try! FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }

    static func write(_ files: [EmittedFile], to dir: URL) throws {
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        for f in files { try Data(f.contents).write(to: dir.appendingPathComponent(f.name)) }
    }

    static func writeRaw(_ v: [Float], to url: URL) throws {
        try v.withUnsafeBytes { try Data($0).write(to: url) }
    }

    static func readRaw(_ url: URL) throws -> [Float] {
        let d = try Data(contentsOf: url)
        return d.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
    }

    /// A C main that reads each input from a raw float file named on the command line, runs the
    /// model (optionally loading weights from argv[1] first), and writes each output to a file.
    static func driver(name: String, prefix: String, inputs: Int, outputs: Int, fileWeights: Bool) -> String {
        let P = prefix.uppercased()
        let inMacro = inputs == 1 ? ["\(P)_INPUT_SIZE"] : (0..<inputs).map { "\(P)_INPUT\($0)_SIZE" }
        let outMacro = outputs == 1 ? ["\(P)_OUTPUT_SIZE"] : (0..<outputs).map { "\(P)_OUTPUT\($0)_SIZE" }
        let first = fileWeights ? 2 : 1
        var s = """
            #include <stdio.h>
            #include <stdlib.h>
            #include "\(name).h"

            static float *alloc(long n) { return (float *)malloc(sizeof(float) * (size_t)(n > 0 ? n : 1)); }

            int main(int argc, char **argv)
            {
                if (argc != \(first + inputs + outputs)) { fprintf(stderr, "usage\\n"); return 2; }

            """
        if fileWeights {
            s += "    { int e = \(prefix)_load_weights(argv[1]); if (e != 0) { fprintf(stderr, \"load_weights: %d\\n\", e); return 3; } }\n"
        }
        for (i, m) in inMacro.enumerated() {
            s += """
                    float *in\(i) = alloc(\(m));
                    { FILE *f = fopen(argv[\(first + i)], "rb"); if (!f || fread(in\(i), sizeof(float), \(m), f) != (size_t)\(m)) { fprintf(stderr, "short input \(i)\\n"); return 4; } fclose(f); }

                """
        }
        for (i, m) in outMacro.enumerated() { s += "    float *out\(i) = alloc(\(m));\n" }
        let args = (0..<inputs).map { "in\($0)" } + (0..<outputs).map { "out\($0)" }
        s += "    int r = \(prefix)_run(\(args.joined(separator: ", ")));\n"
        s += "    if (r != 0) { fprintf(stderr, \"run: %d\\n\", r); return 5; }\n"
        for (i, m) in outMacro.enumerated() {
            s += "    { FILE *f = fopen(argv[\(first + inputs + i)], \"wb\"); if (!f) return 6; fwrite(out\(i), sizeof(float), \(m), f); fclose(f); }\n"
        }
        for i in 0..<inputs { s += "    free(in\(i));\n" }
        for i in 0..<outputs { s += "    free(out\(i));\n" }
        s += "    return 0;\n}\n"
        return s
    }

    /// Compiles `sources` in `dir` into `exe`; returns the compiler's complaint on failure.
    static func compile(_ dir: URL, sources: [String], exe: String, compiler: String? = nil, flags: [String], libs: [String] = []) -> String? {
        let args = flags + sources + ["-o", exe] + libs + ["-lm"]
        guard let r = TestSupport.run(compiler ?? cc, args, cwd: dir) else { return "cannot start \(compiler ?? cc)" }
        return r.status == 0 ? nil : "\(compiler ?? cc) \(args.joined(separator: " ")):\n\(String(r.err.prefix(3000)))"
    }

    /// Nil when `actual` matches `expected` (|a − e| ≤ atol + rtol·|e|, NaN and ±∞ agreeing).
    static func mismatch(_ actual: [Float], _ expected: [Float], rtol: Float = 1e-3, atol: Float = 1e-5) -> String? {
        guard actual.count == expected.count else { return "\(actual.count) values, expected \(expected.count)" }
        for (i, (a, e)) in zip(actual, expected).enumerated() {
            let ok: Bool
            if e.isNaN || a.isNaN { ok = e.isNaN && a.isNaN }
            else if e.isInfinite || a.isInfinite { ok = a == e }
            else { ok = abs(a - e) <= atol + rtol * abs(e) }
            if !ok { return "element \(i) is \(a), expected \(e)" }
        }
        return nil
    }

    /// max |a − e| / max |e|.
    static func relativeDifference(_ actual: [Float], _ expected: [Float]) -> Float {
        let scale = expected.map(abs).max() ?? 0
        let diff = zip(actual, expected).map { abs($0 - $1) }.max() ?? 0
        return actual.count == expected.count && scale > 0 ? diff / scale : .infinity
    }

    /// Runs `work` over `items` on every core.
    static func parallel<T>(_ items: [T], _ work: (T) -> Void) {
        DispatchQueue.concurrentPerform(iterations: items.count) { work(items[$0]) }
    }
}
