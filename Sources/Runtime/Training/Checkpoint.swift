// Checkpoint: the trainer's state (weights, statistics, velocities, progress) as an atomically written NPZ.
import IR

/// A training checkpoint, stored as NPZ: `param/NAME`, `buffer/NAME` and `velocity/NAME` arrays,
/// and `meta` (int64: format version, epochs done, steps done, seed as a bit pattern). Written
/// through a temporary file and a rename, so an interrupted write never replaces a good checkpoint.
public enum Checkpoint {
    static let formatVersion: Int64 = 1

    /// Writes the trainer's state to `path`.
    public static func save(_ trainer: Trainer, to path: String) throws {
        let net = trainer.network
        var arrays: [(name: String, array: NumPyArray)] = []
        arrays.append(("meta", NumPyArray(shape: [4], elements: .int64([formatVersion, Int64(trainer.epochsDone),
                                                                         Int64(trainer.stepsDone),
                                                                         Int64(bitPattern: trainer.configuration.seed)]))))
        for name in net.parameterNames {
            guard let p = net.parameters[name] else { continue }
            arrays.append(("param/" + name, NumPyArray(p)))
            if let v = trainer.optimizer.velocity[name] {
                arrays.append(("velocity/" + name, NumPyArray(shape: p.shape, elements: .float32(v))))
            }
        }
        for name in net.bufferNames {
            if let b = net.buffers[name] { arrays.append(("buffer/" + name, NumPyArray(b))) }
        }
        try NPZ.write(arrays, to: path)
    }

    /// Restores a trainer's state from `path`; the checkpoint must match the model's parameters.
    public static func load(_ path: String, into trainer: Trainer) throws {
        let arrays = Dictionary(try NPZ.read(fileAt: path).map { ($0.name, $0.array) }, uniquingKeysWith: { a, _ in a })
        guard let meta = arrays["meta"], case .int64(let m) = meta.elements, m.count == 4, m[0] == formatVersion else {
            throw RuntimeError.file(path, "not an s2dc training checkpoint (no valid 'meta' array)")
        }
        guard UInt64(bitPattern: m[3]) == trainer.configuration.seed else {
            throw RuntimeError.file(path, "was written with --seed \(UInt64(bitPattern: m[3])); resume with the same seed")
        }
        let net = trainer.network
        func tensor(_ key: String, shape: [Int]) throws -> Tensor {
            guard let a = arrays[key], case .float32(let v) = a.elements, a.shape == shape else {
                throw RuntimeError.file(path, "has no float32 array '\(key)' of shape \(shape): it belongs to another model")
            }
            return Tensor(shape: shape, scalars: v)
        }
        var params = net.parameters, buffers = net.buffers, velocity: [String: [Float]] = [:]
        for name in net.parameterNames {
            guard let shape = params[name]?.shape else { continue }
            params[name] = try tensor("param/" + name, shape: shape)
            if arrays["velocity/" + name] != nil { velocity[name] = try tensor("velocity/" + name, shape: shape).scalars }
        }
        for name in net.bufferNames {
            guard let shape = buffers[name]?.shape else { continue }
            buffers[name] = try tensor("buffer/" + name, shape: shape)
        }
        net.parameters = params
        net.buffers = buffers
        trainer.optimizer.velocity = velocity
        trainer.epochsDone = Int(m[1])
        trainer.stepsDone = Int(m[2])
    }
}
