// RunCommandTests: `s2dc run` end to end: NumPy files in, outputs printed or written, checked by onnxruntime.
import Foundation
import TestSupport
import XCTest

final class RunCommandTests: XCTestCase {
    var work: URL!

    override func setUpWithError() throws {
        work = FileManager.default.temporaryDirectory.appendingPathComponent("s2dc-run-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: work)
    }

    /// Runs python code with the work folder as argv[1]; fails the test unless it exits 0.
    @discardableResult
    func python(_ code: String, file: StaticString = #filePath, line: UInt = #line) -> String {
        guard let r = TestSupport.run(TestSupport.python, ["-c", code, work.path]), r.status == 0 else {
            XCTFail("python failed (numpy and onnxruntime in \(TestSupport.python)?)", file: file, line: line)
            return ""
        }
        return r.out.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    func path(_ name: String) -> String { work.appendingPathComponent(name).path }

    /// The default model on a batch of 5, written as NPZ, matches onnxruntime on the same input.
    func testOutputsMatchOnnxruntime() {
        guard TestSupport.requireONNXPackage() != nil else { return }
        python("""
            import numpy as np, sys, os
            x = np.random.default_rng(1).standard_normal((5, 1, 28, 28)).astype(np.float32)
            np.save(os.path.join(sys.argv[1], 'x.npy'), x)
            np.savez(os.path.join(sys.argv[1], 'x.npz'), input=x)
            """)
        for (input, output) in [(path("x.npy"), path("y.npz")), ("input=" + path("x.npz"), path("y.npy"))] {
            let r = CLI.run(["run", "models/default.onnx", "--input", input, "--output", output])
            XCTAssertEqual(r.status, 0, r.err)
        }
        let verdict = python("""
            import numpy as np, onnxruntime as ort, sys, os
            d = sys.argv[1]
            x = np.load(os.path.join(d, 'x.npy'))
            ref = ort.InferenceSession('models/default.onnx', providers=['CPUExecutionProvider']).run(None, {'input': x})[0]
            a = np.load(os.path.join(d, 'y.npz'))['logits']
            b = np.load(os.path.join(d, 'y.npy'))
            worst = max(np.abs(a - ref).max(), np.abs(b - ref).max()) / np.abs(ref).max()
            print('ok' if a.shape == ref.shape == b.shape and a.dtype == np.float32 and worst <= 1e-4 else f'bad {a.shape} {worst}')
            """)
        XCTAssertEqual(verdict, "ok")
    }

    func testPrintsSummaryAndTiming() {
        guard TestSupport.requireONNXPackage() != nil else { return }
        python("import numpy as np, sys, os; np.save(os.path.join(sys.argv[1], 'x.npy'), np.ones((2, 1, 28, 28), np.float32))")
        let r = CLI.run(["run", "models/default.onnx", "--input", path("x.npy")])
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssert(r.out.hasPrefix("logits: f32[2,10]\n  min "), r.out)
        XCTAssert(r.out.contains("argmax "), r.out)
        let t = CLI.run(["run", "models/default.onnx", "--input", path("x.npy"), "--timing", "--repeat", "3", "--threads", "1"])
        XCTAssertEqual(t.status, 0, t.err)
        XCTAssert(t.out.hasPrefix("median_ms="), t.out)
        XCTAssert(t.out.contains("runs=3 threads=1"), t.out)
    }

    /// Wrong dtype, wrong shape, an unknown or missing input, a file that is not NPY: a clear message
    /// on stderr and a non-zero exit.
    func testBadInputsFailClearly() {
        guard TestSupport.requireONNXPackage() != nil else { return }
        python("""
            import numpy as np, sys, os
            d = sys.argv[1]
            np.save(os.path.join(d, 'u8.npy'), np.zeros((1, 1, 28, 28), np.uint8))
            np.save(os.path.join(d, 'f64.npy'), np.zeros((1, 1, 28, 28)))
            np.save(os.path.join(d, 'shape.npy'), np.zeros((1, 3, 28, 28), np.float32))
            np.savez(os.path.join(d, 'other.npz'), image=np.zeros((1, 1, 28, 28), np.float32))
            open(os.path.join(d, 'text.npy'), 'w').write('1,2,3')
            """)
        let cases: [([String], String)] = [
            (["--input", path("u8.npy")], "input 'input': has dtype uint8; the model expects float32"),
            (["--input", path("f64.npy")], "has dtype '<f8', which is not supported"),
            (["--input", path("shape.npy")], "input 'input': has shape [1, 3, 28, 28]; the model expects f32[batch,1,28,28]"),
            (["--input", path("other.npz")], "input 'image': the model has no such input (its inputs: 'input')"),
            (["--input", path("text.npy")], "is not an NPY file"),
            (["--input", path("absent.npy")], "no such file"),
        ]
        for (arguments, expected) in cases {
            let r = CLI.run(["run", "models/default.onnx"] + arguments)
            XCTAssertNotEqual(r.status, 0, "\(arguments)")
            XCTAssert(r.err.contains(expected), "\(arguments): expected '\(expected)' in: \(r.err)")
        }
        let missing = CLI.run(["run", "models/default.onnx"])
        XCTAssertNotEqual(missing.status, 0)
        XCTAssert(missing.err.contains("--input"), missing.err)
    }
}
