// Replay: runs fuzz inputs from files through a target, for the executables built without libFuzzer.

import Foundation

/// Replays saved inputs (crash files, a corpus) through a target without libFuzzer, so that a
/// crash reproduces in an ordinary build with an ordinary backtrace: `fuzz-onnx crash-123`.
public enum Replay {
    /// The bytes libFuzzer hands an entry point (it may pass a null pointer for an empty input).
    public static func bytes(_ data: UnsafePointer<UInt8>?, _ size: Int) -> [UInt8] {
        guard let data, size > 0 else { return [] }
        return Array(UnsafeBufferPointer(start: data, count: size))
    }

    /// Every file named in `paths`, with folders expanded to the files in them (sorted).
    public static func files(_ paths: [String]) -> [String] {
        var files: [String] = []
        for path in paths {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { continue }
            if isDirectory.boolValue {
                let names = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
                files += names.sorted().map { path + "/" + $0 }.filter { !$0.hasSuffix("/.gitkeep") }
            } else {
                files.append(path)
            }
        }
        return files
    }

    /// Runs `target` on every file of `paths` and returns the exit status: 0, or 1 with a message
    /// when no path names a readable file. A bug traps inside `target`, naming the file first.
    public static func main(_ paths: [String], _ target: ([UInt8]) -> Bool) -> Int32 {
        let all = files(paths)
        guard !all.isEmpty else {
            FileHandle.standardError.write(Data("usage: \(CommandLine.arguments[0]) FILE_OR_DIR...: no input files found\n".utf8))
            return 1
        }
        var accepted = 0
        for file in all {
            guard let data = FileManager.default.contents(atPath: file) else {
                FileHandle.standardError.write(Data("\(file): cannot be read\n".utf8))
                return 1
            }
            FileHandle.standardError.write(Data("running \(file)\n".utf8))
            if target([UInt8](data)) { accepted += 1 }
        }
        print("\(all.count) inputs ran, \(accepted) reached the graph stage, no crash")
        return 0
    }
}
