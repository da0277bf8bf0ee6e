// InputFiles: binds NPY/NPZ files named on a command line to a graph's inputs, and writes outputs.
import IR

/// The files behind `s2dc run --input … --output …`, kept here so that the CLI stays thin.
public enum InputFiles {
    /// Reads the input files and returns one float32 tensor per graph input they name.
    ///
    /// Each spec is `PATH` or `NAME=PATH`. An NPY file binds to the input `NAME`, or, without a
    /// name, to the model's only input. An NPZ file binds each of its arrays to the input of the
    /// same name (with `NAME=`, only the array called NAME, or its only array). Files are told apart
    /// by their first bytes, not their extension. Errors: unknown input names, an input given
    /// twice, a file that is neither NPY nor NPZ, a dtype other than float32.
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
            // NAME=PATH only when NAME is an input of the model, so that paths may contain '='.
            if let eq = spec.firstIndex(of: "="), names.contains(String(spec[..<eq])) {
                name = String(spec[..<eq])
                path = String(spec[spec.index(after: eq)...])
            }
            let bytes = try readFileBytes(path)
            if NPZ.hasMagic(bytes) {
                let arrays = try NPZ.decode(bytes, file: path)
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

    /// Writes outputs to `path`: an NPZ archive of all of them by name when the path ends in
    /// `.npz` (deflated when `compressed`), else an NPY file, which holds one output only.
    public static func writeOutputs(_ outputs: [(name: String, tensor: Tensor)], to path: String, compressed: Bool = false) throws {
        if path.lowercased().hasSuffix(".npz") {
            try NPZ.write(outputs.map { ($0.name, NumPyArray($0.tensor)) }, to: path, compressed: compressed)
            return
        }
        guard outputs.count == 1, let only = outputs.first else {
            throw RuntimeError.file(path, "an NPY file holds one array but the model has \(outputs.count) outputs; write an .npz instead")
        }
        try NPY.write(NumPyArray(only.tensor), to: path)
    }
}
