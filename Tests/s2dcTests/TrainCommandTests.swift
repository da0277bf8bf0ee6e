// TrainCommandTests: `s2dc train` and `s2dc eval` end to end: small runs, bad data, Ctrl-C and --resume.
import Foundation
import TestSupport
import XCTest

final class TrainCommandTests: XCTestCase {
    private var dir: URL!
    private let model = "models/default.onnx"

    override func setUpWithError() throws {
        guard FileManager.default.fileExists(atPath: "/usr/share/datasets/fashion-mnist") else {
            throw XCTSkip("the Debian package dataset-fashion-mnist is not installed")
        }
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("s2dc-train-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { if let dir { try? FileManager.default.removeItem(at: dir) } }

    private var small: [String] { ["--limit-train", "256", "--limit-test", "100", "--batch-size", "64", "--lr", "0.05"] }

    func testTrainThenEval() throws {
        let out = dir.appendingPathComponent("trained.onnx").path
        let r = CLI.run(["train", model, "--data", "fashion-mnist", "--epochs", "2", "-o", out, "--label-smoothing", "0.1",
                         "--crop-padding", "2", "--schedule", "one-cycle"] + small)
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertTrue(r.err.contains("epoch 2/2"), r.err)
        XCTAssertTrue(r.err.contains("test accuracy"), r.err)
        XCTAssertTrue(FileManager.default.fileExists(atPath: out))
        XCTAssertTrue(FileManager.default.fileExists(atPath: out + ".ckpt"))
        let e = CLI.run(["eval", out, "--data", "fashion-mnist", "--limit", "100"])
        XCTAssertEqual(e.status, 0, e.err)
        let fields = Dictionary(uniqueKeysWithValues: e.out.split(separator: " ").compactMap { kv -> (String, String)? in
            let p = kv.split(separator: "=")
            return p.count == 2 ? (String(p[0]), p[1].trimmingCharacters(in: .whitespacesAndNewlines)) : nil
        })
        XCTAssertEqual(fields["images"], "100", e.out)
        XCTAssertNotNil(fields["accuracy"].flatMap(Double.init), e.out)
        XCTAssertNotNil(fields["loss"].flatMap(Double.init), e.out)
    }

    /// --heads-only: the depth heads of a staged model train on the frozen backbone (every other
    /// line of the textual IR, constants and stage table included, stays as it was), and each
    /// epoch reports every exit's held-out accuracy.
    func testHeadsOnlyTrainsTheDepthHeads() throws {
        let staged = dir.appendingPathComponent("depth.s2dir").path, out = dir.appendingPathComponent("heads.s2dir").path
        var r = CLI.run(["opt", model, "--passes=canonicalize,insert-exits{at=blocks seed=1}", "-o", staged])
        XCTAssertEqual(r.status, 0, r.err)
        r = CLI.run(["train", staged, "--heads-only", "--data", "fashion-mnist", "--epochs", "2", "-o", out] + small)
        XCTAssertEqual(r.status, 0, r.err)
        // Heads of blocks with 16 and 32 channels to 10 classes.
        let parameters: Int = (10 * 16 + 10) + (10 * 32 + 10)
        XCTAssertTrue(r.err.contains("training the 2 depth heads (\(parameters) parameters; the backbone frozen)"), r.err)
        XCTAssertTrue(r.err.contains("epoch 2/2: mean head loss"), r.err)
        XCTAssertTrue(r.err.contains("exit 1 test accuracy") && r.err.contains("exit 3 test accuracy"), r.err)
        let before = try String(contentsOfFile: staged, encoding: .utf8).split(separator: "\n")
        let after = try String(contentsOfFile: out, encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(before.count, after.count)
        for (a, b) in zip(before, after) {
            if a.hasPrefix("  const %exit") { XCTAssertNotEqual(a, b, "a head is trained") } else { XCTAssertEqual(a, b) }
        }
        XCTAssertEqual(before.filter { $0.hasPrefix("  const %exit") }.count, 4)
        r = CLI.run(["train", model, "--heads-only", "-o", out] + small)
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.err.contains("--heads-only needs a model with depth exits"), r.err)
        r = CLI.run(["train", staged, "--heads-only", "--supernet", "-o", out])
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.err.contains("--heads-only and --supernet exclude each other"), r.err)
    }

    /// --alone C: one configuration of a staged model trained by itself (the baseline of a
    /// supernet's configuration); --alone-exit N: only exit N's network, written as ONNX.
    func testAloneTrainsOneConfigurationOrOneExit() throws {
        let staged = dir.appendingPathComponent("staged.s2dir").path
        var r = CLI.run(["opt", model, "--passes=canonicalize,insert-batchnorm,split-stages{fractions=[0.25,0.5]},insert-exits,flops-bins{bins=4}",
                         "-o", staged])
        XCTAssertEqual(r.status, 0, r.err)
        // Without --configuration a staged model runs as split, though its uniform boundaries are
        // not among flops-bins' candidates.
        let asSplit = CLI.run(["eval", staged, "--data", "fashion-mnist", "--limit", "50"])
        XCTAssertEqual(asSplit.status, 0, asSplit.err)
        XCTAssertTrue(asSplit.out.contains("exit 1: accuracy=") && asSplit.out.contains("exit 3: accuracy="), asSplit.out)
        let exit = dir.appendingPathComponent("exit1.onnx").path, config = dir.appendingPathComponent("smallest.s2dir").path
        let common = ["--data", "fashion-mnist", "--epochs", "1", "--validation-size", "100", "--static-model", model] + small
        r = CLI.run(["train", staged, "--supernet", "--alone", "smallest", "--alone-exit", "1", "-o", exit] + common)
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertTrue(r.err.contains("training exit 1 of configuration smallest alone"), r.err)
        XCTAssertTrue(r.err.contains("val accuracy"), r.err)
        var e = CLI.run(["eval", exit, "--data", "fashion-mnist", "--limit", "50"])
        XCTAssertEqual(e.status, 0, e.err)
        XCTAssertTrue(e.out.contains("images=50"), e.out)
        r = CLI.run(["train", staged, "--supernet", "--alone", "smallest", "-o", config] + common)
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertTrue(r.err.contains("configuration smallest alone"), r.err)
        e = CLI.run(["eval", config, "--data", "fashion-mnist", "--limit", "50"])
        XCTAssertEqual(e.status, 0, e.err)
        XCTAssertTrue(e.out.contains("exit 3: accuracy="), e.out)
        r = CLI.run(["train", staged, "--supernet", "--alone-exit", "1", "-o", exit] + common)
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.err.contains("--alone-exit needs --alone"), r.err)
        r = CLI.run(["train", staged, "--supernet", "--alone", "smallest", "--alone-exit", "7", "-o", exit] + common)
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.err.contains("no exit at stage 7"), r.err)
    }

    func testBadDataAndOptionsFailClearly() throws {
        let out = dir.appendingPathComponent("x.onnx").path
        var r = CLI.run(["train", model, "--data", dir.appendingPathComponent("none.npz").path, "-o", out])
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.err.contains("no such file"), r.err)
        r = CLI.run(["train", model, "--data", "cifar-100", "-o", out])
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.err.contains("unknown dataset"), r.err)
        // Images that do not fit the model's 1×28×28 input.
        let npz = dir.appendingPathComponent("small.npz").path
        XCTAssertTrue(writeNPZ(npz, imageShape: [2, 8, 8]))
        r = CLI.run(["train", model, "--data", npz, "-o", out])
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.err.contains("the model's input"), r.err)
        r = CLI.run(["eval", model, "--data", npz])
        XCTAssertNotEqual(r.status, 0)
        r = CLI.run(["train", model, "-o", out, "--schedule", "step"])
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.err.contains("--schedule"), r.err)
        r = CLI.run(["train", model, "-o", out, "--resume", "--limit-train", "64"])
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.err.contains(".ckpt"), r.err)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out))
    }

    /// Writes a tiny uint8 NPZ dataset with the system's Python-free path: s2dc itself cannot write
    /// datasets, so the bytes of a stored ZIP of two NPY files are assembled here.
    private func writeNPZ(_ path: String, imageShape: [Int]) -> Bool {
        func npy(_ descr: String, _ shape: [Int], _ data: [UInt8]) -> [UInt8] {
            var header = "{'descr': '\(descr)', 'fortran_order': False, 'shape': (\(shape.map(String.init).joined(separator: ", "))\(shape.count == 1 ? "," : "")), }"
            while (10 + header.utf8.count + 1) % 64 != 0 { header += " " }
            header += "\n"
            let len = UInt16(header.utf8.count)
            return [0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(len & 255), UInt8(len >> 8)] + Array(header.utf8) + data
        }
        let n = 4
        let x = npy("|u1", [n] + imageShape, [UInt8](repeating: 7, count: n * imageShape.reduce(1, *)))
        let y = npy("|u1", [n], [0, 1, 2, 3])
        let script = "import sys,zipfile\nz=zipfile.ZipFile(sys.argv[1],'w')\nz.writestr('x.npy',open(sys.argv[2],'rb').read())\nz.writestr('y.npy',open(sys.argv[3],'rb').read())\nz.close()"
        let xp = path + ".x", yp = path + ".y"
        guard FileManager.default.createFile(atPath: xp, contents: Data(x)),
              FileManager.default.createFile(atPath: yp, contents: Data(y)) else { return false }
        return TestSupport.run("/usr/bin/python3", ["-c", script, path, xp, yp])?.status == 0
    }

    func testCtrlCLeavesNoOutputAndResumeFinishes() throws {
        let out = dir.appendingPathComponent("run.onnx").path
        let ckpt = out + ".ckpt"
        let p = Process()
        p.executableURL = URL(fileURLWithPath: CLI.binary)
        p.currentDirectoryURL = TestSupport.repoRoot
        p.arguments = ["train", model, "--epochs", "50", "-o", out, "--limit-test", "20"] + small.filter { $0 != "100" && $0 != "--limit-test" }
        let errPipe = Pipe()
        p.standardError = errPipe
        p.standardOutput = FileHandle.nullDevice
        try p.run()
        // Wait for the first checkpoint, then interrupt mid-run.
        let deadline = Date().addingTimeInterval(120)
        while !FileManager.default.fileExists(atPath: ckpt) && Date() < deadline && p.isRunning { usleep(100_000) }
        XCTAssertTrue(FileManager.default.fileExists(atPath: ckpt), "no checkpoint after the first epoch")
        usleep(300_000)
        kill(p.processIdentifier, SIGINT)
        let err = String(decoding: errPipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 130, err)
        XCTAssertTrue(err.contains("interrupted"), err)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out), "a half-trained model was written")
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.contains("tmp") }
        XCTAssertEqual(leftovers, [], "temporary files left behind")
        // The checkpoint names its epoch; resume and finish one epoch later.
        guard let range = err.range(of: "holds epoch "), let done = Int(err[range.upperBound...].prefix { $0.isNumber }) else {
            return XCTFail("no epoch count in: \(err)")
        }
        let r = CLI.run(["train", model, "--epochs", String(done + 1), "-o", out, "--resume", "--limit-test", "20"]
                        + small.filter { $0 != "100" && $0 != "--limit-test" })
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertTrue(r.err.contains("resumed from \(ckpt) after epoch \(done)"), r.err)
        XCTAssertTrue(r.err.contains("epoch \(done + 1)/\(done + 1)"), r.err)
        XCTAssertTrue(FileManager.default.fileExists(atPath: out))
    }
}
