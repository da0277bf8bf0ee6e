// Eval: `s2dc eval MODEL --data fashion-mnist` prints top-1 accuracy and loss on the test split.

import ArgumentParser
import Foundation
import ONNX
import Runtime

struct Eval: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print a classifier's top-1 accuracy and cross-entropy on a dataset's test split.")

    @Argument(help: "The ONNX model file.")
    var model: String

    @OptionGroup var dataOptions: DataOptions

    @Option(help: "Evaluate on the first N test images only.")
    var limit: Int?

    @Option(help: "Images per batch.")
    var batchSize = 256

    @Option(help: "A staged model or supernet: the configuration to evaluate (largest, smallest, or a JSON file); default: as split.")
    var configuration: String?

    @Option(help: "A staged model: candidate boundaries of classes without bins (as train --supernet --uniform-bins).")
    var uniformBins = 0

    @Option(help: "A staged model: smallest boundary fraction (as train --supernet --min-width).")
    var minWidth: Double = 0

    @Flag(help: "A staged model: vary every channel class (as train --supernet --all-classes).")
    var allClasses = false

    func validate() throws {
        guard batchSize >= 1 else { throw ValidationError("--batch-size must be at least 1") }
        if let limit, limit < 1 { throw ValidationError("--limit must be at least 1") }
    }

    func run() throws {
        BLASThreads.count = dataOptions.threads
        if !model.hasSuffix(".onnx") || configuration != nil { return try runStaged() }
        let graph = try ONNXLoader.load(path: model)
        let splits = try Dataset.load(dataOptions.data)
        var test = splits.evaluation
        if let limit { test = test.prefix(limit) }
        guard test.count > 0 else { throw RuntimeError("\(splits.source) has no test images") }
        let r = try Evaluation.evaluate(graph, on: test, preprocessing: try dataOptions.preprocessing(), batchSize: batchSize)
        print(String(format: "accuracy=%.4f loss=%.4f images=%d", r.accuracy, r.loss, r.count))
    }
}
