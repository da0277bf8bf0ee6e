// SummaryTable: the table `s2dc convert` prints at the end, from its report.

import Foundation

/// Renders the end-of-run summary of a convert report as aligned text.
public enum SummaryTable {
    /// Rows: the static model, the dynamic model, each exit alone, each baseline; then the phase times.
    public static func render(_ r: ConvertReport) -> String {
        let staticMacs = Double(max(r.staticModel.macs, 1))
        func ms(_ v: Double?) -> String { v.map { String(format: "%.3f ms", $0) } ?? "-" }
        func row(_ name: String, _ acc: Double, _ macs: Double, _ latency: String) -> [String] {
            [name, String(format: "%.2f %%", 100 * acc), String(format: "%.3f M", macs / 1e6),
             String(format: "%.1f %%", 100 * macs / staticMacs), latency]
        }
        var notes: [String] = []
        var rows = [["model", "test accuracy", "mean MACs", "of static", "latency"]]
        rows.append(row("static", r.staticModel.testAccuracy, staticMacs, ms(r.staticModel.latencyMs)))
        rows.append(row("dynamic (chosen)", r.dynamicModel.testAccuracy, r.dynamicModel.meanMacs, ms(r.dynamicModel.meanLatencyMs)))
        for e in r.exits {
            let share = e.exit <= r.dynamicModel.exitShares.count ? r.dynamicModel.exitShares[e.exit - 1] : 0
            rows.append(row("  exit \(e.exit) alone (\(String(format: "%.1f", 100 * share)) % leave)", e.testAccuracy,
                            Double(e.cumulativeMacs), "-"))
        }
        for b in r.baselines {
            if let why = b.notRun {
                rows.append(["baseline: " + b.name, "not run", "-", "-", "-"])
                notes.append("baseline \(b.name) not run: \(why)")
            } else {
                rows.append(row("baseline: " + b.name, b.testAccuracy, b.meanMacs, "-"))
                if let shares = b.exitShares {
                    notes.append("baseline \(b.name): test images leaving at each exit "
                                 + shares.map { String(format: "%.1f %%", 100 * $0) }.joined(separator: " / "))
                }
            }
        }
        var widths = rows[0].map(\.count)
        for r in rows { for (i, c) in r.enumerated() { widths[i] = max(widths[i], c.count) } }
        let lines = rows.map { cells in
            cells.enumerated().map { i, c in
                let pad = String(repeating: " ", count: widths[i] - c.count)
                return i == 0 ? c + pad : pad + c
            }.joined(separator: "  ")
        }
        var out = lines[0] + "\n" + String(repeating: "-", count: lines[0].count) + "\n"
        out += lines.dropFirst().joined(separator: "\n") + "\n"
        let delta = 100 * (r.dynamicModel.testAccuracy - r.staticModel.testAccuracy)
        out += String(format: "dynamic vs static: %+.2f pt at %.1f %% of the MACs (budget %.0f %%)\n", delta,
                      100 * r.dynamicModel.meanMacs / staticMacs, 100 * r.budget)
        for n in notes { out += n + "\n" }
        for (what, note) in [("static", r.staticModel.latencyNote), ("dynamic", r.dynamicModel.latencyNote)] {
            if let note { out += "\(what) latency: \(note)\n" }
        }
        if !r.phases.isEmpty {
            out += "phases: " + r.phases.map { "\($0.phase) " + duration($0.seconds) }.joined(separator: ", ")
                + "; total " + duration(r.phases.reduce(0) { $0 + $1.seconds }) + "\n"
        }
        return out
    }

    static func duration(_ s: Double) -> String {
        s < 60 ? String(format: "%.1f s", s) : String(format: "%d min %02d s", Int(s) / 60, Int(s) % 60)
    }
}
