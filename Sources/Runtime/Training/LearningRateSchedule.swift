// LearningRateSchedule: constant, cosine and one-cycle learning rates per step, with linear warm-up.
import Foundation

/// The learning rate as a function of the optimizer step (0-based) out of `totalSteps`.
public enum LearningRateSchedule: Equatable, Sendable {
    /// `base` throughout, after warm-up.
    case constant(base: Float, warmupSteps: Int)
    /// Linear warm-up from 0 to `base` over `warmupSteps`, then a half cosine from `base` down to
    /// `minimum` at the last step (SGDR without restarts).
    case cosine(base: Float, minimum: Float, warmupSteps: Int)
    /// Smith's one-cycle: a cosine rise from max/`divFactor` to `max` over the first `warmupFraction`
    /// of the steps, then a cosine fall to max/(divFactor·finalDivFactor) (PyTorch's OneCycleLR).
    case oneCycle(max: Float, warmupFraction: Float, divFactor: Float, finalDivFactor: Float)

    /// The learning rate at `step` of `totalSteps`.
    public func rate(step: Int, totalSteps: Int) -> Float {
        let total = max(1, totalSteps)
        switch self {
        case .constant(let base, let warmup):
            if step < warmup { return base * Float(step + 1) / Float(warmup) }
            return base
        case .cosine(let base, let minimum, let warmup):
            if step < warmup { return base * Float(step + 1) / Float(warmup) }
            let span = max(1, total - warmup - 1)
            let t = min(1, Double(step - warmup) / Double(span))
            return minimum + (base - minimum) * Float(0.5 * (1 + cos(Double.pi * t)))
        case .oneCycle(let maxRate, let fraction, let div, let finalDiv):
            let initial = maxRate / div, final = initial / finalDiv
            let rise = max(1, Int((Float(total) * fraction).rounded()) - 1)
            if step <= rise {
                return Self.cosineBetween(initial, maxRate, Double(step) / Double(rise))
            }
            let fall = max(1, total - 1 - rise)
            return Self.cosineBetween(maxRate, final, min(1, Double(step - rise) / Double(fall)))
        }
    }

    /// Cosine interpolation from `a` (t = 0) to `b` (t = 1).
    static func cosineBetween(_ a: Float, _ b: Float, _ t: Double) -> Float {
        b + (a - b) * Float(0.5 * (1 + cos(Double.pi * t)))
    }
}
