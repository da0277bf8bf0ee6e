// SearchSpace: the decisions a search chooses (boundary bins, reuse flags), legality and encodings.
import Runtime

/// What a decision chooses.
public enum DecisionKind: Codable, Hashable, Sendable {
    /// The bin index of boundary `stage` (1-based, 1...S-1) of channel class `classID`; the
    /// boundaries of one class must strictly increase with the stage.
    case boundary(classID: String, stage: Int)
    /// Whether weighted layer `layer` reads earlier groups (choice 1) or only its own (choice 0).
    case reuse(layer: String)
    /// Any other categorical choice (an adapter's own axis), with no constraint.
    case other
}

/// One categorical decision: a name (for messages and JSON), how many choices, and what it means.
public struct Decision: Codable, Hashable, Sendable {
    public var name: String
    public var choices: Int
    public var kind: DecisionKind

    public init(name: String, choices: Int, kind: DecisionKind = .other) {
        self.name = name
        self.choices = choices
        self.kind = kind
    }

    /// A boundary decision over `bins` candidate bins.
    public static func boundary(classID: String, stage: Int, bins: Int) -> Decision {
        Decision(name: "\(classID).b\(stage)", choices: bins, kind: .boundary(classID: classID, stage: stage))
    }

    /// A reuse flag (two choices: 0 = off, 1 = on).
    public static func reuse(layer: String) -> Decision {
        Decision(name: "\(layer).reuse", choices: 2, kind: .reuse(layer: layer))
    }
}

/// An error of the search library, saying what was wrong and where.
public struct SearchError: Error, Equatable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// An abstract search space: a list of categorical decisions with one kind of constraint, the
/// boundaries of each class strictly increasing with the stage. A configuration is encoded as one
/// choice index per decision, in order (`[Int]`); the supernet adapter maps decisions to bins and
/// layers.
public struct SearchSpace: Codable, Hashable, Sendable {
    public let decisions: [Decision]
    /// Decision indices whose choices must strictly increase, one chain per class (stage order).
    public let chains: [[Int]]

    /// A space over `decisions`. Throws on a decision with no choice, duplicate names, a class
    /// whose stages repeat, or a class with more boundaries than bins (no legal configuration).
    public init(decisions: [Decision]) throws {
        var names = Set<String>()
        var byClass: [String: [(stage: Int, index: Int)]] = [:]
        var classOrder: [String] = []
        for (i, d) in decisions.enumerated() {
            guard d.choices >= 1 else { throw SearchError("decision '\(d.name)' has no choice (\(d.choices))") }
            guard names.insert(d.name).inserted else { throw SearchError("decision '\(d.name)' appears twice") }
            if case .boundary(let c, let stage) = d.kind {
                if byClass[c] == nil { classOrder.append(c) }
                byClass[c, default: []].append((stage, i))
            }
        }
        var chains: [[Int]] = []
        for c in classOrder {
            let members = (byClass[c] ?? []).sorted { $0.stage < $1.stage }
            for k in 1..<max(1, members.count) where members[k].stage == members[k - 1].stage {
                throw SearchError("class '\(c)' has boundary \(members[k].stage) twice")
            }
            chains.append(members.map(\.index))
        }
        self.decisions = decisions
        self.chains = chains
        for chain in chains where (Self.completions(chain.map { decisions[$0].choices }).first?.reduce(0, +) ?? 1) == 0 {
            let c = chain.first.map { decisions[$0].name } ?? "?"
            throw SearchError("class of '\(c)': \(chain.count) strictly increasing boundaries do not fit in its bins")
        }
    }

    /// The number of decisions (the length of an encoding).
    public var count: Int { decisions.count }

    /// Why `encoding` is not a legal configuration, or nil when it is.
    public func illegality(_ encoding: [Int]) -> String? {
        guard encoding.count == decisions.count else {
            return "configuration has \(encoding.count) choices, the space has \(decisions.count) decisions"
        }
        for (i, v) in encoding.enumerated() where v < 0 || v >= decisions[i].choices {
            return "decision '\(decisions[i].name)' has choice \(v), valid 0..<\(decisions[i].choices)"
        }
        for chain in chains {
            for k in chain.indices.dropFirst() where encoding[chain[k]] <= encoding[chain[k - 1]] {
                return "boundaries must strictly increase: '\(decisions[chain[k - 1]].name)' = \(encoding[chain[k - 1]]), "
                    + "'\(decisions[chain[k]].name)' = \(encoding[chain[k]])"
            }
        }
        return nil
    }

    /// True when `encoding` is a legal configuration.
    public func isLegal(_ encoding: [Int]) -> Bool { illegality(encoding) == nil }

    /// Throws `SearchError` naming the problem when `encoding` is not legal.
    public func validate(_ encoding: [Int]) throws {
        if let why = illegality(encoding) { throw SearchError(why) }
    }

    /// The chain (index into `chains`) and position of each decision, or nil for free decisions.
    public var chainPosition: [(chain: Int, position: Int)?] {
        var out: [(chain: Int, position: Int)?] = Array(repeating: nil, count: decisions.count)
        for (c, chain) in chains.enumerated() {
            for (k, d) in chain.enumerated() { out[d] = (c, k) }
        }
        return out
    }

    /// For choice counts `sizes` of a chain, `result[k][v]` = the number of strictly increasing
    /// completions of positions k... when position k takes value v (0 where none). Counts
    /// saturate at `Double` precision, which only weights uniform sampling.
    static func completions(_ sizes: [Int], allowed: [[Bool]]? = nil) -> [[Double]] {
        var table = sizes.map { Array(repeating: 0.0, count: $0) }
        guard !sizes.isEmpty else { return [] }
        func ok(_ k: Int, _ v: Int) -> Bool { allowed?[k][v] ?? true }
        for k in stride(from: sizes.count - 1, through: 0, by: -1) {
            if k == sizes.count - 1 {
                for v in 0..<sizes[k] where ok(k, v) { table[k][v] = 1 }
                continue
            }
            // completions with value v here = those of the next position at any value above v
            let next = table[k + 1]
            var suffix = 0.0
            for v in stride(from: next.count - 1, through: 0, by: -1) {
                if v < sizes[k] && ok(k, v) { table[k][v] = suffix }
                suffix += next[v]
            }
            if next.count < sizes[k] { for v in next.count..<sizes[k] { table[k][v] = 0 } }
        }
        return table
    }

    /// The number of legal configurations (as a Double; may be huge).
    public var size: Double {
        var total = 1.0
        let position = chainPosition
        for (i, d) in decisions.enumerated() where position[i] == nil { total *= Double(d.choices) }
        for chain in chains {
            total *= Self.completions(chain.map { decisions[$0].choices }).first?.reduce(0, +) ?? 1
        }
        return total
    }

    /// A legal configuration drawn uniformly from all legal ones.
    public func randomConfiguration(_ rng: inout TrainingRNG) -> [Int] {
        sample(&rng) { _, _ in 1 }
    }

    /// A legal configuration drawn decision by decision: each free decision `d` from weights
    /// `weight(d, v)` over its choices, each chain position from those weights times the number of
    /// legal completions (so equal weights give the uniform distribution over legal
    /// configurations). Weights must be >= 0; a position whose legal weights are all 0 falls back
    /// to the legal choices' completion counts.
    public func sample(_ rng: inout TrainingRNG, weight: (Int, Int) -> Double) -> [Int] {
        sampleWithDistributions(&rng, weight: weight).encoding
    }

    /// `sample`, also returning the normalized distribution each decision was drawn from (what a
    /// policy gradient differentiates: the policy masked to legal choices and weighted by their
    /// completions).
    public func sampleWithDistributions(_ rng: inout TrainingRNG, weight: (Int, Int) -> Double)
        -> (encoding: [Int], distributions: [[Double]])
    {
        var out = Array(repeating: 0, count: decisions.count)
        var distributions = Array(repeating: [Double](), count: decisions.count)
        let position = chainPosition
        func pick(_ d: Int, _ w: [Double]) {
            let total = w.reduce(0, +)
            distributions[d] = w.map { $0 / total }
            out[d] = Self.draw(w, &rng)
        }
        for (i, d) in decisions.enumerated() where position[i] == nil {
            var w = (0..<d.choices).map { max(0, weight(i, $0)) }
            if !w.contains(where: { $0 > 0 }) { w = Array(repeating: 1, count: d.choices) }
            pick(i, w)
        }
        for chain in chains {
            // Completions are counted over the choices the weights allow, so a draw never leads
            // into a position with no allowed choice left (unless the weights allow no legal
            // configuration at all: then every legal choice is allowed).
            let sizes = chain.map { decisions[$0].choices }
            let weights = chain.map { d in (0..<decisions[d].choices).map { max(0, weight(d, $0)) } }
            var table = Self.completions(sizes, allowed: weights.map { $0.map { $0 > 0 } })
            var useWeights = true
            if (table.first?.reduce(0, +) ?? 0) == 0 {
                table = Self.completions(sizes)
                useWeights = false
            }
            var previous = -1
            for (k, d) in chain.enumerated() {
                let counts = table[k].enumerated().map { $0.offset > previous ? $0.element : 0 }
                pick(d, useWeights ? zip(counts, weights[k]).map { $0 * $1 } : counts)
                previous = out[d]
            }
        }
        return (out, distributions)
    }

    /// The legal choices of decision `d` when every other decision keeps its value in `encoding`.
    public func legalChoices(of d: Int, in encoding: [Int]) -> [Int] {
        var lower = 0
        var upper = decisions[d].choices - 1
        if let (c, k) = chainPosition[d] {
            let chain = chains[c]
            if k > 0 { lower = encoding[chain[k - 1]] + 1 }
            if k + 1 < chain.count { upper = min(upper, encoding[chain[k + 1]] - 1) }
        }
        return lower <= upper ? Array(lower...upper) : []
    }

    /// An index drawn with probability proportional to `weights` (all >= 0, some > 0).
    static func draw(_ weights: [Double], _ rng: inout TrainingRNG) -> Int {
        let total = weights.reduce(0, +)
        precondition(total > 0, "no positive weight to draw from")
        var u = rng.nextUnitDouble() * total
        for (i, w) in weights.enumerated() where w > 0 {
            if u < w { return i }
            u -= w
        }
        return weights.lastIndex(where: { $0 > 0 }) ?? 0
    }

    /// One-hot features of `encoding` (the surrogate's input): one block per decision.
    public func features(_ encoding: [Int]) -> [Double] {
        var out: [Double] = []
        out.reserveCapacity(decisions.reduce(0) { $0 + $1.choices })
        for (i, d) in decisions.enumerated() {
            for v in 0..<d.choices { out.append(encoding[i] == v ? 1 : 0) }
        }
        return out
    }

    /// Every legal configuration in lexicographic order, or nil when there are more than `limit`
    /// (tests and tiny spaces use it to know the optimum).
    public func allConfigurations(limit: Int = 1_000_000) -> [[Int]]? {
        guard size <= Double(limit) else { return nil }
        var result: [[Int]] = []
        var current = Array(repeating: 0, count: decisions.count)
        func visit(_ i: Int) {
            if i == decisions.count {
                if isLegal(current) { result.append(current) }
                return
            }
            for v in 0..<decisions[i].choices {
                current[i] = v
                visit(i + 1)
            }
        }
        visit(0)
        return result
    }
}

/// Uniform draws in [0, 1) as doubles, for the strategies.
extension TrainingRNG {
    /// A uniform double in [0, 1) from the top 53 bits.
    public mutating func nextUnitDouble() -> Double {
        Double(next() >> 11) * (1.0 / 9_007_199_254_740_992.0)
    }
}
