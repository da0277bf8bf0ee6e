// SupernetConfiguration: one partition a supernet can run (boundaries per class, reuse flags), as JSON.
import Foundation
import IR

/// A configuration of a supernet: the boundaries b₁…b_S of every channel class and the reuse
/// flag of every weighted layer. Its JSON form is the one `split-stages{config=FILE}` reads:
/// `{"stages": S, "boundaries": {"class": [b1, …, bS]}, "reuse": {"layer": false}}`.
public struct SupernetConfiguration: Codable, Hashable, Sendable {
    public var stages: Int
    /// Boundaries by class name; a class left out keeps the supernet's.
    public var boundaries: [String: [Int]]
    /// Reuse flags by layer name; a layer left out keeps the supernet's.
    public var reuse: [String: Bool]

    public init(stages: Int, boundaries: [String: [Int]], reuse: [String: Bool] = [:]) {
        self.stages = stages
        self.boundaries = boundaries
        self.reuse = reuse
    }

    /// The configuration a staged graph is split at (every class's boundaries, the layers whose
    /// reuse is off).
    public init(of info: StageInfo) {
        stages = info.stageCount
        boundaries = Dictionary(uniqueKeysWithValues: info.classes.map { ($0.name, $0.boundaries) })
        reuse = Dictionary(uniqueKeysWithValues: info.reuseOff.map { ($0, false) })
    }

    /// Canonical JSON (sorted keys), as written to configuration files and checkpoints.
    public func jsonData() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        return try encoder.encode(self)
    }

    /// Reads a configuration file, naming the file in errors.
    public static func load(_ path: String) throws -> SupernetConfiguration {
        guard let data = FileManager.default.contents(atPath: path) else { throw RuntimeError.file(path, "cannot be read") }
        do {
            let c = try JSONDecoder().decode(Partial.self, from: data)
            return SupernetConfiguration(stages: c.stages ?? 0, boundaries: c.boundaries ?? [:], reuse: c.reuse ?? [:])
        } catch let error as DecodingError {
            throw RuntimeError.file(path, "is not a configuration ({\"stages\", \"boundaries\", \"reuse\"}): \(error)")
        }
    }

    /// Writes the configuration as JSON, through a temporary file and a rename.
    public func save(to path: String) throws {
        try writeFileBytes(Array(try jsonData()), to: path)
    }

    /// The file form, where every key is optional (stages 0: take the supernet's).
    private struct Partial: Decodable {
        var stages: Int?
        var boundaries: [String: [Int]]?
        var reuse: [String: Bool]?
    }
}

