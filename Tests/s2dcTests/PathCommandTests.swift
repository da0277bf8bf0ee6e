// PathCommandTests: outputs checked before long work, messages that name the problem, inputs read as written (issue 16).
import Foundation
import TestSupport
import XCTest

final class PathCommandTests: XCTestCase {
    var work: URL!
    let model = "models/default.onnx"

    override func setUpWithError() throws {
        work = FileManager.default.temporaryDirectory.appendingPathComponent("s2dc-paths-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: work.appendingPathComponent("dir"), withIntermediateDirectories: true)
        try Data("x".utf8).write(to: work.appendingPathComponent("existing.txt"))
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: work) }

    func path(_ name: String) -> String { work.appendingPathComponent(name).path }

    func listing() throws -> [String] { try FileManager.default.contentsOfDirectory(atPath: work.path).sorted() }

    /// Writes x.npy (one image), tiny.npz (a train/test set) and xy.npz (x, y only) with numpy.
    func writeArrays(file: StaticString = #filePath, line: UInt = #line) {
        let code = """
            import numpy as np, sys, os
            d = sys.argv[1]
            np.save(os.path.join(d, 'x.npy'), np.zeros((1, 1, 28, 28), np.float32))
            np.savez(os.path.join(d, 'tiny.npz'), x_train=np.zeros((8, 1, 28, 28), np.uint8), y_train=np.arange(8) % 10,
                     x_test=np.zeros((4, 1, 28, 28), np.uint8), y_test=np.arange(4))
            np.savez(os.path.join(d, 'xy.npz'), x=np.zeros((5, 1, 28, 28), np.uint8), y=np.arange(5))
            np.savez(os.path.join(d, 'empty.npz'))
            """
        guard let r = TestSupport.run(TestSupport.python, ["-c", code, work.path]), r.status == 0 else {
            return XCTFail("python with numpy failed (\(TestSupport.python))", file: file, line: line)
        }
    }

    /// Runs s2dc and expects status 1 with `expected` in its standard error.
    func assertFails(_ arguments: [String], _ expected: String, file: StaticString = #filePath, line: UInt = #line) {
        let r = CLI.run(arguments, file: file, line: line)
        XCTAssertEqual(r.status, 1, "\(arguments): \(r.err)", file: file, line: line)
        XCTAssertTrue(r.err.contains(expected), "\(arguments): expected '\(expected)' in: \(r.err)", file: file, line: line)
        XCTAssertFalse(r.err.contains("NSCocoaErrorDomain"), r.err, file: file, line: line)
    }

    /// train checks the model and checkpoint paths before it loads data or takes a step, and
    /// leaves nothing behind (no DIR.ckpt beside an existing folder).
    func testTrainChecksOutputsBeforeTheFirstStep() throws {
        writeArrays()
        let before = try listing()
        let data = ["--data", path("tiny.npz"), "--epochs", "1"]
        for (output, extra, expected) in [
            ("/proc/x.onnx", [String](), "cannot write the trained model to '/proc/x.onnx': the folder '/proc' does not accept new files"),
            (path("dir"), [], "cannot write the trained model to '\(path("dir"))': it is a folder; give a file name"),
            (path("ok.onnx"), ["--checkpoint", "/proc/c.ckpt"], "cannot write the checkpoint to '/proc/c.ckpt'"),
            (path("missing/x.onnx"), [], "the folder '\(path("missing"))' does not exist"),
        ] {
            let r = CLI.run(["train", model, "-o", output] + data + extra)
            XCTAssertEqual(r.status, 1, r.err)
            XCTAssertTrue(r.err.contains(expected), "expected '\(expected)' in: \(r.err)")
            XCTAssertFalse(r.err.contains("training "), "no training may start: \(r.err)")
        }
        XCTAssertEqual(try listing(), before)
    }

    func testEmitNamesTheProblem() {
        assertFails(["emit", model, "-o", path("existing.txt")],
                    "cannot use '\(path("existing.txt"))' as the output folder: it is a file, not a folder")
        assertFails(["emit", model, "-o", path("existing.txt/sub")], "'\(path("existing.txt"))' is not a folder")
        assertFails(["emit", model, "-o", "/proc"], "cannot use '/proc' as the output folder: the folder '/proc' does not accept new files")
    }

    func testRunOutputAndInputsAreReadAsWritten() throws {
        writeArrays()
        let x = path("x.npy")
        assertFails(["run", model, "--input", x, "--output", path("dir")],
                    "cannot write the outputs to '\(path("dir"))': it is a folder; give a file name")
        assertFails(["run", model, "--input", x, "--output", path("missing/y.npz")], "the folder '\(path("missing"))' does not exist")
        assertFails(["run", model, "--input", x, "--output", path("y.txt")], "the output file must end in .npz (all outputs by name) or .npy")
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("y.txt")))
        assertFails(["run", model, "--input", "nosuch=" + x], "--input nosuch=\(x): the model has no input 'nosuch' (its inputs: 'input')")
        assertFails(["run", model, "--input", path("empty.npz")], "file '\(path("empty.npz"))': is an NPZ archive that has no arrays")
        let ok = CLI.run(["run", model, "--input", "input=" + x, "--output", path("y.npy")])
        XCTAssertEqual(ok.status, 0, ok.err)
    }

    func testOptGivenAFolderIsAFileError() {
        assertFails(["opt", path("dir"), "--passes=canonicalize"], "file '\(path("dir"))': not a regular file")
        assertFails(["opt", path("dir") + ".onnx", "--passes=canonicalize"], "not found")
        assertFails(["inspect", path("dir")], "not a regular file")
    }

    /// eval --data file.npz with only x and y evaluates those, as the README says.
    func testEvalReadsAnNPZWithOnlyXAndY() {
        writeArrays()
        let r = CLI.run(["eval", model, "--data", path("xy.npz")])
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertTrue(r.out.contains("images=5"), r.out)
    }
}
