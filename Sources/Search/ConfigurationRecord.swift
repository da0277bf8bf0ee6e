// ConfigurationRecord: the JSON form of a chosen configuration (boundaries, reuse flags, thresholds, scores).
import Foundation

/// A configuration as `search` writes it and `materialize` will read it: the boundary bin
/// indices of each class (stage order), each layer's reuse flag, the other decisions' choices, the
/// exit thresholds τ₁…τ_{S−1}, and what it scored on the validation split.
public struct ConfigurationRecord: Codable, Equatable, Sendable {
    /// Bin index of each boundary b₁…b_{S−1}, by class.
    public var boundaries: [String: [Int]]
    /// Reuse flag by layer.
    public var reuse: [String: Bool]
    /// Choices of decisions of kind `.other`, by decision name (empty for the supernet's spaces).
    public var choices: [String: Int]
    /// The encoding (one choice per decision, in the space's order).
    public var encoding: [Int]
    /// τ₁…τ_{S−1}: a sample leaves at the first exit s whose max softmax ≥ τₛ.
    public var thresholds: [Double]
    /// Validation accuracy (or agreement with the reference model, in unlabeled mode).
    public var accuracy: Double
    /// Expected MACs per sample on the validation split at these thresholds.
    public var expectedMACs: Double
    /// Whether the thresholds meet the budget (a hard budget); always true for a soft reward.
    public var feasible: Bool

    public init(space: SearchSpace, encoding: [Int], thresholds: [Double], accuracy: Double,
                expectedMACs: Double, feasible: Bool) {
        var boundaries: [String: [Int]] = [:]
        var reuse: [String: Bool] = [:]
        var choices: [String: Int] = [:]
        for chain in space.chains {
            guard let first = chain.first, case .boundary(let c, _) = space.decisions[first].kind else { continue }
            boundaries[c] = chain.map { encoding[$0] }
        }
        for (i, d) in space.decisions.enumerated() {
            switch d.kind {
            case .boundary: break
            case .reuse(let layer): reuse[layer] = encoding[i] != 0
            case .other: choices[d.name] = encoding[i]
            }
        }
        self.boundaries = boundaries
        self.reuse = reuse
        self.choices = choices
        self.encoding = encoding
        self.thresholds = thresholds
        self.accuracy = accuracy
        self.expectedMACs = expectedMACs
        self.feasible = feasible
    }

    /// The encoding this record describes in `space`, rebuilt from its named fields (so a record
    /// edited by hand, or written for a space whose decision order changed, still reads). Throws
    /// naming a class, layer or decision the space lacks or the record misses, or an illegal result.
    public func encoding(in space: SearchSpace) throws -> [Int] {
        var out = Array(repeating: -1, count: space.count)
        for chain in space.chains {
            guard let first = chain.first, case .boundary(let c, _) = space.decisions[first].kind else { continue }
            guard let bins = boundaries[c] else { throw SearchError("configuration has no boundaries for class '\(c)'") }
            guard bins.count == chain.count else {
                throw SearchError("class '\(c)' has \(bins.count) boundaries in the configuration, \(chain.count) in the space")
            }
            for (k, d) in chain.enumerated() { out[d] = bins[k] }
        }
        for (i, d) in space.decisions.enumerated() {
            switch d.kind {
            case .boundary: break
            case .reuse(let layer):
                guard let flag = reuse[layer] else { throw SearchError("configuration has no reuse flag for layer '\(layer)'") }
                out[i] = flag ? 1 : 0
            case .other:
                guard let v = choices[d.name] else { throw SearchError("configuration has no choice for '\(d.name)'") }
                out[i] = v
            }
        }
        let spaceClasses = Set(space.chains.compactMap { chain -> String? in
            guard let first = chain.first, case .boundary(let c, _) = space.decisions[first].kind else { return nil }
            return c
        })
        if let extra = boundaries.keys.sorted().first(where: { !spaceClasses.contains($0) }) {
            throw SearchError("configuration names class '\(extra)', which the search space does not have")
        }
        try space.validate(out)
        return out
    }

    /// Pretty, key-sorted JSON.
    public func jsonData() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return try encoder.encode(self)
    }

    /// Reads a record from JSON, with an error naming `file` on malformed input.
    public static func read(_ data: Data, file: String) throws -> ConfigurationRecord {
        do {
            return try JSONDecoder().decode(ConfigurationRecord.self, from: data)
        } catch {
            throw SearchError("\(file): not a configuration: \(error)")
        }
    }
}
