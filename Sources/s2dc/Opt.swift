// Opt: `s2dc opt MODEL --passes=...` runs named IR passes, as mlir-opt and LLVM opt do.

import ArgumentParser
import Foundation
import IR
import ONNX
import Passes
import Runtime

struct Opt: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run IR passes on a model (ONNX or textual IR) and print or write the result.",
        discussion: """
            Pipelines are comma-separated pass names with options in braces, e.g.
              --passes='fold-constants,fold-batchnorm,fuse-activation,dce'
              --passes='canonicalize{max-iterations=20}'
            --list-passes prints every pass with its summary and options. The output format follows \
            the -o extension: .onnx writes ONNX (opset 17), anything else (.s2dir) textual IR. A staged graph \
            (split-stages, insert-exits) is written as the dynamic ONNX model `s2dc emit --target onnx` writes: one If \
            chain with real early exit at batch 1 (add fold-constants to the pipeline to store the weight slices \
            as initializers, as emit does).
            """)

    @Argument(help: "The input model: .onnx, or textual IR (.s2dir or any other extension).")
    var model: String?

    @Option(name: .long, help: "The pass pipeline to run.")
    var passes: String = ""

    @Option(name: .shortAndLong, help: "Write the result here (.onnx: ONNX; otherwise textual IR).")
    var output: String?

    @Flag(help: "Print the resulting IR to standard output.")
    var printIr = false

    @Flag(help: "Print the IR after every pass to standard error.")
    var printIrAfterAll = false

    @Flag(help: "Print what each pass changed (to standard error).")
    var stats = false

    @Flag(help: "Run the verifier on the input and after every pass.")
    var verifyEach = false

    @Flag(help: "Print constant data in full when printing IR.")
    var printConstants = false

    @Flag(help: "List every registered pass with its summary and options, and exit.")
    var listPasses = false

    @Option(name: .customLong("load-pass-plugin"), help: "A shared library whose passes to register (repeatable).")
    var plugins: [String] = []

    func validate() throws {
        if !listPasses && model == nil { throw ValidationError("missing the input model (or --list-passes)") }
    }

    func run() throws {
        for plugin in plugins { try PassPlugin.load(path: plugin) }
        if listPasses {
            print(PassRegistry.shared.listing(), terminator: "")
            return
        }
        guard let model else { return }
        var manager = try PassManager(pipeline: passes, verifyEach: verifyEach)
        let limit = printConstants ? nil : 16
        if printIrAfterAll {
            manager.afterPass = { pass, graph in
                printError("// ----- IR after \(pass) ----- //\n" + TextPrinter.print(graph, elideConstantsAbove: limit))
            }
        }
        var graph = try loadModelFile(model)
        let statistics = try manager.run(&graph)
        if stats {
            printError(PassStatistics.table(statistics), terminator: "")
            for row in statistics { if let report = row.report { printError("\n// \(row.pass)\n" + report, terminator: "") } }
        }
        if printIr { print(TextPrinter.print(graph, elideConstantsAbove: limit), terminator: "") }
        if let output {
            if output.hasSuffix(".onnx") {
                try ONNXExporter.export(graph, to: output)
            } else {
                try writeAtomically(Array(TextPrinter.print(graph, elideConstantsAbove: nil).utf8), to: output)
            }
        }
    }
}

/// Writes to standard error (diagnostic output that must not mix with IR on standard output).
private func printError(_ text: String, terminator: String = "\n") {
    FileHandle.standardError.write(Data((text + terminator).utf8))
}
