// SupernetConfiguration: one partition a supernet can run (boundaries per class, reuse flags), as JSON.
import Foundation
import IR
import Passes

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

    /// Reads a configuration file through the one configuration reader (`ConfigurationFile`): the
    /// file `s2dc search` writes, or any subset of it; an unknown key is an error naming the file.
    /// Thresholds in the file are not part of a partition and are ignored here.
    public static func load(_ path: String) throws -> SupernetConfiguration {
        let file = try ConfigurationFile.read(path)
        return SupernetConfiguration(stages: file.stages ?? 0, boundaries: file.boundaries, reuse: file.reuse)
    }

    /// Writes the configuration as JSON, through a temporary file and a rename.
    public func save(to path: String) throws {
        try writeFileBytes(Array(try jsonData()), to: path)
    }
}

