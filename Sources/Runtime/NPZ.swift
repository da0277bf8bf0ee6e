// NPZ: reads and writes NumPy's .npz archives (np.savez, np.savez_compressed): named NPY arrays.

/// The NumPy `.npz` format: a ZIP archive of `.npy` files, one per named array. Reads stored and
/// deflated archives (ZIP64 included, as NumPy writes them); writes stored or deflated ones that
/// `np.load` reads. Malformed archives are `RuntimeError`s naming the file and entry.
public enum NPZ {
    /// True when `bytes` start like a ZIP archive: a first entry, or the end record alone (the
    /// archive of `np.savez(path)` with no arrays).
    public static func hasMagic(_ bytes: [UInt8]) -> Bool {
        guard bytes.count >= 4, let signature = ByteReader(bytes).uint32(at: 0) else { return false }
        return signature == ZipArchive.localSignature || signature == ZipArchive.endSignature
    }

    /// The arrays of the archive at `path`, in archive order, named without the `.npy` suffix.
    public static func read(fileAt path: String) throws -> [(name: String, array: NumPyArray)] {
        try decode(try readFileBytes(path), file: path)
    }

    /// Writes `arrays` to `path`, deflated when `compressed` (as `np.savez_compressed`).
    public static func write(_ arrays: [(name: String, array: NumPyArray)], to path: String, compressed: Bool = false) throws {
        let bytes: [UInt8]
        do {
            bytes = try encode(arrays, compressed: compressed)
        } catch var error as RuntimeError {
            if error.subject == nil { error.subject = "file '\(path)'" }
            throw error
        }
        try writeFileBytes(bytes, to: path)
    }

    /// Decodes an archive's bytes; `file` names it in errors.
    public static func decode(_ bytes: [UInt8], file: String) throws -> [(name: String, array: NumPyArray)] {
        do {
            let entries = try ZipArchive.read(bytes)
            return try entries.map { entry in
                let name = entry.name.hasSuffix(".npy") ? String(entry.name.dropLast(4)) : entry.name
                do {
                    return (name, try NPY.decode(entry.data, file: entry.name))
                } catch let error as RuntimeError {
                    throw RuntimeError("array '\(name)': \(error.message)")
                }
            }
        } catch var error as RuntimeError {
            if error.subject == nil { error.subject = "file '\(file)'" }
            throw error
        }
    }

    /// The archive bytes of `arrays`, each stored as `<name>.npy`.
    public static func encode(_ arrays: [(name: String, array: NumPyArray)], compressed: Bool = false) throws -> [UInt8] {
        try ZipArchive.write(arrays.map { ZipEntry(name: $0.name + ".npy", data: NPY.encode($0.array)) }, compressed: compressed)
    }
}
