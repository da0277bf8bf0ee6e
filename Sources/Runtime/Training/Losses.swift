// Losses: softmax cross-entropy with label smoothing, and KL distillation with a temperature.
import Foundation
import IR

/// A loss value with its gradient with respect to the logits.
public struct LossResult {
    /// The mean loss over the batch.
    public var loss: Float
    /// dLoss/dLogits, same shape as the logits.
    public var gradient: Tensor
}

/// Classification losses over logits of shape [N, C]. Both are means over the batch.
public enum Losses {
    /// Row-wise log-softmax in Double (stable: the row maximum is subtracted first).
    static func logSoftmax(_ logits: Tensor, temperature: Double = 1) -> [[Double]] {
        let n = logits.shape[0], c = logits.count / max(1, n)
        return (0..<n).map { i in
            let row = (0..<c).map { Double(logits.scalars[i * c + $0]) / temperature }
            let m = row.max() ?? 0
            let lse = m + log(row.reduce(0) { $0 + exp($1 - m) })
            return row.map { $0 - lse }
        }
    }

    /// Cross-entropy of softmax(logits) against labels smoothed by `smoothing` ε: the target puts
    /// 1 − ε on the label and ε/C on every class (PyTorch's `label_smoothing`).
    public static func softmaxCrossEntropy(logits: Tensor, labels: [Int], smoothing: Float = 0) throws -> LossResult {
        guard logits.shape.count == 2 else { throw RuntimeError("the loss needs logits of shape [N, classes], got \(logits.shape)") }
        let n = logits.shape[0], c = logits.shape[1]
        guard labels.count == n else { throw RuntimeError("\(labels.count) labels for a batch of \(n)") }
        if let bad = labels.first(where: { $0 < 0 || $0 >= c }) {
            throw RuntimeError("label \(bad) is out of range for a model with \(c) classes")
        }
        let logp = logSoftmax(logits)
        let eps = Double(smoothing)
        var loss = 0.0
        var grad = [Float](repeating: 0, count: n * c)
        for i in 0..<n {
            for j in 0..<c {
                let q = (j == labels[i] ? 1 - eps : 0) + eps / Double(c)
                loss -= q * logp[i][j]
                grad[i * c + j] = Float((exp(logp[i][j]) - q) / Double(n))
            }
        }
        return LossResult(loss: Float(loss / Double(max(1, n))), gradient: Tensor(shape: logits.shape, scalars: grad))
    }

    /// Knowledge distillation: T² · KL(softmax(teacher/T) ‖ softmax(student/T)), averaged over the
    /// batch (Hinton et al.; the T² keeps gradient sizes comparable across temperatures). The
    /// gradient is with respect to the student's logits only.
    public static func distillation(student: Tensor, teacher: Tensor, temperature: Float = 1) throws -> LossResult {
        guard student.shape == teacher.shape, student.shape.count == 2 else {
            throw RuntimeError("distillation needs student and teacher logits of one shape [N, classes], got \(student.shape) and \(teacher.shape)")
        }
        let n = student.shape[0], c = student.shape[1], t = Double(temperature)
        let ls = logSoftmax(student, temperature: t), lt = logSoftmax(teacher, temperature: t)
        var loss = 0.0
        var grad = [Float](repeating: 0, count: n * c)
        for i in 0..<n {
            for j in 0..<c {
                let pt = exp(lt[i][j])
                loss += pt * (lt[i][j] - ls[i][j])
                grad[i * c + j] = Float(t * (exp(ls[i][j]) - pt) / Double(n))
            }
        }
        return LossResult(loss: Float(t * t * loss / Double(max(1, n))), gradient: Tensor(shape: student.shape, scalars: grad))
    }

    /// The number of rows whose arg-max is the label.
    public static func correctCount(logits: Tensor, labels: [Int]) -> Int {
        let n = logits.shape[0], c = logits.count / max(1, n)
        var correct = 0
        for i in 0..<n {
            var best = 0
            for j in 1..<max(1, c) where logits.scalars[i * c + j] > logits.scalars[i * c + best] { best = j }
            if best == labels[i] { correct += 1 }
        }
        return correct
    }
}
