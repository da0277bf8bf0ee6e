// SupernetCheckpoint: a supernet trainer's state (weights, statistics, velocities, EMA, sampler, progress) as one NPZ.
import Foundation
import IR

/// A supernet training checkpoint, stored as NPZ: `param/`, `velocity/`, `buffer/` and `ema/`
/// arrays by constant name, `sampler` (the sampler's state, uint8 bytes) and `meta` (int64:
/// format version, epochs done, steps done, seed). Written through a temporary file and a rename.
public enum SupernetCheckpoint {
    static let formatVersion: Int64 = 1

    public static func save(_ trainer: SupernetTrainer, to path: String) throws {
        var arrays: [(name: String, array: NumPyArray)] = []
        arrays.append(("meta", NumPyArray(shape: [4], elements: .int64([formatVersion, Int64(trainer.epochsDone), Int64(trainer.stepsDone),
                                                                         Int64(bitPattern: trainer.options.training.seed)]))))
        for (name, p) in trainer.parameters.sorted(by: { $0.key < $1.key }) {
            arrays.append(("param/" + name, NumPyArray(p)))
            if let v = trainer.optimizer.velocity[name] { arrays.append(("velocity/" + name, NumPyArray(shape: p.shape, elements: .float32(v)))) }
            if let e = trainer.ema[name] { arrays.append(("ema/" + name, NumPyArray(e))) }
        }
        for (name, b) in trainer.buffers.sorted(by: { $0.key < $1.key }) { arrays.append(("buffer/" + name, NumPyArray(b))) }
        let state = Array(try trainer.sampler.state())
        arrays.append(("sampler", NumPyArray(shape: [state.count], elements: .uint8(state))))
        try NPZ.write(arrays, to: path)
    }

    /// Restores `trainer` from `path`; the checkpoint must be of the same supernet and seed.
    public static func load(_ path: String, into trainer: SupernetTrainer) throws {
        let arrays = Dictionary(try NPZ.read(fileAt: path).map { ($0.name, $0.array) }, uniquingKeysWith: { a, _ in a })
        guard let meta = arrays["meta"], case .int64(let m) = meta.elements, m.count == 4, m[0] == formatVersion,
              arrays["sampler"] != nil else {
            throw RuntimeError.file(path, "not an s2dc supernet checkpoint (no valid 'meta' and 'sampler' arrays)")
        }
        guard UInt64(bitPattern: m[3]) == trainer.options.training.seed else {
            throw RuntimeError.file(path, "was written with --seed \(UInt64(bitPattern: m[3])); resume with the same seed")
        }
        func tensor(_ key: String, shape: [Int]) throws -> Tensor {
            guard let a = arrays[key], case .float32(let v) = a.elements, a.shape == shape else {
                throw RuntimeError.file(path, "has no float32 array '\(key)' of shape \(shape): it belongs to another model")
            }
            return Tensor(shape: shape, scalars: v)
        }
        var params = trainer.parameters, buffers = trainer.buffers, ema = trainer.ema, velocity: [String: [Float]] = [:]
        for (name, p) in trainer.parameters {
            params[name] = try tensor("param/" + name, shape: p.shape)
            if arrays["velocity/" + name] != nil { velocity[name] = try tensor("velocity/" + name, shape: p.shape).scalars }
            if ema[name] != nil { ema[name] = try tensor("ema/" + name, shape: p.shape) }
        }
        for (name, b) in trainer.buffers { buffers[name] = try tensor("buffer/" + name, shape: b.shape) }
        guard let s = arrays["sampler"], case .uint8(let bytes) = s.elements else {
            throw RuntimeError.file(path, "has no uint8 'sampler' array")
        }
        try trainer.sampler.restore(Data(bytes))
        trainer.parameters = params
        trainer.buffers = buffers
        trainer.ema = ema
        trainer.optimizer.velocity = velocity
        trainer.epochsDone = Int(m[1])
        trainer.stepsDone = Int(m[2])
    }
}
