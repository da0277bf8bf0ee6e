// AttentiveSampler: AttentiveNAS: several candidates at one MAC target, the best (or worst) by minibatch loss trained.
import Passes

/// AttentiveNAS (Wang et al. 2021): for each of the K configurations, draw a MAC target (a
/// bucket between the smallest and the largest configuration, uniformly), draw `candidates`
/// configurations at that target, and train the one with the lowest minibatch loss (`best-up`)
/// or the highest (`worst-up`), the loss being that of the candidate's last exit on the step's
/// batch against the labels, computed without gradients.
public final class AttentiveSampler: ConfigurationSampler {
    public static let name = "attentive"
    public static let summary = "AttentiveNAS: candidates at one MAC target, the best or worst by minibatch loss"
    public static let options: [PassOptionSpec] = [
        .int("candidates", default: 4, help: "configurations drawn at each MAC target"),
        .string("mode", default: "best-up", help: "best-up (lowest loss) or worst-up (highest loss)"),
        .int("buckets", default: 8, help: "MAC targets between the smallest and the largest configuration"),
    ]

    let candidates: Int, bestUp: Bool, buckets: Int

    public init(options: PassOptions) throws {
        candidates = try options.int("candidates")
        buckets = try options.int("buckets")
        let mode = try options.string("mode")
        guard mode == "best-up" || mode == "worst-up" else { throw PassError("mode must be best-up or worst-up, got '\(mode)'") }
        bestUp = mode == "best-up"
        guard candidates >= 1 else { throw PassError("candidates must be at least 1") }
        guard buckets >= 1 else { throw PassError("buckets must be at least 1") }
    }

    public func sample(_ k: Int, context: SamplerContext, rng: inout TrainingRNG) throws -> [SupernetConfiguration] {
        let b = try MACBuckets(context, count: buckets)
        return try (0..<k).map { _ in
            let pool = try b.draw(candidates, in: rng.nextInt(below: b.count), context: context, rng: &rng)
            let scored = try pool.map { (config: $0, loss: try context.minibatchLoss($0)) }
            let pick = bestUp ? scored.min { $0.loss < $1.loss } : scored.max { $0.loss < $1.loss }
            return pick?.config ?? context.space.random(&rng)
        }
    }
}
