// Inspect: `s2dc inspect MODEL` prints per-node shapes, parameters and MACs, as a table or JSON.

import ArgumentParser
import IR
import ONNX

struct Inspect: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print per-node output shapes, parameters and MACs of an ONNX model, with totals.",
        discussion: """
            MACs: Conv counts N·Cout·Hout·Wout·(Cin/groups)·kh·kw, Gemm and MatMul M·N·K; every other op \
            counts 0 MACs and its work is reported as "other ops". A symbolic batch dimension counts as --batch.
            """)

    @Argument(help: "The ONNX model file.")
    var model: String

    @Flag(help: "Print the report as JSON.")
    var json = false

    @Option(help: "The size given to a symbolic batch dimension.")
    var batch = 1

    func validate() throws {
        guard batch >= 1 else { throw ValidationError("--batch must be at least 1, got \(batch)") }
    }

    func run() throws {
        // The importer verifies the graph it builds, so a report is never made of a broken graph.
        let graph = try ONNXLoader.load(path: model)
        let report = try CostModel.report(graph, batch: batch)
        print(json ? try report.json(model: model) : report.table(title: model), terminator: json ? "\n" : "")
    }
}
