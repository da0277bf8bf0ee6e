// FileIO: reads whole files and byte ranges with POSIX calls, reporting failures as ONNXError.
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The text of the current errno, e.g. "No such file or directory".
func errnoText(_ code: Int32 = errno) -> String {
    String(cString: strerror(code))
}

/// An open, read-only file descriptor that closes itself.
final class ReadOnlyFile {
    let fd: Int32
    /// The size at open time.
    let size: Int

    /// Opens `path`; `describe` labels the file in errors (e.g. "external data file 'w.bin'").
    init(path: String, errorFile: String, describe: String) throws {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            let code = errno
            if code == ENOENT {
                throw ONNXError(file: errorFile, "\(describe) not found")
            }
            throw ONNXError(file: errorFile, "cannot open \(describe): \(errnoText(code))")
        }
        var st = stat()
        guard fstat(fd, &st) == 0 else {
            let code = errno
            close(fd)
            throw ONNXError(file: errorFile, "cannot stat \(describe): \(errnoText(code))")
        }
        guard (st.st_mode & S_IFMT) == S_IFREG else {
            close(fd)
            throw ONNXError(file: errorFile, "\(describe) is not a regular file")
        }
        self.fd = fd
        self.size = Int(st.st_size)
    }

    deinit { close(fd) }

    /// Reads exactly `count` bytes at `offset` (the caller has checked the range), in one buffer.
    func read(offset: Int, count: Int, errorFile: String, describe: String) throws -> [UInt8] {
        var failure: Int32 = 0
        var short = false
        let bytes = [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            var done = 0
            while done < count {
                let n = pread(fd, buffer.baseAddress! + done, count - done, off_t(offset + done))
                if n < 0 {
                    if errno == EINTR { continue }
                    failure = errno
                    break
                }
                if n == 0 { short = true; break }
                done += n
            }
            // Zero what was not read so the array is always fully initialized; we throw below.
            if done < count { (buffer.baseAddress! + done).initialize(repeating: 0, count: count - done) }
            initialized = count
        }
        if failure != 0 {
            throw ONNXError(file: errorFile, "cannot read \(describe): \(errnoText(failure))")
        }
        if short {
            throw ONNXError(file: errorFile, "\(describe) ended early (it changed while being read?)")
        }
        return bytes
    }
}

/// Reads a whole file into memory with one allocation of its size (no growing buffer).
func readWholeFile(_ path: String) throws -> [UInt8] {
    let file = try ReadOnlyFile(path: path, errorFile: path, describe: "file")
    guard file.size > 0 else { return [] }
    return try file.read(offset: 0, count: file.size, errorFile: path, describe: "file")
}

/// The directory part of a path ("." for a bare file name).
func directoryOf(_ path: String) -> String {
    guard let slash = path.lastIndex(of: "/") else { return "." }
    if slash == path.startIndex { return "/" }
    return String(path[path.startIndex..<slash])
}

/// realpath(3) as a Swift string; nil when the path does not resolve.
func resolvedPath(_ path: String) -> String? {
    guard let resolved = realpath(path, nil) else { return nil }
    defer { free(resolved) }
    return String(cString: resolved)
}
