// Emit: `s2dc emit MODEL --target c|swift|onnx -o DIR` writes standalone inference code (or one ONNX file) for the model.

import ArgumentParser
import Backend
import Foundation
import IR
import ONNX
import Passes
import Runtime

struct Emit: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write standalone C (.c + .h), Swift or ONNX inference code for a model (static, or staged with early exits).",
        discussion: """
            The emitted code runs batch 1 (a symbolic batch dimension becomes 1). C: <name>.c and <name>.h, C99, \
            libm only, no malloc; Swift: <name>.swift. With --weights file (the default above 8 MiB of weights) the \
            weights go to <name>.bin beside the source. A staged model (textual IR from split-stages and insert-exits) \
            gives p_predict, which runs stage by stage and returns at the first confident exit. Prints the planned arena next to the sum of all activations.
            ONNX: -o names the .onnx file (or a folder, for <name>.onnx); a staged model becomes one If chain that \
            onnxruntime runs at batch 1 with real early exit, with inputs threshold_<stage> (defaults: the model's) \
            and outputs the logits, exit_stage and macs.
            """)

    @Argument(help: "The model: ONNX (.onnx) or textual IR (.s2dir); a staged one (split-stages, insert-exits) gets code that exits early.")
    var model: String

    @Option(help: "c, swift or onnx.")
    var target: String = "c"

    @Option(name: .shortAndLong, help: "Output folder (created if missing); for --target onnx, the .onnx file or a folder.")
    var output: String = "."

    @Option(help: "Symbol prefix (default: the model file's base name as a C identifier).")
    var prefix: String?

    @Option(help: "Base name of the emitted files (default: the prefix).")
    var name: String?

    @Option(help: "inline or file (default: file above 8 MiB of weights).")
    var weights: String?

    @Option(help: "IR passes to run before emitting (a pipeline as `s2dc opt --passes` takes; '' for none; default: canonicalize, or fold-constants on a staged model, which turns its weight slices into arrays).")
    var passes: String?

    @Flag(help: "C only: call cblas_sgemm for convolutions instead of the built-in kernels.")
    var cblas = false

    func validate() throws {
        guard EmitTarget(rawValue: target) != nil || target == "onnx" else {
            throw ValidationError("--target must be c, swift or onnx, got '\(target)'")
        }
        if target == "onnx" && (weights != nil || prefix != nil || cblas) {
            throw ValidationError("--weights, --prefix and --cblas apply to --target c and swift, not onnx")
        }
        if let weights, WeightStorage(rawValue: weights) == nil {
            throw ValidationError("--weights must be inline or file, got '\(weights)'")
        }
        if let prefix, EmitOptions.identifier(from: prefix) != prefix {
            throw ValidationError("--prefix must be a C identifier, got '\(prefix)'")
        }
        if cblas && target == "swift" { throw ValidationError("--cblas applies to --target c only") }
    }

    func run() throws {
        if target != "onnx" { try FilePaths.requireWritableFolder(output, what: "the output folder") }
        var graph = try loadModelFile(model)
        let passes = self.passes ?? (graph.stageInfo == nil ? "canonicalize" : "fold-constants")
        if !passes.isEmpty {
            let manager = try PassManager(pipeline: passes, verifyEach: false)
            _ = try manager.run(&graph)
        }
        let base = URL(fileURLWithPath: model).deletingPathExtension().lastPathComponent
        let prefix = self.prefix ?? EmitOptions.identifier(from: base)
        if target == "onnx" { return try emitONNX(graph, name: name ?? prefix) }
        let options = EmitOptions(prefix: prefix, weights: weights.flatMap(WeightStorage.init(rawValue:)), cblas: cblas)
        let result = try CodeGenerator.emit(graph, target: EmitTarget(rawValue: target)!, name: name ?? prefix, options: options)
        let dir = URL(fileURLWithPath: output)
        do {
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        } catch {
            throw RuntimeError("cannot create the output folder '\(output)': \(error.localizedDescription)")
        }
        for file in result.files {
            // Written beside the target, then renamed: a reader never sees a half-written file.
            let dest = dir.appendingPathComponent(file.name)
            try writeAtomically(file.contents, to: dest.path)
            print("wrote \(dest.path) (\(file.contents.count) bytes)")
        }
        print("kernels: \(result.kernelCount)")
        // The arena also holds kernel scratch (im2col panels), so it can exceed the activations' sum.
        print("arena: \(result.arenaBytes) bytes for activations and kernel scratch, planned from lifetimes (sum of all activations: \(result.activationBytes) bytes; largest kernel scratch: \(result.scratchBytes) bytes)")
        print("weights: \(result.weightBytes) bytes, \(result.weightStorage.rawValue)")
    }

    /// `--target onnx`: the model as one ONNX file (an If chain for a staged model).
    func emitONNX(_ graph: Graph, name: String) throws {
        var path = output
        if path.hasSuffix(".onnx") {
            try FilePaths.requireWritableFile(path, what: "the output file")
        } else {
            try FilePaths.requireWritableFolder(output, what: "the output folder")
            do {
                try FileManager.default.createDirectory(atPath: output, withIntermediateDirectories: true)
            } catch {
                throw RuntimeError("cannot create the output folder '\(output)': \(error.localizedDescription)")
            }
            path = URL(fileURLWithPath: output).appendingPathComponent(name + ".onnx").path
        }
        let bytes = try ONNXExporter.modelBytes(graph, file: path)
        try writeAtomically(bytes, to: path)
        print("wrote \(path) (\(bytes.count) bytes)")
        if let info = graph.stageInfo {
            let early = info.exits.filter { $0.stage < info.stageCount }
            print("dynamic ONNX: \(info.stageCount) stages, batch 1; inputs \(graph.inputs[0].name)"
                  + early.map { ", threshold_\($0.stage) (default \($0.threshold))" }.joined()
                  + "; outputs \(graph.outputs[0]), exit_stage, macs")
        }
    }
}
