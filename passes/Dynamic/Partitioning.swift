// Partitioning: class boundaries from fractions or a configuration file, with the exact rules.

import IR

/// A partition of a graph's channel classes into S stages, and the layers whose reuse is off.
public struct PartitionChoice: Equatable, Sendable {
    public var stageCount: Int
    /// Boundaries b₁…b_S per class (by class index).
    public var boundaries: [[Int]]
    /// Static node names of the weighted layers whose reuse flag is off.
    public var reuseOff: Set<String>

    /// The partition given by pass options and an optional configuration file:
    /// - `fractions` f₁…f_{S−1} (each in (0, 1), strictly increasing) give every class
    ///   bₛ = ⌊fₛ·C + 0.5⌋, forced strictly increasing with at least one channel per group;
    /// - `stages` alone means evenly spaced fractions s/S;
    /// - `config` (JSON `{"stages": S, "boundaries": {"class": [b₁, …, b_S]}, "reuse": {"layer": false}}`)
    ///   overrides the boundaries of the classes it names and the reuse flag of the layers it names.
    /// A class with fewer than S channels is an error naming it.
    public init(classes: [ChannelClass], layers: Set<String>, stages: Int, fractions: [Double], reuse: Bool,
                config: String) throws {
        var config = config.isEmpty ? ConfigurationFile() : try ConfigurationFile.read(config)
        var count = stages
        if !fractions.isEmpty {
            if count != 0 && count != fractions.count + 1 {
                throw PassError("stages=\(count) disagrees with \(fractions.count) fractions (which give \(fractions.count + 1) stages)")
            }
            count = fractions.count + 1
        }
        if count == 0, let s = config.stages { count = s }
        guard count >= 1 else { throw PassError("give stages=S (S >= 1), fractions=[f1,...], or a config file with \"stages\"") }
        if let s = config.stages, s != count { throw PassError("the config file has \(s) stages but the options give \(count)") }
        if let t = config.thresholds, t.count != count - 1 {
            throw PassError("config: \(t.count) thresholds for the \(count - 1) early exits of \(count) stages")
        }
        for (i, f) in fractions.enumerated() {
            guard f > 0, f < 1 else { throw PassError("fraction \(f) (number \(i + 1)) is outside (0, 1)") }
            if i > 0, f <= fractions[i - 1] { throw PassError("fractions must be strictly increasing: \(fractions)") }
        }
        let f = fractions.isEmpty ? (1..<max(count, 1)).map { Double($0) / Double(count) } : fractions
        stageCount = count
        boundaries = []
        for k in classes {
            if let given = config.boundaries.removeValue(forKey: k.name) {
                guard given.count == count, given.last == k.channels, given[0] >= 1,
                      zip(given, given.dropFirst()).allSatisfy({ $0 < $1 }) else {
                    throw PassError("config: class '\(k.name)' (\(k.channels) channels) needs \(count) strictly increasing boundaries from >= 1 ending at \(k.channels), got \(given)")
                }
                boundaries.append(given)
                continue
            }
            guard k.channels >= count else {
                throw PassError("class '\(k.name)' has \(k.channels) channels, fewer than the \(count) stages (every group needs a channel)")
            }
            boundaries.append(Self.boundaries(channels: k.channels, fractions: f))
        }
        if let unknown = config.boundaries.keys.sorted().first {
            throw PassError("config: unknown class '\(unknown)'; classes: " + classes.map(\.name).joined(separator: ", "))
        }
        reuseOff = reuse ? [] : layers
        for (layer, on) in config.reuse {
            guard layers.contains(layer) else {
                throw PassError("config: '\(layer)' is not a split weighted layer; layers: " + layers.sorted().joined(separator: ", "))
            }
            if on { reuseOff.remove(layer) } else { reuseOff.insert(layer) }
        }
    }

    /// bₛ = ⌊fₛ·C + 0.5⌋, then bₛ ≥ bₛ₋₁+1 and bₛ ≤ C−(S−s); b_S = C.
    public static func boundaries(channels c: Int, fractions: [Double]) -> [Int] {
        let s = fractions.count + 1
        var out: [Int] = []
        var previous = 0
        for (i, f) in fractions.enumerated() {
            var b = Int((f * Double(c) + 0.5).rounded(.down))
            b = max(b, previous + 1)
            b = min(b, c - (s - (i + 1)))
            out.append(b)
            previous = b
        }
        out.append(c)
        return out
    }
}
