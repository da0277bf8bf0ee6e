// AtomicFile: whole-file writes through a temporary file beside the target, so no reader (and no run killed mid-write) sees half a file.
import Foundation

/// Why a whole-file write failed; its description names the file.
public struct AtomicWriteError: Error, CustomStringConvertible {
    /// The file that was to be written.
    public let path: String
    /// What went wrong, e.g. "cannot create …: No such file or directory".
    public let reason: String
    public var description: String { "\(path): \(reason)" }
}

/// Writes `bytes` to a temporary file beside `path` (`path.tmp-PID`), flushes it to disk, and
/// renames it over `path`. On any failure the temporary file is removed and `path` keeps what it
/// held before. The one implementation every file writer of the toolchain uses (models, textual
/// IR, checkpoints, search and convert artifacts, emitted code).
public func writeAtomically(_ bytes: UnsafeRawBufferPointer, to path: String) throws {
    let temp = path + ".tmp-\(getpid())"
    let fd = open(temp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
    guard fd >= 0 else { throw AtomicWriteError(path: path, reason: "cannot create \(temp): \(String(cString: strerror(errno)))") }
    var written = 0, failure: Int32 = 0
    while written < bytes.count, let base = bytes.baseAddress {
        let n = write(fd, base + written, bytes.count - written)
        if n < 0 {
            if errno == EINTR { continue }
            failure = errno
            break
        }
        written += n
    }
    if failure == 0 && fsync(fd) != 0 { failure = errno }
    if close(fd) != 0 && failure == 0 { failure = errno }
    if failure == 0 && rename(temp, path) != 0 { failure = errno }
    if failure != 0 {
        unlink(temp)
        throw AtomicWriteError(path: path, reason: "cannot be written: \(String(cString: strerror(failure)))")
    }
}

/// `writeAtomically(_:to:)` for a byte array.
public func writeAtomically(_ bytes: [UInt8], to path: String) throws {
    try bytes.withUnsafeBytes { try writeAtomically($0, to: path) }
}

/// `writeAtomically(_:to:)` for `Data`.
public func writeAtomically(_ data: Data, to path: String) throws {
    try data.withUnsafeBytes { try writeAtomically($0, to: path) }
}
