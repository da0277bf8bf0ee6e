// SearchStrategy: the protocol every search strategy conforms to, and the registry of strategies by name.
import Foundation
import Passes
import Runtime

/// A search strategy: proposes configurations of a space and learns from their scores.
///
/// The driver calls `propose()` and `observe(_:score:)` strictly alternately (every proposal is
/// observed before the next is asked for; a configuration seen before is observed again with its
/// earlier score, without re-evaluating it). A strategy draws randomness only from the generator
/// it was built with, so it is a deterministic function of its seed and the scores it observed:
/// that is how the driver resumes, by replaying the finished evaluations into a fresh strategy.
///
/// ```swift
/// struct MyStrategy: SearchStrategy {
///     static let name = "mine"
///     static let summary = "..."
///     static let options: [PassOptionSpec] = [.int("k", default: 4, help: "...")]
///     init(space: SearchSpace, options: PassOptions, rng: TrainingRNG) throws { ... }
///     mutating func propose() -> [Int]? { ... }
///     mutating func observe(_ configuration: [Int], score: Double) { ... }
/// }
/// try SearchStrategyRegistry.shared.register(MyStrategy.self)
/// ```
public protocol SearchStrategy {
    /// The name `--strategy` takes (kebab-case).
    static var name: String { get }
    /// One line saying what the strategy does.
    static var summary: String { get }
    /// The typed options, with defaults and help.
    static var options: [PassOptionSpec] { get }
    /// A strategy over `space`, with every declared option present, drawing from `rng`.
    init(space: SearchSpace, options: PassOptions, rng: TrainingRNG) throws
    /// The next legal configuration to evaluate, or nil when the strategy has nothing left to
    /// propose (it converged).
    mutating func propose() -> [Int]?
    /// The score of the configuration proposed last (higher is better).
    mutating func observe(_ configuration: [Int], score: Double)
}

/// A strategy chosen by name and built with options.
public struct ConfiguredStrategy {
    public let name: String
    public let options: PassOptions
    let make: (SearchSpace, TrainingRNG) throws -> any SearchStrategy

    /// A fresh instance over `space`, seeded with `seed`.
    public func instantiate(space: SearchSpace, seed: UInt64) throws -> any SearchStrategy {
        try make(space, TrainingRNG(seed: seed))
    }

    /// `name{a=1 b=2}`: the text that selects this strategy with these options.
    public var text: String { options.specs.isEmpty ? name : "\(name){\(options)}" }
}

/// The strategies `--strategy` can name: the built-in five plus any registered by code.
public final class SearchStrategyRegistry: @unchecked Sendable {
    public static let shared = SearchStrategyRegistry()

    public struct Entry {
        public let name: String
        public let summary: String
        public let options: [PassOptionSpec]
        let make: (SearchSpace, PassOptions, TrainingRNG) throws -> any SearchStrategy
    }

    private var entries: [Entry] = []
    private let lock = NSLock()

    public init(builtins: Bool = true) {
        if builtins {
            for type in builtinStrategies {
                // The built-in list has distinct kebab-case names (a test checks it).
                entries.append(Self.entry(type))
            }
        }
    }

    static func entry<S: SearchStrategy>(_ type: S.Type) -> Entry {
        Entry(name: S.name, summary: S.summary, options: S.options) { space, options, rng in
            try S(space: space, options: options, rng: rng)
        }
    }

    /// Registers a strategy type; throws when the name is taken or not kebab-case.
    public func register<S: SearchStrategy>(_ type: S.Type) throws {
        guard PassRegistry.isValidName(S.name) else {
            throw SearchError("invalid strategy name '\(S.name)': use lower-case words joined by '-'")
        }
        for spec in S.options where !PassRegistry.isValidName(spec.name) {
            throw SearchError("strategy '\(S.name)': invalid option name '\(spec.name)'")
        }
        lock.lock()
        defer { lock.unlock() }
        guard !entries.contains(where: { $0.name == S.name }) else {
            throw SearchError("a strategy named '\(S.name)' is already registered")
        }
        entries.append(Self.entry(type))
    }

    /// Every registered strategy, built-ins first.
    public var all: [Entry] {
        lock.lock()
        defer { lock.unlock() }
        return entries
    }

    /// Reads `name{key=value …}` (the pipeline syntax of passes) and checks it against the
    /// registry: errors name the column and list the valid strategies or options.
    public func parse(_ text: String) throws -> ConfiguredStrategy {
        let invocation = try PipelineParser.parseSingleInvocation(text, noun: "strategy")
        guard let entry = all.first(where: { $0.name == invocation.name }) else {
            throw SearchError("unknown strategy '\(invocation.name)' at column \(invocation.column); valid strategies: "
                              + all.map(\.name).sorted().joined(separator: ", "))
        }
        let owner = "strategy '\(entry.name)'"
        let given = try PipelineParser.checkedOptions(invocation, specs: entry.options, owner: owner)
        let options = try PassOptions(specs: entry.options, given: given, owner: owner)
        return ConfiguredStrategy(name: entry.name, options: options) { space, rng in
            try entry.make(space, options, rng)
        }
    }

    /// Each strategy, its summary and options (for help texts).
    public func listing() -> String {
        all.map { e in
            ([e.name + "\n    " + e.summary] + e.options.map { "    \($0.name)=<\($0.kind.rawValue)>  (default \($0.defaultValue))  \($0.help)" })
                .joined(separator: "\n")
        }.joined(separator: "\n") + "\n"
    }
}

/// The built-in strategies, in listing order.
let builtinStrategies: [any SearchStrategy.Type] = [
    RandomStrategy.self, EvolutionStrategy.self, ReinforceStrategy.self, SurrogateStrategy.self, PruneStrategy.self,
]
