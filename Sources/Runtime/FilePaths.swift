// FilePaths: checks that input files can be read and output paths written, before any long work.
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Checks on the paths a command reads and writes, so that a command fails at once with the
/// reason (not after an epoch of training, and not with a Foundation error dump) and leaves
/// nothing behind. Commands that write (train, emit, run, and later search and convert) check
/// every output path before their first step.
public enum FilePaths {
    /// Throws unless `path` names an existing regular file (not a folder, not a device).
    public static func requireRegularFile(_ path: String) throws {
        var st = stat()
        guard stat(path, &st) == 0 else {
            let code = errno
            throw RuntimeError.file(path, code == ENOENT ? "no such file" : "cannot be read: \(errorText(code))")
        }
        guard kind(st) == S_IFREG else {
            throw RuntimeError.file(path, "not a regular file (it is \(describe(st)))")
        }
    }

    /// Throws unless a file can be written at `path` the way s2dc writes files (a temporary file
    /// beside it, renamed over it): `path` is not a folder and its folder exists and accepts new
    /// files. `what` names the file in the message ("the trained model"). Leaves nothing behind.
    public static func requireWritableFile(_ path: String, what: String) throws {
        func fail(_ reason: String) -> RuntimeError { RuntimeError("cannot write \(what) to '\(path)': \(reason)") }
        guard !path.isEmpty, !path.hasSuffix("/") else { throw fail("the path names a folder; give a file name") }
        var st = stat()
        if stat(path, &st) == 0, kind(st) != S_IFREG {
            throw fail("it is \(describe(st)); give a file name")
        }
        let folder = parent(of: path)
        guard stat(folder, &st) == 0 else { throw fail("the folder '\(folder)' does not exist") }
        guard kind(st) == S_IFDIR else { throw fail("'\(folder)' is not a folder") }
        if let reason = probeCreate(in: folder) { throw fail("the folder '\(folder)' does not accept new files (\(reason))") }
    }

    /// Throws unless `path` is a folder that accepts new files, or does not exist and can be
    /// created (its nearest existing ancestor is a folder that accepts new files). `what` names
    /// the folder in the message ("the output folder"). Creates nothing.
    public static func requireWritableFolder(_ path: String, what: String) throws {
        func fail(_ reason: String) -> RuntimeError { RuntimeError("cannot use '\(path)' as \(what): \(reason)") }
        var existing = path.isEmpty ? "." : path
        var st = stat()
        // Walk up to the first path that exists: that is where the first folder will be made.
        while stat(existing, &st) != 0 {
            let code = errno
            // ENOTDIR: a file stands where a folder of the path should be; found one step up.
            guard code == ENOENT || code == ENOTDIR else { throw fail("cannot look at '\(existing)': \(errorText(code))") }
            existing = parent(of: existing)
        }
        guard kind(st) == S_IFDIR else {
            throw fail(existing == path ? "it is \(describe(st)), not a folder" : "'\(existing)' is not a folder")
        }
        if let reason = probeCreate(in: existing) {
            throw fail("the folder '\(existing)' does not accept new files (\(reason))")
        }
    }

    // MARK: Helpers

    /// The folder part of a path: "." for a bare name, "/" at the root.
    static func parent(of path: String) -> String {
        var p = Substring(path)
        while p.count > 1, p.hasSuffix("/") { p = p.dropLast() }
        guard let slash = p.lastIndex(of: "/") else { return "." }
        return slash == p.startIndex ? "/" : String(p[..<slash])
    }

    /// Creates and removes a uniquely named empty file in `folder`; nil when that worked, else
    /// the reason. Permission bits alone do not tell (root ignores them, /proc refuses anyway).
    static func probeCreate(in folder: String) -> String? {
        let probe = folder + "/.s2dc-write-check-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let fd = open(probe, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { return errorText(errno) }
        close(fd)
        unlink(probe)
        return nil
    }

    static func kind(_ st: stat) -> mode_t { st.st_mode & S_IFMT }

    static func describe(_ st: stat) -> String {
        switch kind(st) {
        case S_IFDIR: return "a folder"
        case S_IFREG: return "a file"
        case S_IFCHR, S_IFBLK: return "a device"
        case S_IFIFO: return "a pipe"
        case S_IFSOCK: return "a socket"
        default: return "not a regular file"
        }
    }

    static func errorText(_ code: Int32) -> String { String(cString: strerror(code)) }
}
