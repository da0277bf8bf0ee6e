// TensorSummary: a few readable lines about a tensor (shape, range, leading values, row argmax).
import Foundation
import IR

extension Tensor {
    /// A short description for printing a model output: shape, min/max/mean, the first values and,
    /// for a 2-D [batch, classes] output, the arg-max of each row (the predicted class).
    public func summary(name: String, maxValues: Int = 8) -> String {
        var lines = ["\(name): f32[\(shape.map(String.init).joined(separator: ","))]"]
        guard !scalars.isEmpty else { return lines[0] + " (empty)" }
        let finite = scalars.filter(\.isFinite)
        let mean = finite.isEmpty ? Double.nan : finite.reduce(0.0) { $0 + Double($1) } / Double(finite.count)
        var stats = "  min \(format(scalars.min() ?? .nan))  max \(format(scalars.max() ?? .nan))  mean \(format(Float(mean)))"
        let nonFinite = scalars.count - finite.count
        if nonFinite > 0 { stats += "  (\(nonFinite) NaN or infinite)" }
        lines.append(stats)
        let head = scalars.prefix(maxValues).map(format).joined(separator: " ")
        lines.append("  values \(head)\(scalars.count > maxValues ? " …" : "")")
        if shape.count == 2, shape[1] > 1 {
            let rows = min(shape[0], 16)
            let argmax = (0..<rows).map { r -> String in
                let row = scalars[(r * shape[1])..<((r + 1) * shape[1])]
                return String(row.indices.max { row[$0] < row[$1] }.map { $0 - r * shape[1] } ?? 0)
            }
            lines.append("  argmax \(argmax.joined(separator: " "))\(shape[0] > rows ? " …" : "")")
        }
        return lines.joined(separator: "\n")
    }

    private func format(_ x: Float) -> String {
        if x.isNaN { return "nan" }
        if x.isInfinite { return x > 0 ? "inf" : "-inf" }
        return String(format: "%.6g", Double(x))
    }
}
