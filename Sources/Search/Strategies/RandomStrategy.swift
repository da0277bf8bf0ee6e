// RandomStrategy: `random`, uniform legal configurations (the baseline every NAS paper compares against).
import Passes
import Runtime

/// Draws configurations uniformly from the legal ones, avoiding repeats while it can.
public struct RandomStrategy: SearchStrategy {
    public static let name = "random"
    public static let summary = "Uniformly random legal configurations, without repeats (the baseline)"
    public static let options: [PassOptionSpec] = []

    let space: SearchSpace
    var rng: TrainingRNG
    var seen = Set<[Int]>()

    public init(space: SearchSpace, options: PassOptions, rng: TrainingRNG) throws {
        self.space = space
        self.rng = rng
    }

    public mutating func propose() -> [Int]? {
        // Redraw a repeat a bounded number of times: in a nearly exhausted space a repeat is
        // returned (the driver answers it from its cache) rather than looping for ever.
        var c = space.randomConfiguration(&rng)
        for _ in 0..<64 where seen.contains(c) { c = space.randomConfiguration(&rng) }
        return c
    }

    public mutating func observe(_ configuration: [Int], score: Double) {
        seen.insert(configuration)
    }
}
