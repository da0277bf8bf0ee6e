// ConvertPlots: convert's two figures, pareto.svg (accuracy vs mean MACs) and exits.svg (exit histogram).

import Foundation

/// The figures of a convert report.
public enum ConvertPlots {
    static let palette = ["#d62728", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#7f7f7f"]

    /// Accuracy (%) against mean MACs per image (millions): the search's front (validation), the
    /// chosen point and the static model (test), and every baseline (its point and curve).
    public static func pareto(_ r: ConvertReport) -> String {
        let m = 1e6
        var series = [
            PlotSeries(name: "dynamic front (validation)", points: r.paretoFront.map { ($0.meanMacs / m, 100 * $0.accuracy) },
                       line: true, marker: .circle, color: "#1f77b4"),
            PlotSeries(name: "chosen (test)", points: [(r.dynamicModel.meanMacs / m, 100 * r.dynamicModel.testAccuracy)],
                       marker: .star, color: "#ff7f0e"),
            PlotSeries(name: "static model (test)", points: [(Double(r.staticModel.macs) / m, 100 * r.staticModel.testAccuracy)],
                       marker: .square, color: "#000000"),
        ]
        let shapes: [MarkerShape] = [.diamond, .triangle, .square, .circle]
        for (i, b) in r.baselines.filter({ $0.notRun == nil }).enumerated() {
            let pts = [(b.meanMacs / m, 100 * b.testAccuracy)] + b.curve.map { ($0.meanMacs / m, 100 * $0.accuracy) }
            series.append(PlotSeries(name: b.name, points: pts, line: !b.curve.isEmpty, marker: shapes[i % shapes.count],
                                     color: palette[i % palette.count]))
        }
        return ScatterPlot(title: "Accuracy vs compute, budget \(Int((100 * r.budget).rounded())) % of static MACs",
                           xLabel: "mean MACs per image (millions)", yLabel: "accuracy (%)", series: series).svg()
    }

    /// One bar per exit: the share of test images leaving there (%), labelled with the exit's
    /// accuracy alone and its cumulative MACs.
    public static func exits(_ r: ConvertReport) -> String {
        let width = 640.0, height = 440.0
        var doc = SVGDocument(width: width, height: height)
        let left = 70.0, right = width - 30, top = 50.0, bottom = height - 80
        let shares = r.dynamicModel.exitShares.map { 100 * $0 }
        let axis = AxisTicks.nice(0, max(shares.max() ?? 0, 1) * 1.12)
        func py(_ y: Double) -> Double { bottom - y / axis.hi * (bottom - top) }
        doc.text("Where test images leave (dynamic accuracy \(pct(r.dynamicModel.testAccuracy)), "
                 + "\(pct(r.dynamicModel.meanMacs / Double(max(r.staticModel.macs, 1)))) of static MACs)",
                 width / 2, 26, size: 13, anchor: .middle, bold: true)
        let step = axis.ticks.count > 1 ? axis.ticks[1] - axis.ticks[0] : 1
        for t in axis.ticks {
            doc.line(left, py(t), right, py(t), stroke: "#e4e4e4")
            doc.line(left - 5, py(t), left, py(t))
            doc.text(AxisTicks.label(t, step: step), left - 8, py(t) + 4, size: 11, anchor: .end)
        }
        doc.line(left, bottom, right, bottom, width: 1.2)
        doc.line(left, top, left, bottom, width: 1.2)
        let n = max(shares.count, 1)
        let slot = (right - left) / Double(n)
        for (i, s) in shares.enumerated() {
            let x = left + Double(i) * slot + slot * 0.2
            doc.rect(x, py(s), slot * 0.6, bottom - py(s), fill: "#4c8bc9", stroke: "#1f4e79")
            let cx = x + slot * 0.3
            doc.text(String(format: "%.1f %%", s), cx, py(s) - 22, size: 12, anchor: .middle, bold: true)
            if let e = r.exits.first(where: { $0.exit == i + 1 }) {
                doc.text("accuracy \(pct(e.testAccuracy))", cx, py(s) - 7, size: 11, anchor: .middle)
                doc.text(String(format: "%.2f M MACs", Double(e.cumulativeMacs) / 1e6), cx, bottom + 34, size: 11, anchor: .middle)
            }
            doc.text("exit \(i + 1)", cx, bottom + 18, size: 12, anchor: .middle)
        }
        doc.text("exit (cumulative MACs per image)", (left + right) / 2, height - 18, size: 13, anchor: .middle)
        doc.text("share of test images (%)", 20, (top + bottom) / 2, size: 13, anchor: .middle, rotate: -90)
        return doc.text
    }

    static func pct(_ x: Double) -> String { String(format: "%.2f %%", 100 * x) }
}
