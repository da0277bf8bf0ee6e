// EvolutionStrategy: `evolution{population mutation crossover parents}`, as OFA's evolution finder.
import Passes
import Runtime

/// Regularized-by-truncation evolution (OFA, ENAS4D): a population seeded with random legal
/// configurations; each generation keeps the best `parents` fraction and fills the population
/// with children, a `crossover` fraction of them by crossover of two random parents, the rest by
/// mutation of one (each decision re-drawn with probability `mutation`).
public struct EvolutionStrategy: SearchStrategy {
    public static let name = "evolution"
    public static let summary = "Evolution: truncation selection, mutation and crossover over the encoding"
    public static let options: [PassOptionSpec] = [
        .int("population", default: 32, help: "Configurations per generation"),
        .double("mutation", default: 0.2, help: "Probability that a mutation re-draws each decision"),
        .double("crossover", default: 0.5, help: "Fraction of children made by crossover (the rest by mutation)"),
        .double("parents", default: 0.25, help: "Fraction of the population kept as parents"),
    ]

    let space: SearchSpace
    var rng: TrainingRNG
    let population: Int
    let mutation: Double
    let crossoverFraction: Double
    let parentCount: Int
    /// Scored members of the current population.
    var members: [(configuration: [Int], score: Double)] = []
    /// Children of the generation being evaluated, not yet proposed.
    var pending: [[Int]] = []
    var known: [[Int]: Double] = [:]

    public init(space: SearchSpace, options: PassOptions, rng: TrainingRNG) throws {
        population = try options.int("population")
        mutation = try options.double("mutation")
        crossoverFraction = try options.double("crossover")
        let parents = try options.double("parents")
        guard population >= 2 else { throw SearchError("evolution: population must be at least 2, got \(population)") }
        guard (0...1).contains(mutation), (0...1).contains(crossoverFraction) else {
            throw SearchError("evolution: mutation and crossover must be in [0, 1]")
        }
        guard parents > 0, parents < 1 else { throw SearchError("evolution: parents must be in (0, 1), got \(parents)") }
        parentCount = max(1, min(population - 1, Int((Double(population) * parents).rounded())))
        self.space = space
        self.rng = rng
        for _ in 0..<population { pending.append(space.randomConfiguration(&self.rng)) }
    }

    public mutating func propose() -> [Int]? {
        if pending.isEmpty { breed() }
        return pending.removeFirst()
    }

    public mutating func observe(_ configuration: [Int], score: Double) {
        known[configuration] = score
        members.append((configuration, score))
    }

    /// Truncation selection, then the next generation's children.
    mutating func breed() {
        // Stable sort: equal scores keep their order, so the result does not depend on hashing.
        let ranked = members.enumerated().sorted {
            $0.element.score != $1.element.score ? $0.element.score > $1.element.score : $0.offset < $1.offset
        }.map(\.element)
        var parents: [(configuration: [Int], score: Double)] = []
        for m in ranked where !parents.contains(where: { $0.configuration == m.configuration }) {
            parents.append(m)
            if parents.count == parentCount { break }
        }
        members = parents
        let crossovers = Int((Double(population - parents.count) * crossoverFraction).rounded())
        var batch = Set<[Int]>()
        for k in 0..<(population - parents.count) {
            var child: [Int] = []
            // A few tries for a child not seen before (in a small space repeats are unavoidable).
            for _ in 0..<16 {
                if k < crossovers && parents.count >= 2 {
                    let a = parents[rng.nextInt(below: parents.count)].configuration
                    let b = parents[rng.nextInt(below: parents.count)].configuration
                    child = space.crossover(a, b, &rng)
                    if child == a || child == b { child = space.mutate(child, probability: mutation, &rng) }
                } else {
                    child = space.mutate(parents[rng.nextInt(below: parents.count)].configuration,
                                         probability: mutation, &rng)
                }
                if known[child] == nil && !batch.contains(child) { break }
            }
            batch.insert(child)
            pending.append(child)
        }
    }
}
