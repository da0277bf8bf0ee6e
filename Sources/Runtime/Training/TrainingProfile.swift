// TrainingProfile: where a training step's time goes, per op kind and direction.
import Dispatch
import IR

/// Accumulates the wall time of training steps by op kind ("conv", "conv 1x1", "conv grouped",
/// "+act" for a fused activation, as the interpreter's profile labels them), forward and backward
/// apart, plus the loss and the optimizer. Attach one to `TrainableGraph.profile` (and the trainer
/// fills in the rest) to see it; `nil` there costs nothing.
public final class TrainingProfile {
    /// Seconds per label, e.g. "backward conv", "forward BatchNormalization", "sgd".
    public private(set) var seconds: [String: Double] = [:]
    /// Optimizer steps measured.
    public internal(set) var steps = 0

    public init() {}

    /// The label of an op, as the interpreter's profile prints it.
    static func label(_ op: Op) -> String {
        guard case .conv(let a) = op, a.activation != nil else { return Interpreter.kindLabel(op) }
        return Interpreter.kindLabel(op) + "+act"
    }

    /// Runs `body`, adding its wall time to `label`.
    func time<T>(_ label: String, _ body: () throws -> T) rethrows -> T {
        let start = DispatchTime.now().uptimeNanoseconds
        defer { seconds[label, default: 0] += Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 }
        return try body()
    }

    /// Forgets everything measured so far (after a warm-up, say).
    public func reset() {
        seconds = [:]
        steps = 0
    }

    /// A table of milliseconds per optimizer step by label, largest first, with shares of the total.
    public var text: String {
        let total = seconds.values.reduce(0, +)
        let per = Double(max(1, steps))
        var lines = [String(format: "training profile: %.1f ms per step over %d steps", 1000 * total / per, steps)]
        for (label, s) in seconds.sorted(by: { $0.value > $1.value }) {
            lines.append(String(format: "  %9.2f ms %5.1f%%  %@", 1000 * s / per, total > 0 ? 100 * s / total : 0, label))
        }
        return lines.joined(separator: "\n")
    }
}
