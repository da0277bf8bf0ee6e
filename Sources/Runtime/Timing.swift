// Timing: the latency of graph execution alone, for `s2dc run --timing` and the benchmark.
import Foundation
import IR

extension Interpreter {
    /// Runs the graph `repeats` times after one warm-up run and returns each run's wall time in
    /// seconds (input checks and kernels; no file reading, no printing).
    public func measure(_ inputs: [String: Tensor], repeats: Int) throws -> [Double] {
        _ = try run(inputs)
        var times: [Double] = []
        times.reserveCapacity(repeats)
        for _ in 0..<max(1, repeats) {
            let start = DispatchTime.now().uptimeNanoseconds
            _ = try run(inputs)
            times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        }
        return times
    }
}

/// The time one compiled step (a node, or nodes fused into one kernel) took.
public struct StepTiming: Sendable {
    /// The node name(s), joined with "+" when fused.
    public var name: String
    /// The op of the step's kernel.
    public var op: String
    /// The median over the profiled runs, in seconds.
    public var seconds: Double
}

extension Interpreter {
    /// The op's name, convolutions by kind, "+add" for a folded residual Add and "+act" for a
    /// fused activation.
    static func label(_ step: Step) -> String {
        if let add = step.residualAdd { return kindLabel(step.op) + "+add" + (add.activation == nil ? "" : "+act") }
        return kindLabel(step.op) + (step.op.activation == nil ? "" : "+act")
    }

    /// The op's name, convolutions by kind (shared with the training profile).
    static func kindLabel(_ op: Op) -> String {
        guard case .conv(let a) = op else { return op.name }
        return a.group > 1 ? "conv grouped" : a.kernel.allSatisfy({ $0 == 1 }) ? "conv 1x1" : "conv"
    }

    /// The median time of every step over `repeats` runs after a warm-up, in graph order.
    public func profile(_ inputs: [String: Tensor], repeats: Int) throws -> [StepTiming] {
        _ = try run(inputs)
        var samples = [[Double]](repeating: [], count: plan.steps.count)
        for _ in 0..<max(1, repeats) {
            _ = try run(inputs) { index, seconds in samples[index].append(seconds) }
        }
        return plan.steps.enumerated().map { i, step in
            StepTiming(name: step.name, op: Self.label(step), seconds: samples[i].median)
        }
    }
}

extension Array where Element == Double {
    /// The median (the mean of the middle two for an even count); 0 when empty.
    public var median: Double {
        guard !isEmpty else { return 0 }
        let s = sorted()
        return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
    }
}

/// A printable profile: the slowest steps, then the time per op, with shares of the total.
public struct ProfileReport: Sendable {
    public var steps: [StepTiming]

    public init(_ steps: [StepTiming]) { self.steps = steps }

    public var text: String {
        let total = steps.reduce(0) { $0 + $1.seconds }
        func line(_ label: String, _ seconds: Double) -> String {
            let share = total > 0 ? 100 * seconds / total : 0
            return String(format: "  %9.3f ms %5.1f%%  ", seconds * 1000, share) + label
        }
        var out = [String(format: "profile: %.3f ms in %d kernels (medians)", total * 1000, steps.count), "by op:"]
        let byOp = Dictionary(grouping: steps, by: \.op).mapValues { $0.reduce(0) { $0 + $1.seconds } }
        out += byOp.sorted { $0.value > $1.value }.map { line($0.key, $0.value) }
        out.append("slowest kernels:")
        out += steps.sorted { $0.seconds > $1.seconds }.prefix(12).map { line("\($0.name) (\($0.op))", $0.seconds) }
        return out.joined(separator: "\n")
    }
}
