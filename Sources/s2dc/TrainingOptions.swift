// TrainingOptions: the data and preprocessing options `s2dc train` and `s2dc eval` share.

import Foundation

import ArgumentParser
import Runtime

/// Where the data comes from and how images are normalized (train and eval must agree).
struct DataOptions: ParsableArguments {
    @Option(help: "Dataset: fashion-mnist, mnist, a directory of IDX files, or an .npz (x_train, y_train, x_test, y_test).")
    var data = "fashion-mnist"

    @OptionGroup var normalization: NormalizationOptions

    /// Threads OpenBLAS may use.
    var threads: Int { normalization.threads }

    func preprocessing() throws -> Preprocessing { try normalization.preprocessing() }
}

/// How images are normalized and how many threads run (`--mean`, `--std`, `--threads`): the part
/// of the data options that `convert`, whose `--data` is required, shares with the others.
struct NormalizationOptions: ParsableArguments {
    @Option(help: "Per-channel mean subtracted after scaling uint8 pixels to [0, 1] (comma-separated).")
    var mean = "0"

    @Option(help: "Per-channel standard deviation divided by after the mean (comma-separated).")
    var std = "1"

    @Option(help: "Threads OpenBLAS may use.")
    var threads = 2

    func validate() throws {
        guard threads >= 1 else { throw ValidationError("--threads must be at least 1, got \(threads)") }
        _ = try preprocessing()
    }

    func preprocessing() throws -> Preprocessing {
        let std = try commaSeparatedFloats(self.std, flag: "--std")
        guard std.allSatisfy({ $0 > 0 }) else { throw ValidationError("--std values must be positive") }
        return Preprocessing(mean: try commaSeparatedFloats(mean, flag: "--mean"), std: std)
    }
}

/// The numbers of a comma-separated option value (`--mean 0.5,0.5,0.5`); an empty list or a
/// non-number is an error naming the flag.
func commaSeparatedFloats(_ text: String, flag: String) throws -> [Float] {
    let v = text.split(separator: ",").map { Float($0.trimmingCharacters(in: .whitespaces)) }
    guard !v.isEmpty, v.allSatisfy({ $0 != nil }) else { throw ValidationError("\(flag) takes numbers separated by commas, got '\(text)'") }
    return v.compactMap { $0 }
}

/// What `train` and `train --supernet` say when Ctrl-C stopped them before OUTPUT was written.
func interruptedMessage(output: String, checkpoint: String, epochsDone: Int) -> String {
    "interrupted; \(output) was not written. " + (epochsDone > 0
        ? "The checkpoint \(checkpoint) holds epoch \(epochsDone): continue with --resume."
        : "No epoch was completed, so there is no checkpoint.")
}
