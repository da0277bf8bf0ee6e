// StagedCommandTests: `s2dc opt` to a staged .s2dir, `s2dc inspect`, `s2dc run` and `s2dc emit --target onnx` on it, end to end.
import Foundation
import TestSupport
import XCTest

final class StagedCommandTests: XCTestCase {
    func testOptInspectAndRunAStagedModel() throws {
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("s2dc-staged-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: work) }
        let staged = work.appendingPathComponent("staged.s2dir").path
        var r = CLI.run(["opt", "models/default.onnx", "--passes=canonicalize,split-stages{fractions=[0.25,0.5]},insert-exits{thresholds=[0.6,0.6]}",
                         "-o", staged])
        XCTAssertEqual(r.status, 0, r.err)
        r = CLI.run(["inspect", staged])
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertTrue(r.out.contains("stages: 3"), r.out)
        XCTAssertTrue(r.out.contains("static model: 9345920 MACs"), r.out)
        // A staged graph as dynamic ONNX: `emit --target onnx` and `opt -o x.onnx` (with the
        // fold-constants that emit runs by default) write the same file.
        let viaOpt = work.appendingPathComponent("x.onnx").path, viaEmit = work.appendingPathComponent("y.onnx").path
        r = CLI.run(["opt", staged, "--passes=fold-constants", "-o", viaOpt])
        XCTAssertEqual(r.status, 0, r.err)
        r = CLI.run(["emit", staged, "--target", "onnx", "-o", viaEmit])
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertTrue(r.out.contains("threshold_1 (default 0.6), threshold_2 (default 0.6); outputs logits, exit_stage, macs"), r.out)
        XCTAssertEqual(FileManager.default.contents(atPath: viaOpt), FileManager.default.contents(atPath: viaEmit))
        r = CLI.run(["emit", staged, "--target", "onnx", "-o", viaEmit, "--prefix", "p"])
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.err.contains("not onnx"), r.err)
        guard TestSupport.requireONNXPackage() != nil,
              let p = TestSupport.run(TestSupport.python, ["-c", """
                  import numpy as np, sys, os
                  np.save(os.path.join(sys.argv[1], 'x.npy'), np.random.default_rng(3).random((6, 1, 28, 28)).astype(np.float32))
                  """, work.path]), p.status == 0 else { return XCTFail("numpy") }
        let x = work.appendingPathComponent("x.npy").path
        let y = work.appendingPathComponent("y.npz").path
        r = CLI.run(["run", staged, "--input", x, "--exit-at", "1", "--output", y])
        XCTAssertEqual(r.status, 0, r.err)
        let check = TestSupport.run(TestSupport.python, ["-c", """
            import numpy as np, sys
            d = np.load(sys.argv[1])
            assert sorted(d.keys()) == ['exit_stage', 'logits', 'macs'], d.keys()
            assert d['exit_stage'].dtype == np.int64 and list(d['exit_stage']) == [1] * 6, d['exit_stage']
            assert d['macs'].dtype == np.int64 and len(set(d['macs'])) == 1, d['macs']
            assert d['logits'].shape == (6, 10)
            print(int(d['macs'][0]))
            """, y])
        XCTAssertEqual(check?.status, 0, check?.err ?? "")
        XCTAssertEqual(check?.out.trimmingCharacters(in: .whitespacesAndNewlines), "605408")
        // onnxruntime on the dynamic ONNX answers as `s2dc run` does, sample by sample.
        r = CLI.run(["run", staged, "--input", x, "--output", y])
        XCTAssertEqual(r.status, 0, r.err)
        let ort = TestSupport.run(TestSupport.python, ["-c", """
            import numpy as np, onnx, onnxruntime as ort, sys
            onnx.checker.check_model(onnx.load(sys.argv[1]), full_check=True)
            d, x = np.load(sys.argv[2]), np.load(sys.argv[3])
            o = ort.SessionOptions(); o.log_severity_level = 3
            s = ort.InferenceSession(sys.argv[1], o)
            for i in range(len(x)):
                logits, stage, macs = s.run(None, {'input': x[i:i + 1]})
                assert (stage[0], macs[0]) == (d['exit_stage'][i], d['macs'][i]), (i, stage, macs)
                assert np.abs(logits[0] - d['logits'][i]).max() <= 1e-4 * np.abs(d['logits'][i]).max(), i
            """, viaEmit, y, x])
        XCTAssertEqual(ort?.status, 0, ort?.err ?? "")
        r = CLI.run(["run", staged, "--input", x, "--thresholds", "0.5"])
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.err.contains("2 early exits"), r.err)
    }

    /// Depth exits end to end: opt with at=blocks, inspect prints the depth stages (and the
    /// combined stages on width stages), run --exit-at and --thresholds take them, emit writes C.
    func testDepthExitsInspectRunAndEmit() throws {
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("s2dc-depth-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: work) }
        let depth = work.appendingPathComponent("depth.s2dir").path
        var r = CLI.run(["opt", "models/default.onnx", "--passes=canonicalize,insert-exits{at=blocks thresholds=[0.9,0.8]}", "-o", depth])
        XCTAssertEqual(r.status, 0, r.err)
        r = CLI.run(["inspect", depth])
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertTrue(r.out.contains("depth stages: 3, exits after blocks '/layer1/Relu_output_0', '/layer2/Relu_output_0'"), r.out)
        XCTAssertTrue(r.out.contains("    1  3725728    4970      62720  exit 1          3725728     0.3986        0.9"), r.out)
        r = CLI.run(["inspect", depth, "--json"])
        XCTAssertTrue(r.out.contains("\"axis\" : \"depth\""), r.out)
        XCTAssertTrue(r.out.contains("\"block\" : \"/layer1/Relu_output_0\""), r.out)
        // On width stages, each width stage is cut at the blocks: inspect names each stage's place.
        let both = work.appendingPathComponent("both.s2dir").path
        r = CLI.run(["opt", "models/default.onnx", "--passes=canonicalize,split-stages{fractions=[0.25,0.5]},insert-exits{at=blocks}", "-o", both])
        XCTAssertEqual(r.status, 0, r.err)
        r = CLI.run(["inspect", both])
        XCTAssertTrue(r.out.contains("stages: 9 = 3 width stages x (2 blocks + the classifier), 6 channel classes"), r.out)
        XCTAssertTrue(r.out.contains("    4   479848     664      15690           exit 4 (2, 1)          1085376     0.1161        inf"), r.out)
        XCTAssertTrue(r.out.contains("    6   351392    7376       3146  exit 6 (2, classifier)          1788080     0.1913        inf"), r.out)
        r = CLI.run(["inspect", both, "--json"])
        XCTAssertTrue(r.out.contains("\"axis\" : \"width_depth\"") && r.out.contains("\"block_index\" : 2"), r.out)
        r = CLI.run(["emit", depth, "--target", "c", "-o", work.appendingPathComponent("c").path, "--prefix", "p"])
        XCTAssertEqual(r.status, 0, r.err)
        guard TestSupport.requireONNXPackage() != nil,
              let p = TestSupport.run(TestSupport.python, ["-c", """
                  import numpy as np, sys, os
                  np.save(os.path.join(sys.argv[1], 'x.npy'), np.random.default_rng(3).random((4, 1, 28, 28)).astype(np.float32))
                  """, work.path]), p.status == 0 else { return XCTFail("numpy") }
        let x = work.appendingPathComponent("x.npy").path
        let y = work.appendingPathComponent("y.npz").path
        for (args, stages, macs) in [(["--exit-at", "2"], "[2, 2, 2, 2]", "6535904"), (["--thresholds", "0,0"], "[1, 1, 1, 1]", "3725728")] {
            r = CLI.run(["run", depth, "--input", x, "--output", y] + args)
            XCTAssertEqual(r.status, 0, r.err)
            let check = TestSupport.run(TestSupport.python, ["-c", """
                import numpy as np, sys
                d = np.load(sys.argv[1])
                assert d['logits'].shape == (4, 10)
                print(d['exit_stage'].tolist(), int(d['macs'][0]))
                """, y])
            XCTAssertEqual(check?.status, 0, check?.err ?? "")
            XCTAssertEqual(check?.out.trimmingCharacters(in: .whitespacesAndNewlines), "\(stages) \(macs)")
        }
    }
}
