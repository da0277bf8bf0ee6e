// CommentText: what the C and Swift emitters write into comments (names from model files, shapes, steps).

enum CommentText {
    /// Text safe inside a C or Swift comment (names come from model files): no `*` (so no comment
    /// end), no `?` (no trigraphs), no backslash (no line splices), nothing outside printable ASCII.
    static func sanitize(_ s: String) -> String {
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 _-.:/,()[]#+=<>@'")
        return String(s.map { allowed.contains($0) ? $0 : "_" })
    }

    /// `[1,3,4,4]`.
    static func shape(_ s: [Int]) -> String { "[" + s.map(String.init).joined(separator: ",") + "]" }

    /// `name: op + activation` (`op + add + activation` with a fused residual), the heading of a
    /// step's kernel.
    static func summary(_ step: Step) -> String {
        "\(sanitize(step.name)): \(step.op.name)" + (step.residual == nil ? "" : " + add") + (step.activation.map { " + " + $0.op.name } ?? "")
    }
}
