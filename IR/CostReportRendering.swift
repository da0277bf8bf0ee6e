// CostReportRendering: a cost report as the aligned text table and the JSON that `s2dc inspect` prints.

import Foundation

extension CostReport {
    /// The report as a text table: one row per node (name, op, output shapes, parameters, MACs),
    /// then the totals. Columns are aligned to their widest entry; names are never truncated.
    public func table(title: String) -> String {
        let header = ["node", "op", "output shape", "params", "MACs"]
        let body = rows.map { row in
            [row.node, row.op, row.outputTypes.map(Self.shapeText).joined(separator: " "),
             String(row.cost.parameters), String(row.cost.macs)]
        }
        let widths = header.indices.map { col in ([header] + body).map { $0[col].count }.max() ?? 0 }
        // Text columns align left, numbers right.
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { col, cell in
                let pad = String(repeating: " ", count: widths[col] - cell.count)
                return col < 3 ? cell + pad : pad + cell
            }.joined(separator: "  ")
        }
        var out = "\(title): \(rows.count) nodes (batch \(batch))\n"
        out += line(header) + "\n"
        out += widths.map { String(repeating: "-", count: $0) }.joined(separator: "  ") + "\n"
        for cells in body { out += line(cells) + "\n" }
        out += "\n"
        out += "total parameters  \(totals.parameters) (\(Self.scaled(totals.parameters)))\n"
        out += "total MACs        \(totals.macs) (\(Self.scaled(totals.macs)))\n"
        out += "other ops         \(totals.otherOps) (\(Self.scaled(totals.otherOps)))\n"
        return out
    }

    /// The report as pretty-printed JSON with sorted keys (stable for scripts and diffs).
    /// Shapes are arrays of integers, with a symbolic dimension as its name.
    public func json(model: String) throws -> String {
        let document = JSONDocument(
            model: model, batch: batch,
            nodes: rows.map { row in
                JSONDocument.Row(name: row.node, op: row.op,
                                 outputShapes: row.outputTypes.map { $0.dims.map(JSONDocument.Dimension.init) },
                                 parameters: row.cost.parameters, macs: row.cost.macs, otherOps: row.cost.otherOps)
            },
            totals: .init(parameters: totals.parameters, macs: totals.macs, otherOps: totals.otherOps))
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        return String(decoding: try encoder.encode(document), as: UTF8.self)
    }

    /// "[N,16,28,28]"
    static func shapeText(_ type: TensorType) -> String {
        "[" + type.dims.map(\.description).joined(separator: ",") + "]"
    }

    /// A count with a decimal unit: 4.089 G, 25.557 M, 1.2 k.
    static func scaled(_ value: Int) -> String {
        let v = Double(value)
        for (unit, size) in [("G", 1e9), ("M", 1e6), ("k", 1e3)] where abs(v) >= size {
            return String(format: "%.3f %@", v / size, unit)
        }
        return String(value)
    }
}

/// The JSON shape of `s2dc inspect --json`.
private struct JSONDocument: Encodable {
    enum Dimension: Encodable {
        case fixed(Int), symbol(String)
        init(_ dim: Dim) {
            switch dim {
            case .fixed(let v): self = .fixed(v)
            case .symbol(let s): self = .symbol(s)
            }
        }
        func encode(to encoder: Encoder) throws {
            var c = encoder.singleValueContainer()
            switch self {
            case .fixed(let v): try c.encode(v)
            case .symbol(let s): try c.encode(s)
            }
        }
    }
    struct Row: Encodable {
        var name: String
        var op: String
        var outputShapes: [[Dimension]]
        var parameters: Int
        var macs: Int
        var otherOps: Int
    }
    struct Totals: Encodable {
        var parameters: Int
        var macs: Int
        var otherOps: Int
    }
    var model: String
    var batch: Int
    var nodes: [Row]
    var totals: Totals
}
