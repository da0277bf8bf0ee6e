// StagedRun: `s2dc run` on a staged graph (.s2dir): early exit per sample, exit_stage and macs out.

import ArgumentParser
import Foundation
import IR
import ONNX
import Runtime

/// Reads a model: ONNX by extension (`.onnx`), textual IR otherwise.
func loadModelFile(_ path: String) throws -> Graph {
    // Errors here are about the file, not the command line, so they exit with status 1 (a
    // ValidationError would print the usage and exit 64).
    if path.hasSuffix(".onnx") { return try ONNXLoader.load(path: path) }
    try FilePaths.requireRegularFile(path)
    guard let data = FileManager.default.contents(atPath: path) else {
        throw IRError("\(path): cannot read the file")
    }
    do {
        return try TextParser.parse(String(decoding: data, as: UTF8.self))
    } catch {
        throw IRError("\(path): \(error)")
    }
}

/// Runs a staged graph: each sample leaves at its first exit whose score reaches the threshold
/// (or at `exitAt`), and the result holds the graph output per sample plus `exit_stage` (int64,
/// 1-based) and `macs` (int64).
func runStaged(_ graph: Graph, inputs: [String: Tensor], thresholds: [Float]?, exitAt: Int?, noFusion: Bool,
               output: String?, compress: Bool) throws {
    let interpreter = try StagedInterpreter(graph: graph, options: .init(fuseOperators: !noFusion))
    let result = try interpreter.run(inputs, thresholds: thresholds, exitAt: exitAt)
    let name = graph.outputs[0]
    guard let y = result.outputs[name] else { throw ValidationError("the staged run produced no '\(name)'") }
    let n = result.exitStage.count
    if let output {
        guard output.lowercased().hasSuffix(".npz") else {
            throw ValidationError("\(output): a staged model writes \(name), exit_stage and macs; write an .npz")
        }
        try NPZ.write([(name, NumPyArray(y)),
                       ("exit_stage", NumPyArray(shape: [n], elements: .int64(result.exitStage.map(Int64.init)))),
                       ("macs", NumPyArray(shape: [n], elements: .int64(result.macs.map(Int64.init))))],
                      to: output, compressed: compress)
    } else {
        print(y.summary(name: name))
        print("exit_stage: " + result.exitStage.map(String.init).joined(separator: " "))
        print("macs: " + result.macs.map(String.init).joined(separator: " "))
    }
}

/// `--thresholds 0.9,0.8` as floats.
func parseThresholds(_ text: String?) throws -> [Float]? {
    guard let text else { return nil }
    var values: [Float] = []
    for part in text.split(separator: ",", omittingEmptySubsequences: false) {
        guard let v = Float(part.trimmingCharacters(in: .whitespaces)), v.isFinite || v == .infinity else {
            throw ValidationError("--thresholds: '\(part)' is not a number (give t1,...,t(S-1))")
        }
        values.append(v)
    }
    return values
}
