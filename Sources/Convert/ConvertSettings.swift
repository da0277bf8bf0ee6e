// ConvertSettings: every option of `s2dc convert`, their defaults and checks, as stored in OUT/convert.json.
import Foundation
import Runtime

/// The code `convert` writes into OUT/code/: C (model.c + model.h), Swift (model.swift) or the
/// dynamic ONNX (model.onnx, an If chain that exits early under onnxruntime). The evaluate phase
/// times the emitted C whatever the target (for swift and onnx, the same model's C in latency/).
public enum ConvertTarget: String, Codable, Sendable, CaseIterable {
    case c, swift, onnx
}

/// Every option of a convert run. Stored as OUT/convert.json; `--resume` refuses a folder whose
/// run had other settings (a resumed run must end as the uninterrupted one would).
public struct ConvertSettings: Codable, Equatable, Sendable {
    /// The trained static classifier (.onnx).
    public var model: String
    /// The dataset (`fashion-mnist`, `mnist`, an IDX folder or an .npz; see `Dataset.load`).
    public var data: String
    /// Mean MAC budget as a fraction of the static model's, in (0, 1].
    public var budget: Double
    /// Stages (and exits) S ≥ 2.
    public var stages = 3
    /// Supernet training epochs.
    public var epochs = 1
    /// The search strategy, in the pipeline syntax (`SearchStrategyRegistry`).
    public var strategy = "evolution{population=8}"
    /// Distinct configurations the search evaluates.
    public var evaluations = 48
    public var target = ConvertTarget.c
    /// Epochs of fine-tuning of the chosen configuration alone (0: none).
    public var finetuneEpochs = 2
    /// Seed of every random choice (splits, shuffles, sampling, the search).
    public var seed: UInt64 = 0
    /// Training images used (nil: all but the validation split).
    public var trainImages: Int?
    /// Training images held out (seeded) as the validation split the search scores on.
    public var validationSize = 5000
    /// Test images evaluated for the report (nil: the whole test split).
    public var testImages: Int?
    /// Training images each candidate's BatchNorm statistics are recalibrated on.
    public var calibrationImages = 2000
    public var batchSize = 64
    /// Peak learning rate of supernet training, fine-tuning and the pruning baseline.
    public var learningRate: Float = 0.02
    /// K: sampled configurations per supernet step besides the largest and the smallest.
    public var samples = 1
    /// The supernet's sampler (`SamplerRegistry`).
    public var sampler = "uniform"
    /// `flops-bins` bins per class (the candidate boundaries).
    public var bins = 8
    /// Permute every channel class by decreasing filter importance before the split
    /// (`sort-channels`), so that the early stages hold the strongest filters.
    public var sortChannels = true
    /// Measure the baselines (uniform partition, width slimming, filter pruning).
    public var baselines = true
    /// Compile the emitted C and time it (needs a C compiler; else the latency is reported as not measured).
    public var latency = true
    /// Per-channel normalization of the images (as `s2dc train --mean/--std`).
    public var mean: [Float] = [0]
    public var std: [Float] = [1]
    /// Threads OpenBLAS may use.
    public var threads = 2

    public init(model: String, data: String, budget: Double) {
        self.model = model
        self.data = data
        self.budget = budget
    }

    /// Throws naming the first option out of range.
    public func validate() throws {
        guard budget > 0, budget <= 1, budget.isFinite else {
            throw ConvertError("--budget must be in (0, 1] (a fraction of the static model's MACs), got \(budget)")
        }
        guard stages >= 2 else { throw ConvertError("--stages must be at least 2, got \(stages)") }
        guard epochs >= 1 else { throw ConvertError("--epochs must be at least 1, got \(epochs)") }
        guard finetuneEpochs >= 0 else { throw ConvertError("--finetune-epochs must not be negative, got \(finetuneEpochs)") }
        guard evaluations >= 1 else { throw ConvertError("--evaluations must be at least 1, got \(evaluations)") }
        guard validationSize >= 1 else { throw ConvertError("--validation-size must be at least 1, got \(validationSize)") }
        if let n = trainImages, n < 1 { throw ConvertError("--train-images must be at least 1, got \(n)") }
        if let n = testImages, n < 1 { throw ConvertError("--test-images must be at least 1, got \(n)") }
        guard calibrationImages >= 0 else { throw ConvertError("--calibration-images must not be negative") }
        guard batchSize >= 1 else { throw ConvertError("--batch-size must be at least 1, got \(batchSize)") }
        guard learningRate > 0, learningRate.isFinite else { throw ConvertError("--lr must be positive, got \(learningRate)") }
        guard samples >= 0 else { throw ConvertError("--samples must not be negative, got \(samples)") }
        guard bins >= stages else { throw ConvertError("--bins must be at least --stages (\(stages)), got \(bins)") }
        guard threads >= 1 else { throw ConvertError("--threads must be at least 1, got \(threads)") }
        guard !std.isEmpty, std.allSatisfy({ $0 > 0 }), !mean.isEmpty else { throw ConvertError("--mean/--std: give numbers, --std positive") }
    }

    /// The uniform partition the model is split with (and the no-search baseline): halving
    /// fractions f_s = 2^(s−S), i.e. 0.25, 0.5 for three stages.
    public var fractions: [Double] { (1..<stages).map { pow(2, Double($0 - stages)) } }

    /// The static-to-supernet pipeline (phase `stage`) is `batchNormPipeline`, then `splitPipeline`.
    /// This first part gives the static network with a BatchNormalization after every convolution,
    /// whose statistics the inserted ones start from.
    /// With `sortChannels`, `sort-channels` runs first, so that the inserted statistics and the
    /// split see the same channel order.
    public var batchNormPipeline: String {
        sortChannels ? "canonicalize,strip-softmax,sort-channels,insert-batchnorm" : BatchNormInsertion.staticPipeline
    }

    /// The rest of the staging pipeline: stages, exits, slicing and bins.
    public var splitPipeline: String {
        "split-stages{fractions=[\(fractions.map { "\($0)" }.joined(separator: ","))]},insert-exits,make-sliceable,flops-bins{bins=\(bins)}"
    }

    /// Every option by name, for the report.
    public var jsonObject: [String: Any] {
        (try? JSONSerialization.jsonObject(with: JSONEncoder().encode(self))) as? [String: Any] ?? [:]
    }
}

/// An error of the convert driver: bad input or options, named in the message.
public struct ConvertError: Error, Equatable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
