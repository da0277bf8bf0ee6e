// InputFiles: binds NPY/NPZ files named on a command line to a graph's inputs, and writes outputs.
import Foundation
import IR

/// The files behind `s2dc run --input … --output …`, kept here so that the CLI stays thin.
public enum InputFiles {
    /// Reads the input files and returns one float32 tensor per graph input they name.
    ///
    /// Each spec is `PATH` or `NAME=PATH`. An NPY file binds to the input `NAME`, or, without a
    /// name, to the model's only input. An NPZ file binds each of its arrays to the input of the
    /// same name (with `NAME=`, only the array called NAME, or its only array). Files are told apart
    /// by their first bytes, not their extension. Errors: unknown input names (also in `NAME=`), an
    /// input given twice, a file that is neither NPY nor NPZ, an NPZ with no arrays, a dtype other
    /// than float32.
    public static func load(_ specs: [String], for inputs: [GraphInput]) throws -> [String: Tensor] {
        let names = Set(inputs.map(\.name))
        var bound: [String: Tensor] = [:]
        func bind(_ name: String, _ array: NumPyArray, from path: String) throws {
            guard names.contains(name) else {
                let known = inputs.map { "'\($0.name)'" }.joined(separator: ", ")
                throw RuntimeError.input(name, "the model has no such input (its inputs: \(known)); given by \(path)")
            }
            guard bound[name] == nil else { throw RuntimeError.input(name, "given twice (again by \(path))") }
            bound[name] = try array.floatTensor(forInput: name)
        }
        for spec in specs {
            var name: String?
            var path = spec
            // NAME=PATH, read as written; a whole spec that names an existing file is a path with
            // an '=' in it.
            if let eq = spec.firstIndex(of: "="), !FileManager.default.fileExists(atPath: spec) {
                name = String(spec[..<eq])
                path = String(spec[spec.index(after: eq)...])
                guard let given = name, names.contains(given) else {
                    let known = inputs.map { "'\($0.name)'" }.joined(separator: ", ")
                    throw RuntimeError("--input \(spec): the model has no input '\(name ?? "")' (its inputs: \(known))")
                }
            }
            let bytes = try readFileBytes(path)
            if NPZ.hasMagic(bytes) {
                let arrays = try NPZ.decode(bytes, file: path)
                guard !arrays.isEmpty else { throw RuntimeError.file(path, "is an NPZ archive that has no arrays") }
                if let name {
                    guard let array = arrays.first(where: { $0.name == name })?.array ?? (arrays.count == 1 ? arrays[0].array : nil) else {
                        throw RuntimeError.file(path, "has no array named '\(name)' (it has \(arrays.map { "'\($0.name)'" }.joined(separator: ", ")))")
                    }
                    try bind(name, array, from: path)
                } else {
                    for (arrayName, array) in arrays { try bind(arrayName, array, from: path) }
                }
            } else {
                let array = try NPY.decode(bytes, file: path)
                guard let target = name ?? (inputs.count == 1 ? inputs[0].name : nil) else {
                    let known = inputs.map(\.name).joined(separator: ", ")
                    throw RuntimeError.file(path, "the model has \(inputs.count) inputs (\(known)); name the one this file is for: --input NAME=\(path)")
                }
                try bind(target, array, from: path)
            }
        }
        return bound
    }

    /// Checks, before the model runs, that `writeOutputs` can write `outputCount` outputs to `path`:
    /// the extension is `.npz`, or `.npy` for a single output, and the file can be written there.
    public static func checkOutput(_ path: String, outputCount: Int) throws {
        try FilePaths.requireWritableFile(path, what: "the outputs")
        let lower = path.lowercased()
        if !lower.hasSuffix(".npz") {
            guard lower.hasSuffix(".npy") else {
                throw RuntimeError.file(path, "the output file must end in .npz (all outputs by name) or .npy (a single output)")
            }
            guard outputCount == 1 else {
                throw RuntimeError.file(path, "an NPY file holds one array but the model has \(outputCount) outputs; write an .npz instead")
            }
        }
    }

    /// Writes outputs to `path`: an NPZ archive of all of them by name when the path ends in
    /// `.npz` (deflated when `compressed`), an NPY file, which holds one output only, when it
    /// ends in `.npy`; any other path is refused (see `checkOutput`).
    public static func writeOutputs(_ outputs: [(name: String, tensor: Tensor)], to path: String, compressed: Bool = false) throws {
        try checkOutput(path, outputCount: outputs.count)
        if path.lowercased().hasSuffix(".npz") {
            try NPZ.write(outputs.map { ($0.name, NumPyArray($0.tensor)) }, to: path, compressed: compressed)
        } else if let only = outputs.first {
            try NPY.write(NumPyArray(only.tensor), to: path)
        }
    }
}
