// SupernetLosses: the loss of one configuration over its exits (labels, or distillation targets).
import Foundation
import IR

/// What a configuration of a sandwich step learns from.
public enum SupernetTarget {
    /// Label-smoothed cross-entropy at every exit (the largest configuration).
    case labels
    /// Cross-entropy at the last exit; earlier exits distilled from `teacher` (detached), or, when
    /// nil, from this very forward pass's last exit, detached (in-place distillation as BigNAS and
    /// the PyTorch peer do it: the teacher sees the same batch statistics as its students).
    case labelsAtLastExit(teacher: Tensor?)
    /// Every exit distilled from `teacher` logits (detached).
    case distill(teacher: Tensor)
}

/// How the sandwich rule's sampled and smallest configurations get their targets.
public enum DistillationMode: String, Sendable, CaseIterable {
    /// The largest configuration's last exit of this step, detached (BigNAS / US-Nets).
    case inplace
    /// DS-Net's in-place ensemble bootstrapping: an exponential moving average of the supernet's
    /// weights gives the targets; the smallest configuration learns from the ensemble (mean of the
    /// probabilities) of the EMA's largest and sampled configurations.
    case ieb
}

enum SupernetLosses {
    /// The sum over exits of each exit's loss, and the gradient for each exit value. A sum, as
    /// multi-exit training does (SDN, MSDNet; the PyTorch peer of issue 15): each exit learns at the
    /// full learning rate. (A mean would divide every exit's step by S: on the default model, 4
    /// epochs on 2000 images left exit 2 at 0.60 where the sum reaches the peer's figures.)
    static func exitLosses(_ exits: [Tensor], labels: [Int], target: SupernetTarget, smoothing: Float,
                           temperature: Float) throws -> (loss: Float, gradients: [Tensor]) {
        var total: Float = 0
        var gradients: [Tensor] = []
        for (i, logits) in exits.enumerated() {
            let last = i == exits.count - 1
            let r: LossResult
            switch target {
            case .labels: r = try Losses.softmaxCrossEntropy(logits: logits, labels: labels, smoothing: smoothing)
            case .labelsAtLastExit(let teacher):
                r = last ? try Losses.softmaxCrossEntropy(logits: logits, labels: labels, smoothing: smoothing)
                         : try Losses.distillation(student: logits, teacher: teacher ?? exits[exits.count - 1], temperature: temperature)
            case .distill(let teacher): r = try Losses.distillation(student: logits, teacher: teacher, temperature: temperature)
            }
            total += r.loss
            gradients.append(r.gradient)
        }
        return (total, gradients)
    }

    /// Logits whose softmax is the mean of the members' softmaxes (log of the mean probability),
    /// the ensemble target of IEB.
    static func ensemble(_ members: [Tensor]) -> Tensor {
        guard let first = members.first else { return Tensor(shape: [0], scalars: []) }
        let n = first.shape[0], c = first.count / max(1, n)
        var p = [Double](repeating: 0, count: first.count)
        for m in members {
            let lp = Losses.logSoftmax(m)
            for i in 0..<n { for j in 0..<c { p[i * c + j] += exp(lp[i][j]) / Double(members.count) } }
        }
        return Tensor(shape: first.shape, scalars: p.map { Float(log(max($0, 1e-30))) })
    }
}
