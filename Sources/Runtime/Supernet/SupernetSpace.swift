// SupernetSpace: which boundaries each class may take, the largest/smallest configuration, legality, MACs.
import IR

/// The configurations a supernet trains: for every *variable* class, S − 1 strictly increasing
/// boundaries drawn from its candidates (its `flops-bins` bins when it has them, else every
/// channel count 1…C−1, or with `uniformBins` n the n − 1 values round(C·i/n); in both cases only
/// those at or above `minimumWidth`·C), the last boundary always C. Other classes
/// and the reuse flags stay as the supernet was split (changing reuse changes which blocks exist,
/// which needs `split-stages` from the static graph, not a re-resolution).
public struct SupernetSpace: Sendable {
    /// One class that configurations vary.
    public struct Choice: Hashable, Sendable {
        public var name: String
        public var channels: Int
        /// Candidate values of b₁…b_{S−1}, increasing, each < channels.
        public var candidates: [Int]
    }

    public let info: StageInfo
    public let choices: [Choice]

    /// The space of a staged graph. A class varies when `make-sliceable` marked it sliceable or
    /// `flops-bins` gave it bins, or for every class when `allClasses` is set.
    public init(_ info: StageInfo, allClasses: Bool = false, minimumWidth: Double = 0, uniformBins: Int = 0) throws {
        guard info.axis == .width else {
            throw RuntimeError(info.axis == .depth
                ? "a supernet needs width stages (split-stages); this graph has depth exits (insert-exits{at=blocks}) and no channel classes"
                : "a supernet needs width stages alone (split-stages); this graph's width stages are cut at depth exits (insert-exits{at=blocks})")
        }
        self.info = info
        let s = info.stageCount
        var choices: [Choice] = []
        for k in info.classes where allClasses || k.sliceable || !k.bins.isEmpty {
            var candidates = k.bins.filter { $0 < k.channels }
            if k.bins.isEmpty {
                candidates = uniformBins > 1
                    ? Array(Set((1..<uniformBins).map { Int((Double(k.channels * $0) / Double(uniformBins)).rounded()) })).sorted()
                        .filter { $0 >= 1 && $0 < k.channels }
                    : Array(1..<max(1, k.channels))
            }
            let floor = Int((minimumWidth * Double(k.channels)).rounded(.up))
            candidates = candidates.filter { $0 >= floor }
            guard candidates.count >= s - 1 else {
                if !allClasses || !k.bins.isEmpty {
                    throw RuntimeError("class '\(k.name)': \(candidates.count) candidate boundaries below \(k.channels) for \(s) stages")
                }
                continue  // too narrow to vary under allClasses: keep its boundaries
            }
            if s == 1 { continue }
            choices.append(Choice(name: k.name, channels: k.channels, candidates: candidates))
        }
        self.choices = choices
    }

    /// The space of one configuration: the staged graph's own partition, no class varied (what
    /// fine-tuning a chosen configuration alone, or evaluating a fixed partition, runs on).
    public init(fixed info: StageInfo) {
        self.info = info
        choices = []
    }

    /// The configuration a command line names: `largest`, `smallest`, or a configuration JSON file.
    public func configuration(named name: String) throws -> SupernetConfiguration {
        switch name {
        case "largest": return largest
        case "smallest": return smallest
        default: return try SupernetConfiguration.load(name)
        }
    }

    /// The supernet's own reuse flags (every configuration has them).
    var reuse: [String: Bool] { Dictionary(uniqueKeysWithValues: info.reuseOff.map { ($0, false) }) }

    /// The configuration whose variable classes take `pick(choice)` as b₁…b_{S−1} (called in
    /// `choices` order; the last boundary is appended), every other class and reuse flag the supernet's.
    public func configuration(_ pick: (Choice) -> [Int]) -> SupernetConfiguration {
        var b: [String: [Int]] = [:]
        for k in info.classes { b[k.name] = k.boundaries }
        for c in choices { b[c.name] = pick(c) + [c.channels] }
        return SupernetConfiguration(stages: info.stageCount, boundaries: b, reuse: reuse)
    }

    /// Every variable class at its widest: the S − 1 largest candidates.
    public var largest: SupernetConfiguration {
        configuration { Array($0.candidates.suffix(info.stageCount - 1)) }
    }

    /// Every variable class at its narrowest: the S − 1 smallest candidates.
    public var smallest: SupernetConfiguration {
        configuration { Array($0.candidates.prefix(info.stageCount - 1)) }
    }

    /// A configuration drawn uniformly: per variable class, S − 1 distinct candidates (each
    /// subset equally likely), sorted.
    public func random(_ rng: inout TrainingRNG) -> SupernetConfiguration {
        configuration { c in
            var pool = c.candidates
            for i in 0..<(info.stageCount - 1) { pool.swapAt(i, i + rng.nextInt(below: pool.count - i)) }
            return pool.prefix(info.stageCount - 1).sorted()
        }
    }

    /// The configuration `base` with `name`'s boundaries replaced (for mutations by samplers).
    func with(_ base: SupernetConfiguration, _ name: String, _ values: [Int]) -> SupernetConfiguration {
        var c = base
        c.boundaries[name] = values
        return c
    }

    /// Throws unless `config` is one of this space's configurations, saying what is wrong.
    /// Classes it does not name take the supernet's boundaries.
    public func check(_ config: SupernetConfiguration) throws {
        let s = info.stageCount
        if config.stages != 0 && config.stages != s {
            throw RuntimeError("the configuration has \(config.stages) stages; the supernet has \(s)")
        }
        for (name, b) in config.boundaries.sorted(by: { $0.key < $1.key }) {
            guard let k = info.classIndex(named: name).map({ info.classes[$0] }) else {
                throw RuntimeError("the configuration names class '\(name)', which the supernet does not have; classes: "
                                   + info.classes.map(\.name).joined(separator: ", "))
            }
            guard let choice = choices.first(where: { $0.name == name }) else {
                guard b == k.boundaries else {
                    throw RuntimeError("class '\(name)' is not sliceable: its boundaries must stay \(k.boundaries), got \(b)")
                }
                continue
            }
            guard b.count == s, b.last == k.channels, zip(b, b.dropFirst()).allSatisfy({ $0 < $1 }),
                  b.dropLast().allSatisfy(choice.candidates.contains) else {
                throw RuntimeError("class '\(name)': boundaries \(b) are not \(s) increasing values from \(choice.candidates) ending at \(k.channels)")
            }
        }
        for (layer, on) in config.reuse.sorted(by: { $0.key < $1.key }) where on == info.reuseOff.contains(layer) {
            throw RuntimeError("layer '\(layer)': the configuration sets reuse \(on), the supernet was split with \(!on); "
                               + "changing reuse flags needs split-stages from the static graph")
        }
    }

    /// The staged graph of `config`: the supernet's nodes with every partition slice re-resolved
    /// (shared constants, prefix slices).
    public func graph(_ supernet: Graph, _ config: SupernetConfiguration) throws -> Graph {
        try check(config)
        do { return try supernet.repartitioned(boundaries: config.boundaries) } catch let e as IRError {
            throw RuntimeError("configuration: \(e.description)")
        }
    }

    /// The cumulative MACs of every exit of `config` (per sample).
    public func exitMACs(_ supernet: Graph, _ config: SupernetConfiguration) throws -> [Int] {
        try CostModel.stageReport(try graph(supernet, config)).cumulativeMACs
    }
}
