// Reward: the objective a search maximizes (hard MAC budget or soft acc·(MACs/target)^w), by name with options.
import Foundation
import Passes

/// What a configuration's calibrated thresholds maximize, and the score strategies observe.
///
/// - `hard` (default): the accuracy, subject to expected MACs ≤ `limit` (budget × static MACs).
/// - `soft{w=-0.07}`: acc · (expected MACs / target)^w, as S2DNAS and MnasNet reward (target =
///   budget × static MACs), with no constraint.
public enum Reward: Equatable, Sendable, CustomStringConvertible {
    case hard(limit: Double)
    case soft(target: Double, w: Double)

    /// The rewards `--reward` can name, with their options.
    public static let registry: [(name: String, summary: String, options: [PassOptionSpec])] = [
        ("hard", "Maximize accuracy subject to expected MACs <= budget x static MACs", []),
        ("soft", "Maximize acc * (expected MACs / target)^w, target = budget x static MACs",
         [.double("w", default: -0.07, help: "Exponent of the MAC ratio (negative rewards fewer MACs)")]),
    ]

    /// Reads `hard` or `soft{w=…}` (the pipeline syntax of passes) for MAC target `target`.
    public static func parse(_ text: String, target: Double) throws -> Reward {
        let invocation = try PipelineParser.parseSingleInvocation(text, noun: "reward")
        guard let entry = registry.first(where: { $0.name == invocation.name }) else {
            throw SearchError("unknown reward '\(invocation.name)'; valid rewards: "
                              + registry.map(\.name).joined(separator: ", "))
        }
        let owner = "reward '\(entry.name)'"
        let given = try PipelineParser.checkedOptions(invocation, specs: entry.options, owner: owner)
        let options = try PassOptions(specs: entry.options, given: given, owner: owner)
        guard target > 0, target.isFinite else { throw SearchError("MAC target must be positive, got \(target)") }
        switch entry.name {
        case "soft": return .soft(target: target, w: try options.double("w"))
        default: return .hard(limit: target)
        }
    }

    /// The value to maximize at accuracy `accuracy` and expected MACs `macs`, or nil when the
    /// constraint fails.
    public func value(accuracy: Double, macs: Double) -> Double? {
        switch self {
        case .hard(let limit): return macs <= limit ? accuracy : nil
        case .soft(let target, let w): return accuracy * pow(max(macs, 1e-300) / target, w)
        }
    }

    /// The score strategies observe: the value when feasible; below every feasible value
    /// otherwise (−expected MACs / limit, so that lighter infeasible candidates still rank higher).
    public func score(accuracy: Double, macs: Double) -> Double {
        if let v = value(accuracy: accuracy, macs: macs) { return v }
        if case .hard(let limit) = self { return -macs / limit }
        return -.infinity
    }

    /// The pipeline text (`hard`, `soft{w=-0.07}`).
    public var description: String {
        switch self {
        case .hard: return "hard"
        case .soft(_, let w): return "soft{w=\(w)}"
        }
    }
}
