// ConvertDriverTests: the convert driver end to end on the default model with a tiny data subset, resume, bad inputs.
import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import IR
import ONNX
import Report
import Runtime
import TestSupport
import XCTest
@testable import Convert

final class ConvertDriverTests: XCTestCase {
    private var dir: URL!

    override func setUpWithError() throws {
        guard FileManager.default.fileExists(atPath: "/usr/share/datasets/fashion-mnist") else {
            throw XCTSkip("the Debian package dataset-fashion-mnist is not installed")
        }
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("s2dc-convert-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { if let dir { try? FileManager.default.removeItem(at: dir) } }

    private var model: String { TestSupport.repoRoot.appendingPathComponent("models/default.onnx").path }

    /// A run small enough for a debug build: 64 training images (2 steps of 32 per epoch), 2 epochs,
    /// 100 validation and 32 test images, 3 search evaluations.
    private func tiny(budget: Double = 0.3) -> ConvertSettings {
        var s = ConvertSettings(model: model, data: "fashion-mnist", budget: budget)
        s.epochs = 2
        s.trainImages = 64
        s.batchSize = 32
        s.validationSize = 100
        s.testImages = 32
        s.calibrationImages = 32
        s.evaluations = 3
        s.strategy = "random"
        s.finetuneEpochs = 0
        return s
    }

    private func path(_ name: String) -> String { dir.appendingPathComponent(name).path }

    /// The uninterrupted run (tiny settings, 2 epochs of fine-tuning, every baseline, the C timed)
    /// that the end-to-end test inspects and the resume test compares with: made once per process,
    /// by whichever test comes first, so the two tests pay for one run.
    private struct StraightRun {
        var settings: ConvertSettings
        var folder: String
        var report: ConvertReport
        var finished: [ConvertPhase]
    }
    nonisolated(unsafe) private static var straightRun: StraightRun?
    private static let straightFolder = FileManager.default.temporaryDirectory
        .appendingPathComponent("s2dc-convert-straight-\(UUID().uuidString)").path

    override class func tearDown() { try? FileManager.default.removeItem(atPath: straightFolder) }

    private func straight() throws -> StraightRun {
        if let r = Self.straightRun { return r }
        var s = tiny()
        s.finetuneEpochs = 2
        var finished: [ConvertPhase] = []
        let driver = ConvertDriver(settings: s, output: Self.straightFolder)
        driver.events = { if case .phaseFinished(let m) = $0 { finished.append(m.phase) } }
        guard case .finished(let report) = try driver.run() else { throw ConvertError("the uninterrupted run did not finish") }
        let r = StraightRun(settings: s, folder: Self.straightFolder, report: report, finished: finished)
        Self.straightRun = r
        return r
    }

    func testEndToEndWritesEveryArtifactAndAReadableReport() throws {
        let run = try straight()
        let out = run.folder, s = run.settings, report = run.report
        XCTAssertEqual(run.finished, ConvertPhase.allCases)
        for f in ["convert.json", "staged.s2dir", "supernet.s2dir", "supernet.ckpt", "search.json", "search.ckpt", "config.json",
                  "final-config.json", "recalibrated.s2dir", "finetune.ckpt", "chosen.s2dir", "code/model.c", "code/model.h",
                  "uniform-finetune.ckpt", "slimming.ckpt", "prune.ckpt", "sdn-heads.ckpt",
                  "latency/static.c", "latency/static.h", "evaluation.json", "baselines.json", "report.json", "pareto.svg",
                  "exits.svg", "summary.txt"] + ConvertPhase.allCases.map({ "phases/\($0.rawValue).done" }) {
            XCTAssertTrue(FileManager.default.fileExists(atPath: out + "/" + f), "missing \(f)")
        }
        // report.json reads back into the schema and says what the run measured.
        let decoded = try ConvertReport.decode(try Data(contentsOf: URL(fileURLWithPath: out + "/report.json")))
        XCTAssertEqual(decoded, report)
        XCTAssertEqual(report.schemaVersion, ConvertReport.currentSchemaVersion)
        XCTAssertEqual(report.exits.map(\.exit), [1, 2, 3])
        XCTAssertEqual(report.staticModel.macs, 9_345_920)
        XCTAssertEqual(report.dynamicModel.exitShares.reduce(0, +), 1, accuracy: 1e-9)
        XCTAssertTrue(report.exits.allSatisfy { (0...1).contains($0.testAccuracy) && $0.cumulativeMacs > 0 })
        XCTAssertLessThan(report.exits[0].cumulativeMacs, report.exits[2].cumulativeMacs)
        XCTAssertGreaterThan(report.staticModel.testAccuracy, 0.7, "the pretrained model on 32 test images")
        XCTAssertFalse(report.paretoFront.isEmpty)
        XCTAssertEqual(report.baselines.map(\.name), ["uniform partition, no search", "static width slimming",
                                                      "static filter pruning", "SDN depth exits"])
        XCTAssertTrue(report.baselines.allSatisfy { $0.notRun == nil }, "\(report.baselines.compactMap(\.notRun))")
        XCTAssertTrue(report.baselines.allSatisfy { ($0.seconds ?? 0) > 0 }, "every measured baseline has its wall time")
        XCTAssertLessThanOrEqual(report.baselines[2].meanMacs, 0.3 * 9_345_920)
        XCTAssertTrue(report.baselines[1].notes.contains("fine-tuned 4 epochs alone"), report.baselines[1].notes)
        XCTAssertLessThanOrEqual(report.baselines[1].meanMacs, 0.3 * 9_345_920)
        // SDN: a head after each of the default model's two residual blocks, trained on the frozen
        // model; at the budget, or every image at the first exit when even that costs more.
        let sdn = report.baselines[3]
        let shares = try XCTUnwrap(sdn.exitShares)
        XCTAssertEqual(shares.count, 3)
        XCTAssertEqual(shares.reduce(0, +), 1, accuracy: 1e-9)
        XCTAssertTrue(sdn.meanMacs <= 0.3 * 9_345_920 || shares[0] == 1, "\(sdn)")
        XCTAssertTrue((0...1).contains(sdn.testAccuracy) && sdn.meanMacs > 0, "\(sdn)")
        XCTAssertFalse(sdn.curve.isEmpty)
        XCTAssertTrue(sdn.notes.contains("2 heads") && sdn.notes.contains("trained 4 epochs"), sdn.notes)
        XCTAssertEqual(report.phases.map(\.phase), ConvertPhase.allCases.dropLast().map(\.rawValue))
        if case .object(let o)? = report.options["budget"].map({ JSONValue.object(["v": $0]) }) { XCTAssertEqual(o["v"], .number(0.3)) }
        if case .object(let c) = report.configuration {
            XCTAssertEqual((c["thresholds"].flatMap { if case .array(let a) = $0 { return a.count } else { return nil } }), 2)
        } else { XCTFail("configuration is not an object") }
        if EmittedCTiming.compiler() != nil {
            // The emitted C ran over the same images and took the same exits with the same labels.
            XCTAssertNotNil(report.staticModel.latencyMs, report.staticModel.latencyNote ?? "")
            XCTAssertNotNil(report.dynamicModel.meanLatencyMs, report.dynamicModel.latencyNote ?? "")
            XCTAssertEqual(report.dynamicModel.emittedAgreement ?? 0, 1, accuracy: 0.04)
            // The note names the flags the C was timed with (the strict dialect, tuned for this machine).
            let note = report.staticModel.latencyNote ?? ""
            XCTAssertTrue(note.contains("-O3 -std=c99") && note == report.dynamicModel.latencyNote, "\(note)")
        }
        // Both plots are well-formed XML.
        for svg in ["pareto.svg", "exits.svg"] {
            let parser = XMLParser(data: try Data(contentsOf: URL(fileURLWithPath: out + "/" + svg)))
            XCTAssertTrue(parser.parse(), "\(svg): \(parser.parserError.map { "\($0)" } ?? "")")
        }
        let summary = try String(contentsOfFile: out + "/summary.txt", encoding: .utf8)
        XCTAssertTrue(summary.contains("dynamic (chosen)") && summary.contains("baseline: SDN depth exits")
                      && summary.contains("SDN depth exits: test images leaving at each exit"), summary)
        XCTAssertFalse(summary.contains("not run"), summary)

        // The folder holds a run: without --resume it is refused; with it, every phase is skipped.
        XCTAssertThrowsError(try ConvertDriver(settings: s, output: out).run()) {
            XCTAssertTrue("\($0)".contains("--resume"), "\($0)")
        }
        var skipped = 0
        let again = ConvertDriver(settings: s, output: out, resume: true)
        again.events = { if case .phaseSkipped = $0 { skipped += 1 } }
        guard case .finished(let same) = try again.run() else { return XCTFail("the resumed run did not finish") }
        XCTAssertEqual(skipped, ConvertPhase.allCases.count)
        XCTAssertEqual(same, report)
        // Other settings do not resume this folder.
        var other = s
        other.epochs = 3
        XCTAssertThrowsError(try ConvertDriver(settings: other, output: out, resume: true).run()) {
            XCTAssertTrue("\($0)".contains("epochs"), "\($0)")
        }
    }

    /// One run stopped in every phase that works for long (the supernet, search, fine-tuning in
    /// materialize, evaluate, the SDN heads' training in baselines) and resumed each time ends
    /// with the uninterrupted run's report. The run emits the dynamic ONNX (--target onnx), which
    /// onnxruntime runs with the exits and labels of the library's staged interpreter.
    ///
    /// The uninterrupted run it compares with is the shared one, which emits C and times it: the
    /// reports are compared without the latency figures and the options (only those differ).
    func testResumeAfterStopsInEveryPhaseEqualsAnUninterruptedRun() throws {
        let shared = try straight()
        var s = shared.settings
        s.latency = false
        s.target = .onnx
        let out = path("b")
        var notes: [String] = []
        /// A run that stops once `count` progress events of `phase` whose detail contains `detail` came.
        func run(stoppingIn phase: ConvertPhase?, after count: Int = 0, detail: String = "") throws -> ConvertOutcome {
            var seen = 0
            let d = ConvertDriver(settings: s, output: out, resume: FileManager.default.fileExists(atPath: out))
            d.events = {
                if case .progress(let p, _, _, _, let text) = $0, p == phase, detail.isEmpty || text.contains(detail) { seen += 1 }
                if case .note(let n) = $0 { notes.append(n) }
            }
            if phase != nil { d.shouldStop = { seen >= count } }
            return try d.run()
        }
        // Stop in the supernet's second epoch (after its first step): epoch 1 is checkpointed.
        guard case .stopped(.supernet) = try run(stoppingIn: .supernet, after: 3) else { return XCTFail("expected a stop in the supernet phase") }
        XCTAssertTrue(FileManager.default.fileExists(atPath: out + "/supernet.ckpt"))
        XCTAssertFalse(FileManager.default.fileExists(atPath: out + "/supernet.s2dir"))
        XCTAssertFalse(FileManager.default.fileExists(atPath: out + "/phases/supernet.done"))
        // Resume; stop in the search after 2 of its 3 evaluations.
        guard case .stopped(.search) = try run(stoppingIn: .search, after: 2) else { return XCTFail("expected a stop in the search phase") }
        XCTAssertTrue(notes.last?.contains("supernet: resumed") == true && notes.last?.contains("after epoch 1") == true, "\(notes)")
        XCTAssertTrue(FileManager.default.fileExists(atPath: out + "/search.ckpt"))
        XCTAssertFalse(FileManager.default.fileExists(atPath: out + "/phases/search.done"))
        // Resume; stop in the second epoch of fine-tuning the chosen configuration.
        guard case .stopped(.materialize) = try run(stoppingIn: .materialize, after: 3) else {
            return XCTFail("expected a stop in the materialize phase")
        }
        XCTAssertTrue(FileManager.default.fileExists(atPath: out + "/finetune.ckpt"))
        XCTAssertFalse(FileManager.default.fileExists(atPath: out + "/chosen.s2dir"))
        XCTAssertFalse(FileManager.default.fileExists(atPath: out + "/phases/materialize.done"))
        // Resume; stop in the evaluation, after the static model's.
        guard case .stopped(.evaluate) = try run(stoppingIn: .evaluate, after: 1) else { return XCTFail("expected a stop in the evaluate phase") }
        XCTAssertTrue(notes.last?.contains("fine-tuning: resumed") == true && notes.last?.contains("after epoch 1") == true, "\(notes)")
        XCTAssertTrue(FileManager.default.fileExists(atPath: out + "/phases/emit.done"))
        XCTAssertFalse(FileManager.default.fileExists(atPath: out + "/evaluation.json"))
        // Resume; stop in the second epoch of the SDN heads' training (the last baseline).
        guard case .stopped(.baselines) = try run(stoppingIn: .baselines, after: 3, detail: "SDN depth exits: training") else {
            return XCTFail("expected a stop in the baselines phase")
        }
        XCTAssertTrue(FileManager.default.fileExists(atPath: out + "/sdn-heads.ckpt"))
        XCTAssertFalse(FileManager.default.fileExists(atPath: out + "/baselines.json"))
        // Resume to the end: the same figures as the uninterrupted run.
        notes = []
        guard case .finished(let resumed) = try run(stoppingIn: nil) else { return XCTFail("the resumed run did not finish") }
        XCTAssertTrue(notes.contains { $0.contains("SDN depth exits: training the heads: resumed") && $0.contains("after epoch 1") }, "\(notes)")
        func withoutTimings(_ r: ConvertReport) -> ConvertReport {
            var r = r
            r.phases = []
            r.options = [:]
            r.staticModel.latencyMs = nil
            r.staticModel.latencyNote = nil
            r.dynamicModel.meanLatencyMs = nil
            r.dynamicModel.latencyNote = nil
            r.dynamicModel.emittedAgreement = nil
            for i in r.baselines.indices { r.baselines[i].seconds = nil }
            return r
        }
        XCTAssertEqual(withoutTimings(resumed), withoutTimings(shared.report))
        XCTAssertEqual(resumed.options["target"], .string("onnx"))

        // --target onnx: the dynamic ONNX in code/, the C that evaluate would time in latency/.
        let onnx = out + "/code/model.onnx"
        XCTAssertTrue(FileManager.default.fileExists(atPath: onnx))
        XCTAssertTrue(FileManager.default.fileExists(atPath: out + "/latency/model.c"))
        XCTAssertFalse(FileManager.default.fileExists(atPath: out + "/code/model.c"))
        try checkDynamicONNX(onnx, against: out + "/chosen.s2dir", settings: s)
    }

    /// Runs the dynamic ONNX in onnxruntime (scripts/run-dynamic-onnx.py) on the run's test images
    /// and compares every image's exit stage and label with the staged interpreter's on the chosen model.
    private func checkDynamicONNX(_ onnx: String, against chosenPath: String, settings s: ConvertSettings) throws {
        let chosen = try SupernetFile.load(chosenPath)
        let test = try Dataset.load(s.data).test.prefix(try XCTUnwrap(s.testImages))
        var rng = TrainingRNG(seed: 0)
        let x = test.batch(Array(0..<test.count), Preprocessing(mean: s.mean, std: s.std).evaluation, rng: &rng).images
        let work = dir.appendingPathComponent("onnxruntime")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        try x.scalars.withUnsafeBufferPointer { Data(buffer: $0) }.write(to: work.appendingPathComponent("x.raw"))
        let script = TestSupport.repoRoot.appendingPathComponent("scripts/run-dynamic-onnx.py").path
        guard let r = TestSupport.run(TestSupport.python, [script, onnx, "x.raw", "\(test.count)", work.path, "default"], cwd: work) else {
            throw XCTSkip("cannot start \(TestSupport.python): the dynamic ONNX was written but not run")
        }
        XCTAssertEqual(r.status, 0, "run-dynamic-onnx.py (onnx and onnxruntime in \(TestSupport.python)?): \(r.err.suffix(2000))")
        guard r.status == 0 else { return }
        let want = try StagedInterpreter(graph: chosen).run([chosen.inputs[0].name: x])
        let logits = try XCTUnwrap(want.outputs[chosen.outputs[0]]).scalars
        let got = try Data(contentsOf: work.appendingPathComponent("default.logits.raw"))
        let ours = got.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
        let lines = try String(contentsOf: work.appendingPathComponent("default.txt"), encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(lines.count, test.count)
        XCTAssertEqual(ours.count, logits.count)
        guard lines.count == test.count, ours.count == logits.count else { return }
        let k = logits.count / test.count
        func label(_ v: ArraySlice<Float>) -> Int { v.indices.max { v[$0] < v[$1] }.map { $0 - v.startIndex } ?? -1 }
        for i in 0..<test.count {
            let exit = lines[i].split(separator: " ").compactMap { Int($0) }.first
            XCTAssertEqual(exit, want.exitStage[i], "image \(i): exit")
            XCTAssertEqual(label(ours[(i * k)..<((i + 1) * k)]), label(logits[(i * k)..<((i + 1) * k)]), "image \(i): label")
        }
    }

    func testBadInputsAreClearErrorsThatLeaveNothingBehind() throws {
        let out = path("out")
        func fails(_ s: ConvertSettings, _ expected: String, file: StaticString = #filePath, line: UInt = #line) {
            XCTAssertThrowsError(try ConvertDriver(settings: s, output: out).run(), file: file, line: line) {
                XCTAssertTrue("\($0)".contains(expected), "\($0)", file: file, line: line)
            }
            XCTAssertFalse(FileManager.default.fileExists(atPath: out), "\(out) was created", file: file, line: line)
        }
        fails(tiny(budget: 0), "--budget must be in (0, 1]")
        fails(tiny(budget: 1.5), "--budget must be in (0, 1]")
        var s = tiny()
        s.data = path("missing.npz")
        fails(s, "missing.npz")
        s = tiny()
        s.model = path("missing.onnx")
        fails(s, "missing.onnx")
        // A model without a classifier (no weighted layer reaches the output) cannot be staged.
        let noClassifier = try TextParser.parse("""
            graph @g(%x: f32[N,1,28,28]) -> (%y) {
              %y = relu(%x)
              return %y
            }
            """)
        let bad = path("relu.onnx")
        try ONNXExporter.export(noClassifier, to: bad)
        s = tiny()
        s.model = bad
        fails(s, "cannot be turned into a staged network")
        // An output folder that is a file, or a folder holding something else, is refused.
        try Data("x".utf8).write(to: URL(fileURLWithPath: out))
        XCTAssertThrowsError(try ConvertDriver(settings: tiny(), output: out).run())
        try FileManager.default.removeItem(atPath: out)
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        try Data("x".utf8).write(to: URL(fileURLWithPath: out + "/mine.txt"))
        XCTAssertThrowsError(try ConvertDriver(settings: tiny(), output: out).run()) {
            XCTAssertTrue("\($0)".contains("not empty"), "\($0)")
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: out), ["mine.txt"])
    }
}
