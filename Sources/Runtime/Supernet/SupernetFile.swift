// SupernetFile: a trained supernet on disk: textual IR with every constant in full (what search and emit read).
import Foundation
import IR

public enum SupernetFile {
    /// Writes `supernet` as textual IR with full constant data (floats read back bit for bit),
    /// through a temporary file and a rename.
    public static func save(_ supernet: Graph, to path: String) throws {
        try writeFileBytes(Array(TextPrinter.print(supernet, elideConstantsAbove: nil).utf8), to: path)
    }

    /// Reads a supernet (any staged textual IR), naming the file in errors.
    public static func load(_ path: String) throws -> Graph {
        guard let data = FileManager.default.contents(atPath: path) else { throw RuntimeError.file(path, "cannot be read") }
        let graph: Graph
        do { graph = try TextParser.parse(String(decoding: data, as: UTF8.self)) } catch {
            throw RuntimeError.file(path, "\(error)")
        }
        guard graph.stageInfo != nil else { throw RuntimeError.file(path, "is not a staged graph (run split-stages and insert-exits)") }
        return graph
    }
}
