// EmittedCTiming: compiles emitted C with a small harness (cc -O3 -std=c99 -march=native) and times it over the test images.
import Foundation
import IR

/// Latency of emitted C, measured by running it: a harness reads the preprocessed test images
/// from a file, calls the model once per image (after a warm-up over the first few), times the
/// loop with the monotonic clock and writes each image's label and exit stage.
public enum EmittedCTiming {
    /// What one timed run gave.
    public struct Outcome: Sendable {
        /// Mean wall time per image, in milliseconds.
        public var meanMs: Double
        /// Per image: the label and (dynamic model) the 1-based exit stage, 0 for a static model.
        public var labels: [Int]
        public var exits: [Int]
    }

    /// The C compiler: `$CC`, else the first of cc, gcc, clang on `PATH`; nil when there is none.
    public static func compiler() -> String? {
        let env = ProcessInfo.processInfo.environment
        if let cc = env["CC"], !cc.isEmpty { return cc }
        for dir in (env["PATH"] ?? "/usr/bin:/bin").split(separator: ":") {
            for name in ["cc", "gcc", "clang"] where FileManager.default.isExecutableFile(atPath: "\(dir)/\(name)") {
                return "\(dir)/\(name)"
            }
        }
        return nil
    }

    /// The optimization flags the latency is measured with: `$CFLAGS` when set (split at spaces),
    /// else `-O3 -std=c99 -march=native`: the strict dialect devices compile with, tuned for the
    /// machine that runs the measurement (without `-march`, gcc on x86-64 emits SSE2 only and the
    /// emitted kernels run several times slower than on the device they are written for). A
    /// compiler that refuses `-march=native` gets `-O3 -std=c99`.
    public static func flags(compiler cc: String, work: String) -> [String] {
        if let env = ProcessInfo.processInfo.environment["CFLAGS"], !env.trimmingCharacters(in: .whitespaces).isEmpty {
            return env.split(separator: " ").map(String.init)
        }
        let base = ["-O3", "-std=c99"], probe = work + "/march-probe.c"
        defer { try? FileManager.default.removeItem(atPath: probe); try? FileManager.default.removeItem(atPath: probe + ".o") }
        guard (try? writeAtomically(Data("int probe(void) { return 0; }\n".utf8), to: probe)) != nil,
              (try? run(cc, base + ["-march=native", "-c", probe, "-o", probe + ".o"], what: "probing -march=native")) != nil
        else { return base }
        return base + ["-march=native"]
    }

    /// The harness: `prefix` is the emitted symbol prefix; `dynamic` calls `prefix_predict` (the
    /// staged API), else `prefix_run` and an argmax over `classes` outputs; `weights` is the
    /// weights file to load first, when the code keeps its weights in one.
    static func harness(prefix p: String, header: String, dynamic: Bool, classes: Int, inputSize: Int, weights: String?) -> String {
        let load = weights.map { "    if (\(p)_load_weights(\"\($0)\") != 0) { fprintf(stderr, \"cannot load weights\\n\"); return 2; }\n" } ?? ""
        let call = dynamic
            ? "        \(p)_result r; if (\(p)_predict(x + (size_t)i * IN, NULL, NULL, &r) != 0) return 3; label[i] = r.label; stage[i] = r.exit_stage;\n"
            : """
                      if (\(p)_run(x + (size_t)i * IN, out) != 0) return 3;
                      { int b = 0; for (int k = 1; k < \(classes); k++) if (out[k] > out[b]) b = k; label[i] = b; stage[i] = 0; }

              """
        return """
            /* Latency harness written by s2dc convert: times the model over the images of a file. */
            #define _POSIX_C_SOURCE 199309L
            #include <stdio.h>
            #include <stdlib.h>
            #include <time.h>
            #include "\(header)"
            #define IN \(inputSize)
            static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + 1e-9 * t.tv_nsec; }
            int main(int argc, char **argv) {
                if (argc != 4) { fprintf(stderr, "usage: %s IMAGES.bin COUNT RESULTS.txt\\n", argv[0]); return 1; }
                int n = atoi(argv[2]);
                float *x = malloc(sizeof(float) * (size_t)n * IN);
                int *label = malloc(sizeof(int) * (size_t)n), *stage = malloc(sizeof(int) * (size_t)n);
                float out[\(max(classes, 1))];
                (void)out;
                FILE *f = fopen(argv[1], "rb");
                if (!f || !x || !label || !stage || fread(x, sizeof(float), (size_t)n * IN, f) != (size_t)n * IN) { fprintf(stderr, "cannot read images\\n"); return 1; }
                fclose(f);
            \(load)    for (int i = 0; i < (n < 8 ? n : 8); i++) {
            \(call)    }
                double t0 = now();
                for (int i = 0; i < n; i++) {
            \(call)    }
                double t1 = now();
                FILE *o = fopen(argv[3], "w");
                if (!o) return 1;
                fprintf(o, "%.9f\\n", (t1 - t0) * 1000.0 / n);
                for (int i = 0; i < n; i++) fprintf(o, "%d %d\\n", label[i], stage[i]);
                fclose(o);
                return 0;
            }

            """
    }

    /// Compiles `source` (the emitted .c in `folder`, header beside it) with the harness under
    /// `flags` and runs it over `images` (count × inputSize preprocessed floats). Throws with the
    /// compiler's or the program's message when either fails.
    public static func measure(compiler cc: String, flags: [String], folder: String, source: String, header: String, prefix: String,
                               dynamic: Bool, classes: Int, inputSize: Int, weights: String?, images: [Float],
                               count: Int, work: String) throws -> Outcome {
        let harnessPath = work + "/\(prefix)_harness.c", binary = work + "/\(prefix)_bench"
        let imagesPath = work + "/test-images.bin", results = work + "/\(prefix)_results.txt"
        try writeAtomically(Data(harness(prefix: prefix, header: header, dynamic: dynamic, classes: classes,
                                         inputSize: inputSize, weights: weights).utf8), to: harnessPath)
        if !FileManager.default.fileExists(atPath: imagesPath) {
            try writeAtomically(images.withUnsafeBufferPointer { Data(buffer: $0) }, to: imagesPath)
        }
        try run(cc, flags + ["-I", folder, "-o", binary, harnessPath, folder + "/" + source, "-lm"], what: "compiling \(source)")
        try run(binary, [imagesPath, "\(count)", results], what: "running \(source)")
        guard let text = try? String(contentsOfFile: results, encoding: .utf8) else {
            throw ConvertError("\(results): the latency harness wrote no results")
        }
        var lines = text.split(separator: "\n")
        guard let first = lines.first, let ms = Double(first), lines.count == count + 1 else {
            throw ConvertError("\(results): malformed latency results")
        }
        lines.removeFirst()
        var labels: [Int] = [], exits: [Int] = []
        for l in lines {
            let parts = l.split(separator: " ").compactMap { Int($0) }
            guard parts.count == 2 else { throw ConvertError("\(results): malformed line '\(l)'") }
            labels.append(parts[0])
            exits.append(parts[1])
        }
        return Outcome(meanMs: ms, labels: labels, exits: exits)
    }

    static func run(_ tool: String, _ args: [String], what: String) throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: tool)
        p.arguments = args
        let err = Pipe()
        p.standardError = err
        p.standardOutput = FileHandle.nullDevice
        do { try p.run() } catch { throw ConvertError("\(what): cannot start \(tool): \(error.localizedDescription)") }
        let message = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else {
            throw ConvertError("\(what) failed (status \(p.terminationStatus)): \(String(decoding: message.prefix(2000), as: UTF8.self))")
        }
    }
}
