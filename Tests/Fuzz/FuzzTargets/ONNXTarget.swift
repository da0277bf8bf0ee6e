// ONNXTarget: the fuzz entry over the ONNX decoder, importer, verifier and canonicalize (and export back).

import IR
import ONNX
import Passes

/// One fuzz input through the ONNX front end: decode → import (which verifies) → canonicalize →
/// verify → export → decode → import. A thrown error is a correct answer to a bad file; a trap,
/// or a graph that a step left invalid, is a bug, and this function then traps so the fuzzer
/// reports the input.
public enum ONNXTarget {
    /// The most constant elements an input may make the importer allocate (16 MiB of floats).
    /// Larger inputs are legal models whose cost is memory, not logic; they are not run, so that a
    /// mutated dimension cannot turn into an out-of-memory report (libFuzzer counts those as crashes).
    public static let constantElementBudget = 1 << 22

    /// Runs one input; returns false when the input was refused before importing (no ONNX model,
    /// or over the constant budget), true when it went through the importer.
    @discardableResult
    public static func run(_ bytes: [UInt8]) -> Bool {
        // No base directory: a model naming external data fails with an error, never reads a file.
        guard let model = try? ONNXDecoder.decodeModel(bytes: bytes, file: "<fuzz>", baseDirectory: nil) else { return false }
        guard ConstantBudget.elements(of: model) <= constantElementBudget else { return false }
        guard var graph = try? ONNXImporter.importModel(model, file: "<fuzz>") else { return true }
        Invariants.requireValid(graph, after: "import")
        guard let canonicalize = try? PassManager(pipeline: "canonicalize") else {
            fatalError("the canonicalize pass is not registered")
        }
        guard (try? canonicalize.run(&graph)) != nil else { return true }
        Invariants.requireValid(graph, after: "canonicalize")
        // What s2dc writes it must read back: an exported graph that fails to import is a bug.
        guard let exported = try? ONNXExporter.modelBytes(graph) else { return true }
        do {
            let back = try ONNXImporter.importModel(
                try ONNXDecoder.decodeModel(bytes: exported, file: "<exported>", baseDirectory: nil), file: "<exported>")
            Invariants.requireValid(back, after: "export and re-import")
        } catch {
            fatalError("the exported canonical graph does not import back: \(error)")
        }
        return true
    }
}

/// An upper estimate of the constant elements an import allocates, from the decoded model alone:
/// the initializers, plus ConstantOfShape, Expand and Range outputs whose size arguments are
/// literal constants (the ways a few bytes of input become a large tensor).
enum ConstantBudget {
    static func elements(of model: ONNXModel) -> Int {
        let g = model.graph
        var literal: [String: ONNXTensor] = [:]
        var total = 0
        for t in g.initializers {
            literal[t.name] = t
            total = add(total, product(t.dims))
        }
        for n in g.nodes where n.opType == "Constant" {
            if case .tensor(let t)? = n.attributes["value"], let out = n.outputs.first {
                literal[out] = t
                total = add(total, product(t.dims))
            }
        }
        /// The literal integer input `i` of `n`, when there is one.
        func ints(_ n: ONNXNode, _ i: Int) -> [Int64]? {
            guard i < n.inputs.count, let t = literal[n.inputs[i]], case .ints(let v) = t.data else { return nil }
            return v
        }
        for n in g.nodes {
            switch n.opType {
            case "ConstantOfShape":
                if let shape = ints(n, 0) { total = add(total, product(shape.map(clampedInt))) }
            case "Expand":
                if let shape = ints(n, 1) { total = add(total, product(shape.map(clampedInt))) }
            case "Range":
                if let s = ints(n, 0)?.first, let l = ints(n, 1)?.first, let d = ints(n, 2)?.first, d != 0 {
                    total = add(total, clampedInt(Double(l) / Double(d) - Double(s) / Double(d)))
                }
            default: break
            }
        }
        return total
    }

    static func clampedInt(_ v: Int64) -> Int { Int(max(0, min(v, Int64(Int32.max)))) }
    static func clampedInt(_ v: Double) -> Int { v.isNaN ? 0 : Int(max(0, min(v, Double(Int32.max)))) }

    static func product(_ dims: [Int]) -> Int {
        dims.reduce(1) { p, d in
            let (r, overflow) = p.multipliedReportingOverflow(by: max(d, 0))
            return overflow ? Int.max : r
        }
    }

    static func add(_ a: Int, _ b: Int) -> Int {
        let (r, overflow) = a.addingReportingOverflow(b)
        return overflow ? Int.max : r
    }
}
