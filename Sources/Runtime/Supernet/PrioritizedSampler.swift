// PrioritizedSampler: PSS-Net: per-MAC-bucket pools of good configurations, EMA loss scores, softmax priority growing over training.
import Foundation
import Passes

/// PSS-Net's prioritized subnet sampling (Li et al.): one pool per MAC bucket holds the best
/// configurations seen there, each scored by an exponential moving average of its training loss.
/// Each of the K configurations picks a bucket uniformly; with probability `p·progress` (growing
/// over training from 0 to `p`) it takes a pool member drawn with softmax priority
/// exp(−score/temperature), otherwise a fresh configuration in that bucket (exploration). After
/// the step the trained configuration's score is updated (or it enters its pool, evicting the
/// worst when the pool is full and it is better). At the end the best member of every pool is kept.
public final class PrioritizedSampler: ConfigurationSampler {
    public static let name = "prioritized"
    public static let summary = "PSS-Net: per-MAC-bucket pools scored by EMA loss, softmax priority growing over training"
    public static let options: [PassOptionSpec] = [
        .int("buckets", default: 4, help: "MAC buckets (one pool each) between the smallest and the largest configuration"),
        .int("pool-size", default: 8, help: "configurations kept per pool"),
        .double("p", default: 0.8, help: "probability of sampling from a pool at the end of training (0 at the start)"),
        .double("temperature", default: 0.1, help: "softmax temperature over pool scores (loss units)"),
        .double("decay", default: 0.9, help: "EMA decay of a member's loss score"),
    ]

    struct Member: Codable, Equatable {
        var config: SupernetConfiguration
        var score: Float
    }

    let buckets: Int, poolSize: Int, p: Double, temperature: Double, decay: Float
    var pools: [[Member]]

    public init(options: PassOptions) throws {
        buckets = try options.int("buckets")
        poolSize = try options.int("pool-size")
        p = try options.double("p")
        temperature = try options.double("temperature")
        decay = Float(try options.double("decay"))
        guard buckets >= 1, poolSize >= 1 else { throw PassError("buckets and pool-size must be at least 1") }
        guard (0...1).contains(p), temperature > 0, (0..<1).contains(Double(decay)) else {
            throw PassError("p must be in [0, 1], temperature > 0, decay in [0, 1)")
        }
        pools = Array(repeating: [], count: buckets)
    }

    public func sample(_ k: Int, context: SamplerContext, rng: inout TrainingRNG) throws -> [SupernetConfiguration] {
        let b = try MACBuckets(context, count: buckets)
        return try (0..<k).map { _ in
            let bucket = rng.nextInt(below: b.count)
            let pool = pools[bucket]
            if !pool.isEmpty, Double(rng.nextUnitFloat()) < p * context.progress {
                let best = pool.map(\.score).min() ?? 0
                let weights = pool.map { exp(-Double($0.score - best) / temperature) }
                var u = Double(rng.nextUnitFloat()) * weights.reduce(0, +)
                for (i, w) in weights.enumerated() {
                    u -= w
                    if u <= 0 { return pool[i].config }
                }
                return pool[pool.count - 1].config
            }
            return try b.draw(1, in: bucket, context: context, rng: &rng).first ?? context.space.random(&rng)
        }
    }

    public func observe(_ config: SupernetConfiguration, loss: Float, context: SamplerContext) throws {
        guard loss.isFinite else { return }
        let bucket = try MACBuckets(context, count: buckets).bucket(try context.macs(config))
        if let i = pools[bucket].firstIndex(where: { $0.config == config }) {
            pools[bucket][i].score = decay * pools[bucket][i].score + (1 - decay) * loss
        } else if pools[bucket].count < poolSize {
            pools[bucket].append(Member(config: config, score: loss))
        } else if let worst = pools[bucket].indices.max(by: { pools[bucket][$0].score < pools[bucket][$1].score }),
                  pools[bucket][worst].score > loss {
            pools[bucket][worst] = Member(config: config, score: loss)
        }
    }

    public func state() throws -> Data { try JSONEncoder().encode(pools) }

    public func restore(_ state: Data) throws {
        guard !state.isEmpty else { return }
        let p = try JSONDecoder().decode([[Member]].self, from: state)
        guard p.count == buckets else { throw RuntimeError("the checkpoint's prioritized sampler has \(p.count) pools, not \(buckets)") }
        pools = p
    }

    /// The best-scored configuration of every non-empty pool, from the cheapest bucket up.
    public func kept(context: SamplerContext) throws -> [SupernetConfiguration] {
        pools.compactMap { $0.min { $0.score < $1.score }?.config }
    }
}
