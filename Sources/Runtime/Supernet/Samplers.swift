// Samplers: how a supernet step picks its K sampled configurations; registered by name with typed options.
import Foundation
import Passes

/// What a sampler may consult when it draws: the space, each configuration's MACs, and (for
/// samplers that rank candidates) the loss of a configuration on the current minibatch.
public struct SamplerContext {
    public var space: SupernetSpace
    /// The last exit's cumulative MACs of a configuration (cached by the trainer).
    public var macs: (SupernetConfiguration) throws -> Int
    /// The loss of a configuration on the step's minibatch, forward only (no gradient, no update).
    public var minibatchLoss: (SupernetConfiguration) throws -> Float
    /// Fraction of training done, in [0, 1] (for schedules that change over training).
    public var progress: Double
}

/// Draws the K configurations of each sandwich step besides the largest and the smallest.
public protocol ConfigurationSampler: AnyObject {
    /// The name `--sampler` takes.
    static var name: String { get }
    static var summary: String { get }
    static var options: [PassOptionSpec] { get }
    init(options: PassOptions) throws

    /// K configurations for one step, drawn from `rng`.
    func sample(_ k: Int, context: SamplerContext, rng: inout TrainingRNG) throws -> [SupernetConfiguration]
    /// Called after the step with the (training) loss each sampled configuration had.
    func observe(_ config: SupernetConfiguration, loss: Float, context: SamplerContext) throws
    /// The sampler's state, for checkpoints (empty when it has none).
    func state() throws -> Data
    func restore(_ state: Data) throws
    /// Configurations worth keeping at the end of training (PSS-Net's best per pool), if any.
    func kept(context: SamplerContext) throws -> [SupernetConfiguration]
}

extension ConfigurationSampler {
    public func observe(_ config: SupernetConfiguration, loss: Float, context: SamplerContext) throws {}
    public func state() throws -> Data { Data() }
    public func restore(_ state: Data) throws {}
    public func kept(context: SamplerContext) throws -> [SupernetConfiguration] { [] }
}

/// Every sampler by name; `parse` reads `name{key=value …}` with the passes' pipeline syntax.
public enum SamplerRegistry {
    public nonisolated(unsafe) static var samplers: [any ConfigurationSampler.Type] = [
        UniformSampler.self, AttentiveSampler.self, PrioritizedSampler.self,
    ]

    /// The sampler `text` names, with its options checked (unknown names and options, and values
    /// of the wrong kind, are errors listing what is valid).
    public static func parse(_ text: String) throws -> any ConfigurationSampler {
        let invocations = try PipelineParser.parseInvocations(text)
        guard invocations.count == 1, let inv = invocations.first else {
            throw RuntimeError("--sampler takes one sampler, e.g. 'attentive{candidates=4}'; got '\(text)'")
        }
        guard let type = samplers.first(where: { $0.name == inv.name }) else {
            throw RuntimeError("unknown sampler '\(inv.name)'; valid samplers: " + samplers.map { $0.name }.joined(separator: ", "))
        }
        var given: [String: PassOptionValue] = [:]
        for o in inv.options {
            guard let spec = type.options.first(where: { $0.name == o.name }) else {
                throw RuntimeError("unknown option '\(o.name)' of sampler '\(type.name)'; valid options: "
                                   + type.options.map { "\($0.name) (\($0.kind.rawValue), default \($0.defaultValue))" }.joined(separator: ", "))
            }
            guard let v = PassOptionValue.parse(o.text, as: spec.kind) else {
                throw RuntimeError("option '\(o.name)' of sampler '\(type.name)' takes \(spec.kind.rawValue), got '\(o.text)'")
            }
            given[o.name] = v
        }
        do {
            return try type.init(options: try PassOptions(specs: type.options, given: given, pass: type.name))
        } catch let e as PassError {
            throw RuntimeError("sampler '\(type.name)': \(e.description)")
        }
    }
}

/// Uniform over the space: each variable class's boundaries an equally likely subset of its
/// candidates (BigNAS / DS-Net's random sampling).
public final class UniformSampler: ConfigurationSampler {
    public static let name = "uniform"
    public static let summary = "every configuration of the space equally likely, per class"
    public static let options: [PassOptionSpec] = []
    public init(options: PassOptions) throws {}

    public func sample(_ k: Int, context: SamplerContext, rng: inout TrainingRNG) throws -> [SupernetConfiguration] {
        (0..<k).map { _ in context.space.random(&rng) }
    }
}

/// MAC buckets between the smallest and the largest configuration, for samplers that target a
/// cost (AttentiveNAS's FLOPs targets, PSS-Net's pools).
struct MACBuckets {
    let low: Int, high: Int, count: Int

    init(_ context: SamplerContext, count: Int) throws {
        low = try context.macs(context.space.smallest)
        high = try context.macs(context.space.largest)
        self.count = max(1, count)
    }

    /// The bucket of `macs`, 0..<count (equal widths over [low, high]).
    func bucket(_ macs: Int) -> Int {
        guard high > low else { return 0 }
        return min(count - 1, max(0, (macs - low) * count / (high - low + 1)))
    }

    /// Up to `n` random configurations in `bucket` (rejection from uniform draws, at most
    /// `tries`; when too few land there, the nearest ones fill up).
    func draw(_ n: Int, in bucket: Int, context: SamplerContext, rng: inout TrainingRNG, tries: Int = 64) throws -> [SupernetConfiguration] {
        var hits: [SupernetConfiguration] = [], misses: [(distance: Int, config: SupernetConfiguration)] = []
        for _ in 0..<tries where hits.count < n {
            let c = context.space.random(&rng)
            let b = self.bucket(try context.macs(c))
            if b == bucket { hits.append(c) } else { misses.append((abs(b - bucket), c)) }
        }
        if hits.count < n {
            hits += misses.enumerated().sorted { ($0.element.distance, $0.offset) < ($1.element.distance, $1.offset) }
                .prefix(n - hits.count).map(\.element.config)
        }
        return hits
    }
}
