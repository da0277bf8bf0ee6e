// Emit: `s2dc emit MODEL --target c|swift -o DIR` writes standalone inference code for the model.

import ArgumentParser
import Backend
import Foundation
import IR
import ONNX
import Passes
import Runtime

struct Emit: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write standalone C (.c + .h) or Swift inference code for a static ONNX model.",
        discussion: """
            The emitted code runs batch 1 (a symbolic batch dimension becomes 1). C: <name>.c and <name>.h, C99, \
            libm only, no malloc; Swift: <name>.swift. With --weights file (the default above 8 MiB of weights) the \
            weights go to <name>.bin beside the source. Prints the planned arena next to the sum of all activations.
            """)

    @Argument(help: "The ONNX model file.")
    var model: String

    @Option(help: "c or swift.")
    var target: String = "c"

    @Option(name: .shortAndLong, help: "Output folder (created if missing).")
    var output: String = "."

    @Option(help: "Symbol prefix (default: the model file's base name as a C identifier).")
    var prefix: String?

    @Option(help: "Base name of the emitted files (default: the prefix).")
    var name: String?

    @Option(help: "inline or file (default: file above 8 MiB of weights).")
    var weights: String?

    @Option(help: "IR passes to run before emitting (a pipeline as `s2dc opt --passes` takes; '' for none).")
    var passes: String = "canonicalize"

    @Flag(help: "C only: call cblas_sgemm for convolutions instead of the built-in kernels.")
    var cblas = false

    func validate() throws {
        guard EmitTarget(rawValue: target) != nil else { throw ValidationError("--target must be c or swift, got '\(target)'") }
        if let weights, WeightStorage(rawValue: weights) == nil {
            throw ValidationError("--weights must be inline or file, got '\(weights)'")
        }
        if let prefix, EmitOptions.identifier(from: prefix) != prefix {
            throw ValidationError("--prefix must be a C identifier, got '\(prefix)'")
        }
        if cblas && target == "swift" { throw ValidationError("--cblas applies to --target c only") }
    }

    func run() throws {
        try FilePaths.requireWritableFolder(output, what: "the output folder")
        var graph = try ONNXLoader.load(path: model)
        if !passes.isEmpty {
            let manager = try PassManager(pipeline: passes, verifyEach: false)
            _ = try manager.run(&graph)
        }
        let base = URL(fileURLWithPath: model).deletingPathExtension().lastPathComponent
        let prefix = self.prefix ?? EmitOptions.identifier(from: base)
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
}
