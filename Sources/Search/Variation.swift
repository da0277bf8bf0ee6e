// Variation: mutation and crossover of legal configurations (evolution, and the surrogate's proposals).
import Runtime

extension SearchSpace {
    /// `parent` with each decision re-drawn with probability `probability` among the choices
    /// that keep the configuration legal; at least one decision changes when any can.
    public func mutate(_ parent: [Int], probability: Double, _ rng: inout TrainingRNG) -> [Int] {
        var child = parent
        var changed = false
        for d in 0..<count where rng.nextUnitDouble() < probability {
            let options = legalChoices(of: d, in: child).filter { $0 != child[d] }
            guard !options.isEmpty else { continue }
            child[d] = options[rng.nextInt(below: options.count)]
            changed = true
        }
        if !changed {
            let movable = (0..<count).filter { d in legalChoices(of: d, in: child).count > 1 }
            if !movable.isEmpty {
                let d = movable[rng.nextInt(below: movable.count)]
                let options = legalChoices(of: d, in: child).filter { $0 != child[d] }
                child[d] = options[rng.nextInt(below: options.count)]
            }
        }
        return child
    }

    /// A child taking each free decision, and each class's whole chain of boundaries, from either
    /// parent with equal probability (so the child is legal when the parents are).
    public func crossover(_ a: [Int], _ b: [Int], _ rng: inout TrainingRNG) -> [Int] {
        var child = a
        let position = chainPosition
        for d in 0..<count where position[d] == nil && rng.nextUnitDouble() < 0.5 { child[d] = b[d] }
        for chain in chains where rng.nextUnitDouble() < 0.5 {
            for d in chain { child[d] = b[d] }
        }
        return child
    }
}
