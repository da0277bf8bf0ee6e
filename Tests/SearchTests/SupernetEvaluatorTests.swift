// SupernetEvaluatorTests: decisions map to the supernet's boundaries; evaluations equal SupernetEvaluation; a search on a tiny supernet.
import Foundation
import IR
import Passes
import Runtime
import Search
import XCTest

/// A tiny staged CNN (conv-BN-ReLU ×2, global pool, linear; 3 stages at 0.25, 0.5) and its static form.
func tinySupernet() throws -> (static: Graph, staged: Graph) {
    var rng = TrainingRNG(seed: 11)
    func normal(_ shape: [Int], _ s: Float) -> Tensor {
        Tensor(shape: shape, scalars: (0..<shape.reduce(1, *)).map { _ in rng.nextNormal() * s })
    }
    var g = Graph(name: "tiny")
    try g.addInput("x", type: TensorType(dims: [.symbol("N"), .fixed(1), .fixed(8), .fixed(8)]))
    var x = "x", cin = 1
    for (i, cout) in [8, 12].enumerated() {
        try g.addConstant("w\(i)", normal([cout, cin, 3, 3], 0.5))
        try g.addConstant("s\(i)", Tensor(shape: [cout], scalars: (0..<cout).map { 1 + Float($0) * 0.01 }))
        try g.addConstant("b\(i)", Tensor(shape: [cout], scalars: (0..<cout).map { Float($0) * 0.02 - 0.1 }))
        try g.addConstant("m\(i)", Tensor(shape: [cout], repeating: 0))
        try g.addConstant("v\(i)", Tensor(shape: [cout], repeating: 1))
        x = try g.append(.conv(ConvAttributes(kernel: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1])), [x, "w\(i)"], name: "conv\(i)")
        x = try g.append(.batchNormalization(epsilon: 1e-5), [x, "s\(i)", "b\(i)", "m\(i)", "v\(i)"], name: "bn\(i)")
        x = try g.append(.relu, [x], name: "relu\(i)")
        cin = cout
    }
    x = try g.append(.globalAveragePool, [x], name: "gap")
    x = try g.append(.flatten(axis: 1), [x], name: "flatten")
    try g.addConstant("fw", normal([4, 12], 0.5))
    try g.addConstant("fb", Tensor(shape: [4], repeating: 0))
    x = try g.append(.gemm(GemmAttributes(transB: true)), [x, "fw", "fb"], name: "fc")
    try g.setOutputs([x])
    var staged = g
    try PassManager(pipeline: "split-stages{fractions=[0.25,0.5]},insert-exits", verifyEach: true).run(&staged)
    return (g, staged)
}

/// 8×8 images with a bright quadrant that encodes the label (0…3).
func quadrants(_ n: Int, offset: Int = 0) -> Dataset {
    var px = [UInt8](repeating: 0, count: n * 64)
    for i in 0..<n {
        let label = (i + offset) % 4, oy = (label / 2) * 4, ox = (label % 2) * 4
        for y in 0..<4 { for x in 0..<4 { px[i * 64 + (oy + y) * 8 + ox + x] = UInt8(120 + ((i + offset) * 13 + y * x * 7) % 130) } }
    }
    return Dataset(pixels: .uint8(px), imageShape: [1, 8, 8], labels: (0..<n).map { ($0 + offset) % 4 })
}

final class SupernetEvaluatorTests: XCTestCase {
    func evaluator(calibrated: Bool = false, reference: Graph? = nil) throws -> SupernetEvaluator {
        let (_, staged) = try tinySupernet()
        guard let info = staged.stageInfo else { throw SearchError("not staged") }
        let space = try SupernetSpace(info, allClasses: true)
        return try SupernetEvaluator(supernet: staged, space: space, validation: quadrants(12),
                                     calibration: calibrated ? quadrants(10, offset: 3) : nil, calibrationImages: 10,
                                     batchSize: 5, reference: reference)
    }

    func testDecisionsAreBinIndicesOfEveryVariableClass() throws {
        let e = try evaluator()
        let s = e.space.info.stageCount
        XCTAssertEqual(s, 3)
        XCTAssertEqual(e.searchSpace.count, e.space.choices.count * (s - 1))
        XCTAssertEqual(e.searchSpace.chains.count, e.space.choices.count)
        // Bins 0, 1 of every class are the smallest configuration; the top two, the largest.
        let low = e.space.choices.flatMap { _ in [0, 1] }
        let high = e.space.choices.flatMap { [$0.candidates.count - 2, $0.candidates.count - 1] }
        XCTAssertEqual(try e.configuration(low), e.space.smallest)
        XCTAssertEqual(try e.configuration(high), e.space.largest)
        // A mixed encoding: each class's boundaries are its candidates at those bins, then its width.
        var rng = TrainingRNG(seed: 2)
        for _ in 0..<10 {
            let enc = e.searchSpace.randomConfiguration(&rng)
            let config = try e.configuration(enc)
            try e.space.check(config)
            for (k, c) in e.space.choices.enumerated() {
                XCTAssertEqual(config.boundaries[c.name], [c.candidates[enc[2 * k]], c.candidates[enc[2 * k + 1]], c.channels])
            }
        }
        // Illegal encodings are refused, naming the decision.
        var bad = low
        bad[1] = 0
        XCTAssertThrowsError(try e.configuration(bad)) { XCTAssertTrue("\($0)".contains("strictly increase"), "\($0)") }
    }

    func testEvaluateEqualsSupernetEvaluationOfTheMappedConfiguration() throws {
        for calibrated in [false, true] {
            let e = try evaluator(calibrated: calibrated)
            var rng = TrainingRNG(seed: 7)
            let enc = e.searchSpace.randomConfiguration(&rng)
            let out = try e.evaluate(enc)
            let direct = try SupernetEvaluation.evaluate(e.supernet, space: e.space, configuration: try e.configuration(enc),
                                                         on: e.validation, preprocessing: Preprocessing(), batchSize: 12,
                                                         calibration: calibrated ? quadrants(10, offset: 3) : nil, calibrationImages: 10)
            XCTAssertEqual(out.predictions, direct.predictions)
            XCTAssertEqual(out.cumulativeMACs, direct.cumulativeMACs.map(Double.init))
            for (a, b) in zip(out.confidences, direct.confidences) {
                for (x, y) in zip(a, b) { XCTAssertEqual(x, Double(y), accuracy: 1e-6) }
            }
            // Narrower first-stage boundaries cost fewer MACs at the first exit.
            let small = try e.evaluate(e.space.choices.flatMap { _ in [0, 1] })
            let large = try e.evaluate(e.space.choices.flatMap { [$0.candidates.count - 2, $0.candidates.count - 1] })
            XCTAssertLessThan(small.cumulativeMACs[0], large.cumulativeMACs[0])
            XCTAssertEqual(small.cumulativeMACs.count, 3)
        }
    }

    func testSearchOnATinySupernetChoosesAConfigurationItsRecordReproduces() throws {
        let e = try evaluator(calibrated: true)
        let staticMACs = try e.staticMACs()
        XCTAssertGreaterThan(staticMACs, 0)
        let settings = SearchSettings(space: e.searchSpace, strategy: "evolution{population=4}", budget: 0.6,
                                      staticMACs: staticMACs, evaluations: 6, seed: 1)
        let result = try SearchDriver(settings: settings).run(e)
        XCTAssertEqual(result.evaluations.count, 6)
        guard let best = result.best else { return XCTFail("no best configuration") }
        let enc = try best.encoding(in: e.searchSpace)
        try e.space.check(try e.configuration(best))
        // Re-evaluating the chosen configuration at its thresholds gives its recorded accuracy and MACs.
        let scores = try e.evaluate(enc).scored(against: try e.labels())
        let (accuracy, macs) = scores.outcome(thresholds: best.thresholds)
        XCTAssertEqual(accuracy, best.accuracy, accuracy: 1e-9)
        XCTAssertEqual(macs, best.expectedMACs, accuracy: 1e-6)
    }

    func testUnlabeledReferenceIsTheStaticModelOrTheWidestLastExit() throws {
        let (stat, _) = try tinySupernet()
        let withStatic = try evaluator(reference: stat)
        let withoutStatic = try evaluator()
        XCTAssertEqual(try withStatic.referencePredictions().count, 12)
        XCTAssertEqual(try withoutStatic.referencePredictions(),
                       try withoutStatic.evaluate(withoutStatic.space.choices.flatMap { [$0.candidates.count - 2, $0.candidates.count - 1] })
                           .predictions.last)
        XCTAssertEqual(try withStatic.staticMACs(), Double(try CostModel.report(stat).totals.macs))
    }
}
