// ConvertDriverTests: the convert driver end to end on the default model with a tiny data subset, resume, bad inputs.
import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import IR
import ONNX
import Report
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

    func testEndToEndWritesEveryArtifactAndAReadableReport() throws {
        let out = path("out")
        var s = tiny()
        s.finetuneEpochs = 1
        var finished: [ConvertPhase] = []
        let driver = ConvertDriver(settings: s, output: out)
        driver.events = { if case .phaseFinished(let m) = $0 { finished.append(m.phase) } }
        guard case .finished(let report) = try driver.run() else { return XCTFail("the run did not finish") }
        XCTAssertEqual(finished, ConvertPhase.allCases)
        for f in ["convert.json", "staged.s2dir", "supernet.s2dir", "supernet.ckpt", "search.json", "search.ckpt", "config.json",
                  "final-config.json", "recalibrated.s2dir", "finetune.ckpt", "chosen.s2dir", "code/model.c", "code/model.h",
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
        XCTAssertNotNil(report.baselines[3].notRun)
        XCTAssertNil(report.baselines[2].notRun)
        XCTAssertLessThanOrEqual(report.baselines[2].meanMacs, 0.3 * 9_345_920)
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
        }
        // Both plots are well-formed XML.
        for svg in ["pareto.svg", "exits.svg"] {
            let parser = XMLParser(data: try Data(contentsOf: URL(fileURLWithPath: out + "/" + svg)))
            XCTAssertTrue(parser.parse(), "\(svg): \(parser.parserError.map { "\($0)" } ?? "")")
        }
        let summary = try String(contentsOfFile: out + "/summary.txt", encoding: .utf8)
        XCTAssertTrue(summary.contains("dynamic (chosen)") && summary.contains("SDN depth exits not run"), summary)

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

    func testResumeAfterStopsInTheSupernetAndSearchPhasesEqualsAnUninterruptedRun() throws {
        var s = tiny()
        s.baselines = false
        s.latency = false
        guard case .finished(var straight) = try ConvertDriver(settings: s, output: path("a")).run() else {
            return XCTFail("the uninterrupted run did not finish")
        }
        let out = path("b")
        // Stop in the supernet's second epoch (after its first step): epoch 1 is checkpointed.
        var steps = 0
        let first = ConvertDriver(settings: s, output: out)
        first.events = { if case .progress(.supernet, _, _, _, _) = $0 { steps += 1 } }
        first.shouldStop = { steps >= 3 }
        guard case .stopped(.supernet) = try first.run() else { return XCTFail("expected a stop in the supernet phase") }
        XCTAssertTrue(FileManager.default.fileExists(atPath: out + "/supernet.ckpt"))
        XCTAssertFalse(FileManager.default.fileExists(atPath: out + "/supernet.s2dir"))
        XCTAssertFalse(FileManager.default.fileExists(atPath: out + "/phases/supernet.done"))
        // Resume; stop in the search after 2 of its 3 evaluations.
        var evaluations = 0, resumedAfter: String?
        let second = ConvertDriver(settings: s, output: out, resume: true)
        second.events = {
            if case .progress(.search, _, _, _, _) = $0 { evaluations += 1 }
            if case .note(let n) = $0 { resumedAfter = n }
        }
        second.shouldStop = { evaluations >= 2 }
        guard case .stopped(.search) = try second.run() else { return XCTFail("expected a stop in the search phase") }
        XCTAssertTrue(resumedAfter?.contains("after epoch 1") ?? false, resumedAfter ?? "no resume note")
        XCTAssertTrue(FileManager.default.fileExists(atPath: out + "/search.ckpt"))
        XCTAssertFalse(FileManager.default.fileExists(atPath: out + "/phases/search.done"))
        // Resume to the end: the same figures as the uninterrupted run.
        let third = ConvertDriver(settings: s, output: out, resume: true)
        guard case .finished(var resumed) = try third.run() else { return XCTFail("the resumed run did not finish") }
        straight.phases = []
        resumed.phases = []
        XCTAssertEqual(resumed, straight)
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
