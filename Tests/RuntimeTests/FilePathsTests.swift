// FilePathsTests: output paths refused before any work with a message that names the problem, inputs read as written.
import Foundation
import IR
@testable import Runtime
import XCTest

final class FilePathsTests: XCTestCase {
    var dir: URL!

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("s2dc-paths-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try Data().write(to: dir.appendingPathComponent("file.txt"))
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("sub"), withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    func path(_ name: String) -> String { dir.appendingPathComponent(name).path }

    /// What `body` throws, as text ("" when it does not throw).
    func message(_ body: () throws -> Void) -> String {
        do { try body() } catch { return "\(error)" }
        return ""
    }

    func listing() throws -> [String] { try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted() }

    func testWritableFile() throws {
        let before = try listing()
        XCTAssertEqual(message { try FilePaths.requireWritableFile(self.path("new.onnx"), what: "the model") }, "")
        XCTAssertEqual(message { try FilePaths.requireWritableFile(self.path("file.txt"), what: "the model") }, "")
        let cases: [(String, String)] = [
            ("/proc/x.onnx", "cannot write the model to '/proc/x.onnx': the folder '/proc' does not accept new files ("),
            (path("sub"), "cannot write the model to '\(path("sub"))': it is a folder; give a file name"),
            (path("sub") + "/", "the path names a folder; give a file name"),
            (path("missing/x.onnx"), "the folder '\(path("missing"))' does not exist"),
            (path("file.txt/x.onnx"), "'\(path("file.txt"))' is not a folder"),
            ("/dev/null", "it is a device"),
        ]
        for (p, expected) in cases {
            let text = message { try FilePaths.requireWritableFile(p, what: "the model") }
            XCTAssertTrue(text.contains(expected), "\(p): \(text)")
        }
        // The probe file is removed again: the check leaves nothing behind.
        XCTAssertEqual(try listing(), before)
    }

    func testWritableFolder() throws {
        let before = try listing()
        for ok in [dir.path, path("sub"), path("new/deeper")] {
            XCTAssertEqual(message { try FilePaths.requireWritableFolder(ok, what: "the output folder") }, "", ok)
        }
        let cases: [(String, String)] = [
            (path("file.txt"), "cannot use '\(path("file.txt"))' as the output folder: it is a file, not a folder"),
            (path("file.txt/sub"), "'\(path("file.txt"))' is not a folder"),
            ("/proc", "the folder '/proc' does not accept new files ("),
            ("/proc/new", "the folder '/proc' does not accept new files ("),
        ]
        for (p, expected) in cases {
            let text = message { try FilePaths.requireWritableFolder(p, what: "the output folder") }
            XCTAssertTrue(text.contains(expected), "\(p): \(text)")
        }
        XCTAssertEqual(try listing(), before, "the check creates no folder")
    }

    func testRegularFile() {
        XCTAssertEqual(message { try FilePaths.requireRegularFile(self.path("file.txt")) }, "")
        XCTAssertEqual(message { try FilePaths.requireRegularFile(self.path("sub")) }, "file '\(path("sub"))': not a regular file (it is a folder)")
        XCTAssertEqual(message { try FilePaths.requireRegularFile(self.path("none")) }, "file '\(path("none"))': no such file")
    }

    /// Array files: writes onto a folder or into a missing folder say so (not a Foundation dump).
    func testArrayFileWritesNameTheProblem() {
        let array = NumPyArray(shape: [1], elements: .float32([1]))
        XCTAssertEqual(message { try NPY.write(array, to: self.path("sub")) },
                       "cannot write the array file to '\(path("sub"))': it is a folder; give a file name")
        XCTAssertTrue(message { try NPZ.write([("a", array)], to: self.path("missing/a.npz")) }.contains("does not exist"))
    }

    // MARK: run's inputs and outputs

    let inputs = [GraphInput(name: "input", type: TensorType(shape: [1, 2]))]

    func testNamedInputIsReadAsWritten() throws {
        try NPY.write(NumPyArray(shape: [1, 2], elements: .float32([1, 2])), to: path("x.npy"))
        XCTAssertEqual(message { _ = try InputFiles.load(["nosuch=" + self.path("x.npy")], for: self.inputs) },
                       "--input nosuch=\(path("x.npy")): the model has no input 'nosuch' (its inputs: 'input')")
        XCTAssertEqual(try InputFiles.load(["input=" + path("x.npy")], for: inputs)["input"]?.scalars, [1, 2])
        // A file whose name holds '=' is still a file.
        try NPY.write(NumPyArray(shape: [1, 2], elements: .float32([3, 4])), to: path("a=b.npy"))
        XCTAssertEqual(try InputFiles.load([path("a=b.npy")], for: inputs)["input"]?.scalars, [3, 4])
    }

    func testEmptyNPZHasNoArrays() throws {
        // What np.savez(path) writes with no arrays: a ZIP end record alone.
        try Data([0x50, 0x4b, 0x05, 0x06] + [UInt8](repeating: 0, count: 18)).write(to: dir.appendingPathComponent("empty.npz"))
        XCTAssertEqual(message { _ = try InputFiles.load([self.path("empty.npz")], for: self.inputs) },
                       "file '\(path("empty.npz"))': is an NPZ archive that has no arrays")
        XCTAssertTrue(message { _ = try Dataset.load(self.path("empty.npz")) }.contains("it has no arrays"))
    }

    func testOutputExtensionAndPathAreCheckedFirst() {
        XCTAssertEqual(message { try InputFiles.checkOutput(self.path("y.txt"), outputCount: 1) },
                       "file '\(path("y.txt"))': the output file must end in .npz (all outputs by name) or .npy (a single output)")
        XCTAssertTrue(message { try InputFiles.checkOutput(self.path("y.npy"), outputCount: 2) }.contains("write an .npz instead"))
        XCTAssertTrue(message { try InputFiles.checkOutput(self.path("sub"), outputCount: 1) }.contains("it is a folder"))
        XCTAssertTrue(message { try InputFiles.checkOutput(self.path("missing/y.npz"), outputCount: 1) }.contains("does not exist"))
        XCTAssertEqual(message { try InputFiles.checkOutput(self.path("y.NPZ"), outputCount: 3) }, "")
        let t = Tensor(shape: [1], scalars: [1])
        XCTAssertTrue(message { try InputFiles.writeOutputs([("y", t)], to: self.path("y.txt")) }.contains("must end in .npz"))
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("y.txt")))
    }

    /// An NPZ with only x and y is one set: train reads it as its training split, eval as its test.
    func testUnsplitNPZIsEvaluatedAsWritten() throws {
        let x = NumPyArray(shape: [3, 2, 2], elements: .uint8([UInt8](repeating: 7, count: 12)))
        let y = NumPyArray(shape: [3], elements: .int64([0, 1, 2]))
        try NPZ.write([("x", x), ("y", y)], to: path("xy.npz"))
        let splits = try Dataset.load(path("xy.npz"))
        XCTAssertTrue(splits.unsplit)
        XCTAssertEqual(splits.evaluation.count, 3)
        XCTAssertEqual(splits.test.count, 0)
        try NPZ.write([("x_train", x), ("y_train", y), ("x_test", x), ("y_test", y)], to: path("split.npz"))
        let split = try Dataset.load(path("split.npz"))
        XCTAssertFalse(split.unsplit)
        XCTAssertEqual(split.evaluation.count, 3)
    }
}
