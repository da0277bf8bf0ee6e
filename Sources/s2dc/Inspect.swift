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

    @Argument(help: "The model: ONNX (.onnx) or textual IR (.s2dir); a staged one also gets its per-stage and per-exit cost.")
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
        let graph = try loadModelFile(model)
        if let info = graph.stageInfo {
            try Verifier.verify(graph)
            let stages = try CostModel.stageReport(graph, batch: batch)
            if json {
                print(try stages.json(info, model: model))
            } else {
                print(try CostModel.report(graph, batch: batch).table(title: model))
                print(stages.table(info), terminator: "")
            }
            return
        }
        let report = try CostModel.report(graph, batch: batch)
        print(json ? try report.json(model: model) : report.table(title: model), terminator: json ? "\n" : "")
    }
}
