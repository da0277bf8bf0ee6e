// EmitOptions: what `s2dc emit` and the library take: target, symbol prefix, weight storage, BLAS.

/// Where the emitted code keeps its weights.
public enum WeightStorage: String, Sendable, CaseIterable {
    /// In the source: `static const float` data in C, a base64 string literal in Swift.
    case inline
    /// In a `.bin` file beside the source, read by a loader function before the first run.
    case file
}

/// The language of the emitted code.
public enum EmitTarget: String, Sendable, CaseIterable {
    case c, swift
}

/// Options of the code generators.
public struct EmitOptions: Sendable {
    /// Prefix of every public C symbol (`<prefix>_run`), and the Swift type's name in lower case.
    public var prefix: String
    /// nil: inline unless the weights exceed `fileThresholdBytes`.
    public var weights: WeightStorage?
    /// C only: call `cblas_sgemm` for convolutions instead of the built-in GEMM kernel.
    public var cblas: Bool
    /// Above this many bytes of weights, the default storage is `.file`.
    public var fileThresholdBytes: Int

    public init(prefix: String = "model", weights: WeightStorage? = nil, cblas: Bool = false, fileThresholdBytes: Int = 8 << 20) {
        self.prefix = prefix
        self.weights = weights
        self.cblas = cblas
        self.fileThresholdBytes = fileThresholdBytes
    }

    /// A C identifier made from `name` (a model file's base name): other characters become `_`,
    /// and a leading digit gets a `_` in front.
    public static func identifier(from name: String) -> String {
        var s = String(name.map { $0.isASCII && ($0.isLetter || $0.isNumber) ? $0 : "_" })
        if s.isEmpty || s.first!.isNumber { s = "_" + s }
        return s
    }
}
