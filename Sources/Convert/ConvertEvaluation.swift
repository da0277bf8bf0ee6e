// ConvertEvaluation: the test-split figures of the report: static model, each exit alone, the dynamic model, C latency.
import Foundation
import IR
import Report
import Runtime
import Search

/// What the evaluate phase measured (OUT/evaluation.json).
public struct ConvertEvaluationFile: Codable, Equatable, Sendable {
    public var testImages: Int
    public var staticModel: StaticModelReport
    public var exits: [ExitReport]
    public var dynamicModel: DynamicModelReport
}

/// The dynamic model's outcome at thresholds τ₁…τ_{S−1}, sample by sample: it leaves at the first
/// exit whose confidence reaches τ (compared in float, as the emitted C compares), the last
/// exit always answering.
struct DynamicOutcome {
    var exitIndex: [Int]
    var accuracy: Double
    var meanMACs: Double
    var shares: [Double]

    init(_ e: ConfigurationEvaluation, thresholds: [Double]) {
        let exits = e.cumulativeMACs.count, n = e.confidences.first?.count ?? 0
        var index: [Int] = [], right = 0, macs = 0.0, counts = Array(repeating: 0, count: exits)
        for i in 0..<n {
            var s = exits - 1
            for k in 0..<(exits - 1) where k < thresholds.count && e.confidences[k][i] >= Float(thresholds[k]) {
                s = k
                break
            }
            index.append(s)
            counts[s] += 1
            if e.correct[s][i] { right += 1 }
            macs += Double(e.cumulativeMACs[s])
        }
        exitIndex = index
        accuracy = n > 0 ? Double(right) / Double(n) : 0
        meanMACs = n > 0 ? macs / Double(n) : 0
        shares = counts.map { n > 0 ? Double($0) / Double(n) : 0 }
    }
}

extension ConvertDriver {
    func evaluatePhase() throws -> String {
        let chosen = try SupernetFile.load(folder.chosen)
        guard let info = chosen.stageInfo else { throw ConvertError("\(folder.chosen): not a staged graph") }
        let config = try folder.read(ChosenConfiguration.self, from: folder.finalConfiguration)
        let test = data.test
        events(.progress(.evaluate, done: 0, total: 3, unit: "models", detail: "static model"))
        let staticResult = try Evaluation.evaluate(staticGraph, on: test, preprocessing: data.preprocessing)
        // Ctrl-C stops between the evaluations (the phase has no checkpoint: it runs again on --resume).
        if shouldStop() { throw PhaseStopped() }
        events(.progress(.evaluate, done: 1, total: 3, unit: "models", detail: "dynamic model"))
        let e = try fixedEvaluation(chosen, on: test)
        let dyn = DynamicOutcome(e, thresholds: config.thresholds)
        var staticReport = StaticModelReport(testAccuracy: staticResult.accuracy, macs: Int(try staticMACs(info)))
        var dynamic = DynamicModelReport(testAccuracy: dyn.accuracy, meanMacs: dyn.meanMACs, exitShares: dyn.shares)
        let exits = zip(e.stages, zip(e.accuracies, e.cumulativeMACs)).map {
            ExitReport(exit: $0.0, testAccuracy: $0.1.0, cumulativeMacs: $0.1.1)
        }
        if shouldStop() { throw PhaseStopped() }
        events(.progress(.evaluate, done: 2, total: 3, unit: "models", detail: "timing the emitted C"))
        if !settings.latency {
            staticReport.latencyNote = "not measured: turned off (--no-latency)"
            dynamic.latencyNote = staticReport.latencyNote
        } else if let cc = EmittedCTiming.compiler() {
            var rng = TrainingRNG(seed: 0)
            let images = test.batch(Array(0..<test.count), data.preprocessing.evaluation, rng: &rng).images.scalars
            let inputSize = test.imageSize
            let classes = e.logits.last?.first?.count ?? 0
            try FileManager.default.createDirectory(atPath: folder.latency, withIntermediateDirectories: true)
            let flags = EmittedCTiming.flags(compiler: cc, work: folder.latency)
            let how = "\(cc) \(flags.joined(separator: " ")), mean over \(test.count) test images, batch 1, one thread"
            do {
                let weights = FileManager.default.fileExists(atPath: dynamicCFolder + "/model.bin") ? dynamicCFolder + "/model.bin" : nil
                let d = try EmittedCTiming.measure(compiler: cc, flags: flags, folder: dynamicCFolder, source: "model.c", header: "model.h", prefix: "model",
                                                   dynamic: true, classes: classes, inputSize: inputSize, weights: weights,
                                                   images: images, count: test.count, work: folder.latency)
                dynamic.meanLatencyMs = d.meanMs
                dynamic.latencyNote = how + (settings.target == .c ? ""
                    : "; the emitted \(settings.target.rawValue) code is not timed: this is the same model's C (latency/model.c)")
                var same = 0
                for i in 0..<test.count where d.labels[i] == e.predictions[dyn.exitIndex[i]][i] && d.exits[i] == e.stages[dyn.exitIndex[i]] {
                    same += 1
                }
                dynamic.emittedAgreement = Double(same) / Double(max(1, test.count))
            } catch {
                dynamic.latencyNote = "not measured: \(error)"
            }
            do {
                let weights = FileManager.default.fileExists(atPath: folder.latency + "/static.bin") ? folder.latency + "/static.bin" : nil
                let s = try EmittedCTiming.measure(compiler: cc, flags: flags, folder: folder.latency, source: "static.c", header: "static.h",
                                                   prefix: "static", dynamic: false, classes: classes, inputSize: inputSize,
                                                   weights: weights, images: images, count: test.count, work: folder.latency)
                staticReport.latencyMs = s.meanMs
                staticReport.latencyNote = how
            } catch {
                staticReport.latencyNote = "not measured: \(error)"
            }
            try? FileManager.default.removeItem(atPath: folder.latency + "/test-images.bin")
        } else {
            staticReport.latencyNote = "not measured: no C compiler (cc, gcc or clang on PATH, or CC)"
            dynamic.latencyNote = staticReport.latencyNote
        }
        let file = ConvertEvaluationFile(testImages: test.count, staticModel: staticReport, exits: exits, dynamicModel: dynamic)
        try folder.write(file, to: folder.evaluation)
        var line = String(format: "static %.4f; dynamic %.4f at %.3f of static MACs, leaving ", staticReport.testAccuracy, dyn.accuracy,
                          dyn.meanMACs / max(1, Double(staticReport.macs)))
        line += dyn.shares.map { String(format: "%.0f%%", 100 * $0) }.joined(separator: "/")
        if let ms = dynamic.meanLatencyMs, let sms = staticReport.latencyMs {
            line += String(format: "; C latency %.3f ms dynamic, %.3f ms static", ms, sms)
        }
        if let a = dynamic.emittedAgreement { line += String(format: "; emitted C agrees on %.2f%% of images", 100 * a) }
        return line + " (\(test.count) test images)"
    }
}
