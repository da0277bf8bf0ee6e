// SVG: a small SVG document writer and the "nice" axis ticks the plots share.

import Foundation

/// Builds an SVG document element by element; text is XML-escaped.
public struct SVGDocument {
    public let width: Double
    public let height: Double
    private var body: [String] = []

    public init(width: Double, height: Double) {
        self.width = width
        self.height = height
    }

    /// Escapes the five XML special characters.
    public static func escape(_ s: String) -> String {
        var out = ""
        for ch in s {
            switch ch {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            default: out.append(ch)
            }
        }
        return out
    }

    static func num(_ x: Double) -> String { String(format: "%.2f", x) }

    public mutating func line(_ x1: Double, _ y1: Double, _ x2: Double, _ y2: Double, stroke: String = "#000",
                              width: Double = 1, dash: String? = nil) {
        let d = dash.map { " stroke-dasharray=\"\($0)\"" } ?? ""
        body.append("<line x1=\"\(Self.num(x1))\" y1=\"\(Self.num(y1))\" x2=\"\(Self.num(x2))\" y2=\"\(Self.num(y2))\" "
                    + "stroke=\"\(stroke)\" stroke-width=\"\(Self.num(width))\"\(d)/>")
    }

    public mutating func rect(_ x: Double, _ y: Double, _ w: Double, _ h: Double, fill: String, stroke: String = "none") {
        body.append("<rect x=\"\(Self.num(x))\" y=\"\(Self.num(y))\" width=\"\(Self.num(w))\" height=\"\(Self.num(h))\" "
                    + "fill=\"\(fill)\" stroke=\"\(stroke)\"/>")
    }

    public mutating func polyline(_ points: [(Double, Double)], stroke: String, width: Double = 2) {
        let p = points.map { "\(Self.num($0.0)),\(Self.num($0.1))" }.joined(separator: " ")
        body.append("<polyline points=\"\(p)\" fill=\"none\" stroke=\"\(stroke)\" stroke-width=\"\(Self.num(width))\"/>")
    }

    /// A marker centred on (x, y).
    public mutating func marker(_ shape: MarkerShape, _ x: Double, _ y: Double, size: Double, fill: String) {
        let r = size / 2
        switch shape {
        case .circle:
            body.append("<circle cx=\"\(Self.num(x))\" cy=\"\(Self.num(y))\" r=\"\(Self.num(r))\" fill=\"\(fill)\" stroke=\"#000\" stroke-width=\"0.5\"/>")
        case .square:
            rect(x - r, y - r, size, size, fill: fill, stroke: "#000")
        case .diamond, .triangle, .star:
            let pts: [(Double, Double)]
            switch shape {
            case .diamond: pts = [(x, y - r * 1.3), (x + r * 1.3, y), (x, y + r * 1.3), (x - r * 1.3, y)]
            case .triangle: pts = [(x, y - r * 1.3), (x + r * 1.2, y + r), (x - r * 1.2, y + r)]
            default:
                pts = (0..<10).map { i in
                    let a = Double.pi / 2 + Double(i) * Double.pi / 5
                    let rr = i % 2 == 0 ? r * 1.6 : r * 0.7
                    return (x + rr * cos(a), y - rr * sin(a))
                }
            }
            let p = pts.map { "\(Self.num($0.0)),\(Self.num($0.1))" }.joined(separator: " ")
            body.append("<polygon points=\"\(p)\" fill=\"\(fill)\" stroke=\"#000\" stroke-width=\"0.5\"/>")
        }
    }

    public enum Anchor: String { case start, middle, end }

    public mutating func text(_ s: String, _ x: Double, _ y: Double, size: Double = 12, anchor: Anchor = .start,
                              bold: Bool = false, rotate: Double? = nil) {
        let r = rotate.map { " transform=\"rotate(\(Self.num($0)) \(Self.num(x)) \(Self.num(y)))\"" } ?? ""
        let w = bold ? " font-weight=\"bold\"" : ""
        body.append("<text x=\"\(Self.num(x))\" y=\"\(Self.num(y))\" font-family=\"sans-serif\" font-size=\"\(Self.num(size))\" "
                    + "text-anchor=\"\(anchor.rawValue)\"\(w)\(r)>\(Self.escape(s))</text>")
    }

    /// The whole document.
    public var text: String {
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
            + "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Self.num(width))\" height=\"\(Self.num(height))\" "
            + "viewBox=\"0 0 \(Self.num(width)) \(Self.num(height))\">\n"
            + "<rect x=\"0\" y=\"0\" width=\"\(Self.num(width))\" height=\"\(Self.num(height))\" fill=\"#fff\"/>\n"
            + body.joined(separator: "\n") + "\n</svg>\n"
    }
}

/// Marker shapes for scatter series.
public enum MarkerShape: String, Sendable, CaseIterable {
    case circle, square, diamond, triangle, star
}

/// Axis ticks at 1, 2 or 5 times a power of ten.
public enum AxisTicks {
    /// About `count` ticks covering [lo, hi]: (the widened range, the tick values).
    public static func nice(_ lo: Double, _ hi: Double, count: Int = 6) -> (lo: Double, hi: Double, ticks: [Double]) {
        var lo = lo, hi = hi
        if !(hi > lo) { lo -= 0.5; hi += 0.5 }
        let raw = (hi - lo) / Double(max(count - 1, 1))
        let mag = pow(10, floor(log10(raw)))
        let step = [1.0, 2.0, 5.0, 10.0].map { $0 * mag }.first { $0 >= raw } ?? 10 * mag
        let a = floor(lo / step) * step, b = ceil(hi / step) * step
        let n = Int(((b - a) / step).rounded())
        return (a, b, (0...n).map { a + Double($0) * step })
    }

    /// A tick label with as many decimals as the step needs.
    public static func label(_ v: Double, step: Double) -> String {
        let decimals = max(0, -Int(floor(log10(step) + 1e-9)))
        return String(format: "%.\(decimals)f", v)
    }
}
