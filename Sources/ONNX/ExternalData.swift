// ExternalData: reads tensor bytes stored outside the model (data_location = EXTERNAL), safely.
import ONNXProto

/// Per-decode state: the file being decoded, the directory external data is relative to, and the
/// external data files opened so far (a model usually keeps all its weights in one file).
final class DecodeContext {
    let file: String
    let baseDirectory: String?
    private var openFiles: [String: ReadOnlyFile] = [:]

    init(file: String, baseDirectory: String?) {
        self.file = file
        self.baseDirectory = baseDirectory
    }

    /// Opens (once) the external data file named by `location`, which must stay inside the base
    /// directory: no absolute paths, no ".." above it, no symbolic link leading out of it.
    func externalFile(location: String, site: TensorSite) throws -> ReadOnlyFile {
        if let open = openFiles[location] { return open }
        guard let base = baseDirectory else {
            throw site.error("external data '\(location)' cannot be read: the model's directory is unknown")
        }
        guard !location.isEmpty else { throw site.error("external data has an empty location") }
        guard !location.hasPrefix("/") else {
            throw site.error("external data location '\(location)' is an absolute path; it must be relative to the model's directory")
        }
        var parts: [Substring] = []
        for part in location.split(separator: "/", omittingEmptySubsequences: true) {
            if part == "." { continue }
            if part == ".." {
                guard !parts.isEmpty else {
                    throw site.error("external data location '\(location)' escapes the model's directory")
                }
                parts.removeLast()
                continue
            }
            parts.append(part)
        }
        guard !parts.isEmpty else { throw site.error("external data location '\(location)' names no file") }
        let path = base + "/" + parts.joined(separator: "/")
        // A symbolic link inside the directory could still point outside it; compare real paths.
        if let realBase = resolvedPath(base), let realFile = resolvedPath(path) {
            let prefix = realBase.hasSuffix("/") ? realBase : realBase + "/"
            guard realFile.hasPrefix(prefix) else {
                throw site.error("external data location '\(location)' escapes the model's directory (through a symbolic link)")
            }
        }
        let opened: ReadOnlyFile
        do {
            opened = try ReadOnlyFile(path: path, errorFile: file, describe: "external data file '\(location)'")
        } catch let e as ONNXError {
            throw site.error(e.message + " (looked for \(path))")
        }
        openFiles[location] = opened
        return opened
    }
}

/// Reads the external bytes of a tensor, checking the entries (location, offset, length) and that
/// the range lies inside the file and holds exactly `expectedBytes`.
func readExternalData(_ p: Onnx__TensorProto, expectedBytes: Int, site: TensorSite) throws -> [UInt8] {
    var location: String?
    var offset = 0
    var length: Int?
    for entry in cBuffer(p.external_data, p.n_external_data) {
        guard let entry else { continue }
        let key = string(entry.pointee.key)
        let value = string(entry.pointee.value)
        switch key {
        case "location": location = value
        case "offset":
            guard let v = Int(value), v >= 0 else { throw site.error("external data offset '\(value)' is not a non-negative integer") }
            offset = v
        case "length":
            guard let v = Int(value), v >= 0 else { throw site.error("external data length '\(value)' is not a non-negative integer") }
            length = v
        default: continue  // "checksum" and future keys: not needed to read the data
        }
    }
    guard let location else { throw site.error("external data has no 'location' entry") }
    let file = try site.context.externalFile(location: location, site: site)
    guard offset <= file.size else {
        throw site.error("external data offset \(offset) is past the end of '\(location)' (\(file.size) bytes)")
    }
    let count = length ?? (file.size - offset)
    let (end, overflow) = offset.addingReportingOverflow(count)
    guard !overflow, end <= file.size else {
        throw site.error("external data range offset \(offset) + length \(count) is past the end of '\(location)' (\(file.size) bytes)")
    }
    guard count == expectedBytes else {
        throw site.error("external data in '\(location)' has \(count) bytes, expected \(expectedBytes)")
    }
    do {
        return try file.read(offset: offset, count: count, errorFile: site.context.file, describe: "external data file '\(location)'")
    } catch let e as ONNXError {
        throw site.error(e.message)
    }
}
