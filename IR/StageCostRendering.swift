// StageCostRendering: a staged graph's per-stage and per-exit cost as `s2dc inspect` prints it.

import Foundation

extension StageCostReport {
    /// One row per stage: its MACs, parameters and other ops, then the exit after it (if any)
    /// with its cumulative MACs, their fraction of the static model's MACs, and its threshold;
    /// then the static totals.
    public func table(_ info: StageInfo) -> String {
        let header = ["stage", "MACs", "params", "other ops", "exit", "cumulative MACs", "of static", "threshold"]
        var body: [[String]] = []
        for (i, cost) in stages.enumerated() {
            let exit = info.exit(atStage: i + 1)
            body.append([String(i + 1), String(cost.macs), String(cost.parameters), String(cost.otherOps),
                         exit == nil ? "-" : "exit \(i + 1)" + Self.position(info, stage: i + 1),
                         String(cumulativeMACs[i]), Self.fraction(cumulativeMACs[i], staticMACs),
                         exit.map { i + 1 == info.stageCount ? "last" : String(describing: $0.threshold) } ?? "-"])
        }
        let widths = header.indices.map { col in ([header] + body).map { $0[col].count }.max() ?? 0 }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { col, cell in
                String(repeating: " ", count: widths[col] - cell.count) + cell
            }.joined(separator: "  ")
        }
        var out: String
        switch info.axis {
        case .depth:
            out = "depth stages: \(info.stageCount), exits after blocks "
                + info.exits.compactMap(\.block).map { "'\($0)'" }.joined(separator: ", ") + ", classifier '\(info.classifier)'\n"
        case .width:
            out = "stages: \(info.stageCount), \(info.classes.count) channel classes, classifier '\(info.classifier)'\n"
        case .widthDepth:
            out = "stages: \(info.stageCount) = \(info.widthStageCount) width stages x (\(info.blockCount) blocks + the classifier), "
                + "\(info.classes.count) channel classes, classifier '\(info.classifier)'; exit (w, b): width stage w, block b\n"
        }
        out += line(header) + "\n"
        out += widths.map { String(repeating: "-", count: $0) }.joined(separator: "  ") + "\n"
        for cells in body { out += line(cells) + "\n" }
        out += "\nstatic model: \(staticMACs) MACs (\(CostReport.scaled(staticMACs))), \(staticParameters) parameters\n"
        out += "all stages:   \(cumulativeMACs.last ?? 0) MACs (\(Self.fraction(cumulativeMACs.last ?? 0, staticMACs)) of static), "
        out += "\(stages.map(\.parameters).reduce(0, +)) parameters read\n"
        return out
    }

    /// For width stages cut at blocks, " (w, b)" or " (w, classifier)": where stage `stage` ends.
    static func position(_ info: StageInfo, stage: Int) -> String {
        guard info.axis == .widthDepth else { return "" }
        let p = info.position(ofStage: stage)
        return " (\(p.width), " + (p.block.map(String.init) ?? "classifier") + ")"
    }

    /// The report as pretty-printed JSON with sorted keys.
    public func json(_ info: StageInfo, model: String) throws -> String {
        struct Stage: Encodable {
            var stage: Int, macs: Int, parameters: Int, otherOps: Int, exit: Bool, cumulativeMacs: Int
            var fractionOfStatic: Double, threshold: Float?
            /// A depth exit's block (absent for width stages).
            var block: String?
            /// For width stages cut at blocks: the width stage, and the block index (absent: the classifier).
            var widthStage: Int?, blockIndex: Int?
        }
        struct Document: Encodable {
            var model: String, stages: [Stage], staticMacs: Int, staticParameters: Int
            /// "depth" or "width_depth" (absent for width stages).
            var axis: String?
        }
        let rows = stages.enumerated().map { i, c in
            let exit = info.exit(atStage: i + 1)
            return Stage(stage: i + 1, macs: c.macs, parameters: c.parameters, otherOps: c.otherOps, exit: exit != nil,
                         cumulativeMacs: cumulativeMACs[i],
                         fractionOfStatic: staticMACs == 0 ? 0 : Double(cumulativeMACs[i]) / Double(staticMACs),
                         threshold: exit.flatMap { $0.threshold.isFinite ? $0.threshold : nil }, block: exit?.block,
                         widthStage: info.axis == .widthDepth ? info.position(ofStage: i + 1).width : nil,
                         blockIndex: info.axis == .widthDepth ? info.position(ofStage: i + 1).block : nil)
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        let doc = Document(model: model, stages: rows, staticMacs: staticMACs, staticParameters: staticParameters,
                           axis: info.axis == .width ? nil : info.axis.rawValue)
        return String(decoding: try encoder.encode(doc), as: UTF8.self)
    }

    static func fraction(_ a: Int, _ b: Int) -> String {
        b == 0 ? "-" : String(format: "%.4f", Double(a) / Double(b))
    }
}
