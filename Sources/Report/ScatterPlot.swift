// ScatterPlot: an x/y chart of named series (lines and/or markers) with axes, ticks and a legend.

import Foundation

/// One named series of a scatter plot.
public struct PlotSeries: Sendable {
    public var name: String
    public var points: [(x: Double, y: Double)]
    /// Joins the points (sorted by x) with a line.
    public var line: Bool
    public var marker: MarkerShape?
    public var color: String

    public init(name: String, points: [(x: Double, y: Double)], line: Bool = false, marker: MarkerShape? = .circle,
                color: String) {
        self.name = name
        self.points = points
        self.line = line
        self.marker = marker
        self.color = color
    }
}

/// A chart of series over two numeric axes, rendered as SVG.
public struct ScatterPlot: Sendable {
    public var title: String
    public var xLabel: String
    public var yLabel: String
    public var series: [PlotSeries]
    public var width: Double = 820
    public var height: Double = 500

    public init(title: String, xLabel: String, yLabel: String, series: [PlotSeries]) {
        self.title = title
        self.xLabel = xLabel
        self.yLabel = yLabel
        self.series = series
    }

    /// The SVG document. Axes cover every point (with a margin); the legend sits right of the plot.
    public func svg() -> String {
        var doc = SVGDocument(width: width, height: height)
        let legendWidth = 250.0
        let left = 70.0, right = width - legendWidth, top = 40.0, bottom = height - 60
        let all = series.flatMap(\.points)
        let xs = all.map(\.x), ys = all.map(\.y)
        let (x0, x1) = (xs.min() ?? 0, xs.max() ?? 1), (y0, y1) = (ys.min() ?? 0, ys.max() ?? 1)
        let xPad = (x1 - x0) * 0.05, yPad = (y1 - y0) * 0.08
        let xAxis = AxisTicks.nice(x0 - xPad, x1 + xPad), yAxis = AxisTicks.nice(y0 - yPad, y1 + yPad)
        func px(_ x: Double) -> Double { left + (x - xAxis.lo) / (xAxis.hi - xAxis.lo) * (right - left) }
        func py(_ y: Double) -> Double { bottom - (y - yAxis.lo) / (yAxis.hi - yAxis.lo) * (bottom - top) }

        doc.text(title, (left + right) / 2, 24, size: 15, anchor: .middle, bold: true)
        let xStep = xAxis.ticks.count > 1 ? xAxis.ticks[1] - xAxis.ticks[0] : 1
        for t in xAxis.ticks {
            doc.line(px(t), top, px(t), bottom, stroke: "#e4e4e4")
            doc.line(px(t), bottom, px(t), bottom + 5)
            doc.text(AxisTicks.label(t, step: xStep), px(t), bottom + 19, size: 11, anchor: .middle)
        }
        let yStep = yAxis.ticks.count > 1 ? yAxis.ticks[1] - yAxis.ticks[0] : 1
        for t in yAxis.ticks {
            doc.line(left, py(t), right, py(t), stroke: "#e4e4e4")
            doc.line(left - 5, py(t), left, py(t))
            doc.text(AxisTicks.label(t, step: yStep), left - 8, py(t) + 4, size: 11, anchor: .end)
        }
        doc.line(left, bottom, right, bottom, width: 1.2)
        doc.line(left, top, left, bottom, width: 1.2)
        doc.text(xLabel, (left + right) / 2, height - 18, size: 13, anchor: .middle)
        doc.text(yLabel, 20, (top + bottom) / 2, size: 13, anchor: .middle, rotate: -90)

        for s in series {
            let pts = s.points.sorted { $0.x < $1.x }
            if s.line, pts.count > 1 { doc.polyline(pts.map { (px($0.x), py($0.y)) }, stroke: s.color) }
            if let m = s.marker { for p in pts { doc.marker(m, px(p.x), py(p.y), size: 9, fill: s.color) } }
        }
        // Legend.
        var ly = top + 8
        doc.rect(right + 16, top - 6, legendWidth - 24, Double(series.count) * 22 + 12, fill: "#fafafa", stroke: "#bbb")
        for s in series {
            let lx = right + 26
            if s.line { doc.line(lx, ly + 6, lx + 24, ly + 6, stroke: s.color, width: 2) }
            if let m = s.marker { doc.marker(m, lx + 12, ly + 6, size: 9, fill: s.color) }
            doc.text(s.name, lx + 32, ly + 10, size: 12)
            ly += 22
        }
        return doc.text
    }
}
