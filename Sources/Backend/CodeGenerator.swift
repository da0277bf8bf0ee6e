// CodeGenerator: the backend's public entry point: graph in, source files out.

import IR

/// One file the backend writes.
public struct EmittedFile: Sendable {
    public var name: String
    public var contents: [UInt8]
}

/// What `CodeGenerator.emit` produced, with the figures `s2dc emit` prints.
public struct EmitResult: Sendable {
    public var files: [EmittedFile]
    /// Bytes of the planned arena.
    public var arenaBytes: Int
    /// Bytes of all activations (every kernel output) if none shared memory.
    public var activationBytes: Int
    /// Bytes of the largest scratch a kernel needs (im2col columns), part of the arena.
    public var scratchBytes: Int
    /// Bytes of weight data (after folding and packing).
    public var weightBytes: Int
    /// Where the weights went.
    public var weightStorage: WeightStorage
    public var kernelCount: Int
}

/// Emits standalone inference code for a static graph.
///
/// The graph may have a symbolic batch dimension; the emitted code runs batch 1. Emission is
/// deterministic: the same graph and options always give the same bytes.
public enum CodeGenerator {
    /// `name` is the base name of the files (`<name>.c`, `<name>.h`, `<name>.swift`, `<name>.bin`).
    public static func emit(_ graph: Graph, target: EmitTarget, name: String, options: EmitOptions) throws -> EmitResult {
        let lang: Language = target == .c ? .c : .swift
        if graph.stageInfo != nil { return try emitStaged(graph, target: target, lang: lang, name: name, options: options) }
        let asm = try Assembly(graph: graph, lang: lang, options: options)
        let bytes = asm.weights.data.count * 4
        let storage = options.weights ?? (bytes > options.fileThresholdBytes ? .file : .inline)
        let files: [EmittedFile]
        switch target {
        case .c: files = CEmitter.emit(asm, name: name, options: options, storage: storage, graphName: graph.name)
        case .swift: files = SwiftEmitter.emit(asm, name: name, options: options, storage: storage, graphName: graph.name)
        }
        return EmitResult(files: files, arenaBytes: asm.plan.arenaFloats * 4, activationBytes: asm.activationFloats * 4, scratchBytes: asm.scratchFloats * 4,
                          weightBytes: bytes, weightStorage: storage, kernelCount: asm.kernels.count)
    }

    /// A staged graph (docs/STAGES.md): code that runs stage by stage and leaves at the first
    /// confident exit. Its weight slices must be constants (run `fold-constants` first).
    static func emitStaged(_ graph: Graph, target: EmitTarget, lang: Language, name: String, options: EmitOptions) throws -> EmitResult {
        for node in graph.nodes where node.op.name == "slice" && node.inputs.allSatisfy({ graph.constants[$0] != nil }) {
            throw BackendError("a slice of constants is left; run fold-constants before emitting a staged graph", node: node.name)
        }
        let dyn = try DynamicProgram(graph: graph, lang: lang, options: options)
        let asm = dyn.asm
        let bytes = asm.weights.data.count * 4
        let storage = options.weights ?? (bytes > options.fileThresholdBytes ? .file : .inline)
        let files: [EmittedFile]
        switch target {
        case .c: files = DynamicCEmitter.emit(dyn, name: name, options: options, storage: storage, graphName: graph.name)
        case .swift: files = DynamicSwiftEmitter.emit(dyn, name: name, options: options, storage: storage, graphName: graph.name)
        }
        return EmitResult(files: files, arenaBytes: asm.plan.arenaFloats * 4, activationBytes: asm.activationFloats * 4, scratchBytes: asm.scratchFloats * 4,
                          weightBytes: bytes, weightStorage: storage, kernelCount: asm.kernels.count)
    }
}
