// Run: `s2dc run MODEL --input x.npy [--output y.npz]` runs a model on NumPy arrays with the interpreter.

import ArgumentParser
import Foundation
import IR
import ONNX
import Runtime

struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run an ONNX model on NumPy arrays (NPY or NPZ) with s2dc's interpreter.",
        discussion: """
            Each --input is FILE or NAME=FILE. An .npy file feeds the input NAME, or the model's only \
            input; an .npz archive feeds each input from the array of the same name. Arrays must be \
            float32 in C order; the batch dimension may be any size. Without --output the outputs are \
            printed (shape, range, first values, arg-max per row); with it they are written: .npz for \
            all outputs by name, .npy for a single output.

            --repeat N --timing runs the model N more times after a warm-up and prints the median \
            latency of the model execution alone (no file I/O), as `median_ms=…`; `make bench` uses it.
            """)

    @Argument(help: "The model: ONNX (.onnx) or textual IR (.s2dir), static or staged.")
    var model: String

    @Option(name: .long, help: ArgumentHelp("An input array: FILE or NAME=FILE (.npy or .npz).", valueName: "input"))
    var input: [String] = []

    @Option(name: .long, help: "Write the outputs here (.npz: all by name; .npy: the only output).")
    var output: String?

    @Flag(help: "Deflate the .npz output (as np.savez_compressed).")
    var compress = false

    @Option(help: "Threads OpenBLAS may use (default: OpenBLAS's own choice).")
    var threads: Int?

    @Flag(help: "Print the median latency of the model execution over --repeat runs.")
    var timing = false

    @Option(help: "How many timed runs --timing makes.")
    var `repeat` = 10

    @Flag(help: "Print the median time of each kernel (and per op) over --repeat runs.")
    var profile = false

    @Flag(help: "Run each node on its own, without folding BatchNormalization or fusing activations.")
    var noFusion = false

    @Option(help: "A staged model's early-exit thresholds t1,...,t(S-1) (max softmax), instead of the model's own.")
    var thresholds: String?

    @Option(name: .customLong("exit-at"), help: "A staged model: every sample takes exit S (1-based).")
    var exitAt: Int?

    func validate() throws {
        guard !input.isEmpty else { throw ValidationError("give the model's input with --input FILE (or NAME=FILE)") }
        guard `repeat` >= 1 else { throw ValidationError("--repeat must be at least 1, got \(`repeat`)") }
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1, got \(threads)") }
    }

    func run() throws {
        if let threads { BLASThreads.count = threads }
        let graph = try loadModelFile(model)
        // Every output file is checked before any work; a staged run adds exit_stage and macs.
        if let output { try InputFiles.checkOutput(output, outputCount: graph.outputs.count + (graph.stageInfo != nil ? 2 : 0)) }
        if graph.stageInfo != nil {
            try runStaged(graph, inputs: try InputFiles.load(input, for: graph.inputs), thresholds: try parseThresholds(thresholds),
                          exitAt: exitAt, noFusion: noFusion, output: output, compress: compress)
            return
        }
        if thresholds != nil || exitAt != nil { throw ValidationError("--thresholds and --exit-at need a staged model (s2dc opt --passes='...,split-stages,insert-exits')") }
        let interpreter = try Interpreter(graph: graph, options: .init(fuseOperators: !noFusion))
        let inputs = try InputFiles.load(input, for: graph.inputs)
        let outputs = try interpreter.run(inputs)
        let ordered = graph.outputs.compactMap { name in outputs[name].map { (name: name, tensor: $0) } }
        if let output {
            try InputFiles.writeOutputs(ordered, to: output, compressed: compress)
        } else if !timing {
            for o in ordered { print(o.tensor.summary(name: o.name)) }
        }
        if profile {
            let steps = try interpreter.profile(inputs, repeats: `repeat`)
            print(ProfileReport(steps).text)
        }
        if timing {
            let times = try interpreter.measure(inputs, repeats: `repeat`)
            print(String(format: "median_ms=%.4f min_ms=%.4f runs=%d threads=%d", times.median * 1000, (times.min() ?? 0) * 1000,
                         times.count, BLASThreads.count)
                  + " blas=\(BLASKernels.coreName)")
        }
    }
}
