// ChosenConfiguration: the configuration file `s2dc search` writes (boundaries in channels, reuse, thresholds, scores).
import Foundation
import IR
import Runtime

/// The file `s2dc search -o config.json` writes and `materialize{config=FILE}` reads. Its
/// `stages`, `boundaries` (channel counts b₁…b_S per class) and `reuse` keys are a
/// `SupernetConfiguration` (so `s2dc eval --configuration` reads it too); the rest says how it was chosen: exit thresholds τ₁…τ_{S−1}, validation accuracy (or
/// agreement, unlabeled) and expected MACs at those thresholds, and the search's bin indices.
public struct ChosenConfiguration: Codable, Equatable, Sendable {
    public var stages: Int
    public var boundaries: [String: [Int]]
    public var reuse: [String: Bool]
    public var thresholds: [Double]
    public var accuracy: Double
    public var expectedMACs: Double
    /// `expectedMACs` over the static model's MACs.
    public var fractionOfStatic: Double
    public var feasible: Bool
    /// The search's record of it (bin indices by class, encoding).
    public var bins: [String: [Int]]
    public var encoding: [Int]

    public init(_ record: ConfigurationRecord, configuration: SupernetConfiguration, staticMACs: Double) {
        stages = configuration.stages
        boundaries = configuration.boundaries
        reuse = configuration.reuse
        thresholds = record.thresholds
        accuracy = record.accuracy
        expectedMACs = record.expectedMACs
        fractionOfStatic = staticMACs > 0 ? record.expectedMACs / staticMACs : 0
        feasible = record.feasible
        bins = record.boundaries
        encoding = record.encoding
    }

    /// Writes pretty, key-sorted JSON through a temporary file and a rename.
    public func write(to path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try writeAtomically(try encoder.encode(self), to: path)
    }
}
