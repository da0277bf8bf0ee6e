// SurrogateStrategy: `surrogate{initial pool batch model lambda hidden}`, PNAS-style SMBO with a learned accuracy predictor.
import Foundation
import Passes
import Runtime

/// Sequential model-based optimization as PNAS does it: after `initial` random evaluations, a
/// predictor of the score from the configuration's one-hot encoding (ridge regression, or a tiny
/// one-hidden-layer MLP) is refit on every evaluation so far; it ranks `pool` fresh candidates
/// (half random legal, half mutations of the best evaluated so far, PNAS's "expand the top K")
/// and only the `batch` with the best predictions are evaluated. Repeat.
public struct SurrogateStrategy: SearchStrategy {
    public static let name = "surrogate"
    public static let summary = "PNAS-style SMBO: a ridge or MLP predictor ranks many proposals, the best are evaluated"
    public static let options: [PassOptionSpec] = [
        .int("initial", default: 16, help: "Random evaluations before the first fit"),
        .int("pool", default: 256, help: "Candidates ranked by the predictor per round"),
        .int("batch", default: 4, help: "Top-ranked candidates evaluated per round"),
        .string("model", default: "ridge", help: "Predictor: ridge or mlp"),
        .double("lambda", default: 0.01, help: "Ridge (or MLP weight-decay) regularization"),
        .int("hidden", default: 16, help: "MLP hidden units"),
        .int("epochs", default: 200, help: "MLP full-batch training steps per refit"),
        .int("top", default: 8, help: "Best evaluated configurations whose mutations join the pool"),
    ]

    let space: SearchSpace
    var rng: TrainingRNG
    let initial, poolSize, batch, hidden, epochs, top: Int
    let useMLP: Bool
    let lambda: Double
    var history: [(configuration: [Int], score: Double)] = []
    var known: [[Int]: Double] = [:]
    var pending: [[Int]] = []

    public init(space: SearchSpace, options: PassOptions, rng: TrainingRNG) throws {
        initial = try options.int("initial")
        poolSize = try options.int("pool")
        batch = try options.int("batch")
        hidden = try options.int("hidden")
        epochs = try options.int("epochs")
        top = try options.int("top")
        lambda = try options.double("lambda")
        let model = try options.string("model")
        guard model == "ridge" || model == "mlp" else {
            throw SearchError("surrogate: model must be ridge or mlp, got '\(model)'")
        }
        useMLP = model == "mlp"
        guard initial >= 1, poolSize >= 1, batch >= 1, batch <= poolSize, hidden >= 1, epochs >= 1, top >= 1 else {
            throw SearchError("surrogate: initial, pool, batch, hidden, epochs and top must be positive, batch <= pool")
        }
        guard lambda >= 0 else { throw SearchError("surrogate: lambda must be >= 0, got \(lambda)") }
        self.space = space
        self.rng = rng
    }

    public mutating func propose() -> [Int]? {
        if pending.isEmpty {
            if history.count < initial {
                pending = [space.randomConfiguration(&rng)]
            } else {
                pending = rankedRound()
            }
        }
        return pending.removeFirst()
    }

    public mutating func observe(_ configuration: [Int], score: Double) {
        let s = score.isFinite ? score : -1
        if known[configuration] == nil { history.append((configuration, s)) }
        known[configuration] = s
    }

    /// Fits the predictor, ranks a fresh pool, returns the best `batch` unevaluated candidates.
    mutating func rankedRound() -> [[Int]] {
        let x = history.map { space.features($0.configuration) }
        let y = history.map(\.score)
        let predict: ([Double]) -> Double
        if useMLP {
            var net = TinyMLP(inputs: x[0].count, hidden: hidden, rng: &rng)
            net.fit(x, y, steps: epochs, decay: lambda)
            predict = { net.predict($0) }
        } else {
            let model = RidgeRegression(x, y, lambda: max(lambda, 1e-9))
            predict = { model.predict($0) }
        }
        let best = history.enumerated().sorted {
            $0.element.score != $1.element.score ? $0.element.score > $1.element.score : $0.offset < $1.offset
        }.prefix(top).map(\.element.configuration)
        var pool: [[Int]] = []
        var inPool = Set<[Int]>()
        for k in 0..<(poolSize * 4) where pool.count < poolSize {
            let c = k % 2 == 0 ? space.randomConfiguration(&rng)
                : space.mutate(best[rng.nextInt(below: best.count)], probability: 1.0 / Double(max(1, space.count)), &rng)
            if known[c] == nil && inPool.insert(c).inserted { pool.append(c) }
        }
        if pool.isEmpty { return [space.randomConfiguration(&rng)] }  // space exhausted: the driver stops
        let scored = pool.enumerated().map { (index: $0.offset, c: $0.element, p: predict(space.features($0.element))) }
        let ranked = scored.sorted { $0.p != $1.p ? $0.p > $1.p : $0.index < $1.index }
        return ranked.prefix(batch).map(\.c)
    }
}

/// Ridge regression on centred targets: w = (XᵀX + λI)⁻¹ Xᵀ(y − ȳ), solved by Cholesky.
struct RidgeRegression {
    var weights: [Double]
    var mean: Double

    init(_ x: [[Double]], _ y: [Double], lambda: Double) {
        let n = x.count, d = x.first?.count ?? 0
        mean = y.reduce(0, +) / Double(max(n, 1))
        var a = Array(repeating: 0.0, count: d * d)
        var b = Array(repeating: 0.0, count: d)
        for (row, target) in zip(x, y) {
            let t = target - mean
            for i in 0..<d where row[i] != 0 {
                b[i] += row[i] * t
                for j in 0..<d where row[j] != 0 { a[i * d + j] += row[i] * row[j] }
            }
        }
        for i in 0..<d { a[i * d + i] += lambda }
        weights = choleskySolve(a, b, d) ?? Array(repeating: 0, count: d)
    }

    func predict(_ x: [Double]) -> Double {
        mean + zip(weights, x).reduce(0) { $0 + $1.0 * $1.1 }
    }
}

/// Solves A x = b for symmetric positive definite A (row-major d×d), or nil when it is not.
func choleskySolve(_ a: [Double], _ b: [Double], _ d: Int) -> [Double]? {
    var l = Array(repeating: 0.0, count: d * d)
    for i in 0..<d {
        for j in 0...i {
            var sum = a[i * d + j]
            for k in 0..<j { sum -= l[i * d + k] * l[j * d + k] }
            if i == j {
                guard sum > 0 else { return nil }
                l[i * d + i] = sum.squareRoot()
            } else {
                l[i * d + j] = sum / l[j * d + j]
            }
        }
    }
    var z = b
    for i in 0..<d {
        for k in 0..<i { z[i] -= l[i * d + k] * z[k] }
        z[i] /= l[i * d + i]
    }
    for i in stride(from: d - 1, through: 0, by: -1) {
        for k in (i + 1)..<d { z[i] -= l[k * d + i] * z[k] }
        z[i] /= l[i * d + i]
    }
    return z
}

/// A one-hidden-layer tanh network on standardized targets, trained by full-batch Adam.
struct TinyMLP {
    var w1: [[Double]], b1: [Double], w2: [Double], b2: Double
    var mean = 0.0, std = 1.0

    init(inputs: Int, hidden: Int, rng: inout TrainingRNG) {
        let s1 = 1 / Double(inputs).squareRoot(), s2 = 1 / Double(hidden).squareRoot()
        w1 = (0..<hidden).map { _ in (0..<inputs).map { _ in Double(rng.nextNormal()) * s1 } }
        b1 = Array(repeating: 0, count: hidden)
        w2 = (0..<hidden).map { _ in Double(rng.nextNormal()) * s2 }
        b2 = 0
    }

    func hiddenLayer(_ x: [Double]) -> [Double] {
        w1.indices.map { h in tanh(b1[h] + zip(w1[h], x).reduce(0) { $0 + $1.0 * $1.1 }) }
    }

    func predict(_ x: [Double]) -> Double {
        let a = hiddenLayer(x)
        return mean + std * (b2 + zip(w2, a).reduce(0) { $0 + $1.0 * $1.1 })
    }

    mutating func fit(_ x: [[Double]], _ y: [Double], steps: Int, decay: Double) {
        let n = Double(y.count)
        mean = y.reduce(0, +) / n
        std = max((y.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / n).squareRoot(), 1e-9)
        let t = y.map { ($0 - mean) / std }
        let hidden = w2.count, inputs = w1.first?.count ?? 0
        // Adam moments, flattened: w1, b1, w2, b2.
        let count = hidden * inputs + hidden + hidden + 1
        var m = Array(repeating: 0.0, count: count), v = m
        let lr = 0.01, beta1 = 0.9, beta2 = 0.999
        for step in 1...steps {
            var g = Array(repeating: 0.0, count: count)
            for (row, target) in zip(x, t) {
                let a = hiddenLayer(row)
                let out = b2 + zip(w2, a).reduce(0) { $0 + $1.0 * $1.1 }
                let e = 2 * (out - target) / n
                for h in 0..<hidden {
                    g[hidden * inputs + hidden + h] += e * a[h]
                    let da = e * w2[h] * (1 - a[h] * a[h])
                    g[hidden * inputs + h] += da
                    for i in 0..<inputs where row[i] != 0 { g[h * inputs + i] += da * row[i] }
                }
                g[count - 1] += e
            }
            var k = 0
            func update(_ p: inout Double, _ weightDecay: Bool) {
                let grad = g[k] + (weightDecay ? decay * p : 0)
                m[k] = beta1 * m[k] + (1 - beta1) * grad
                v[k] = beta2 * v[k] + (1 - beta2) * grad * grad
                let mh = m[k] / (1 - pow(beta1, Double(step))), vh = v[k] / (1 - pow(beta2, Double(step)))
                p -= lr * mh / (vh.squareRoot() + 1e-8)
                k += 1
            }
            for h in 0..<hidden { for i in 0..<inputs { update(&w1[h][i], true) } }
            for h in 0..<hidden { update(&b1[h], false) }
            for h in 0..<hidden { update(&w2[h], true) }
            update(&b2, false)
        }
    }
}
