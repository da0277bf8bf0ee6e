// CodePrinter: the one small printer every emitter writes through: lines, indentation, blocks.

/// Accumulates source text line by line with an indentation level, so emitters never track spaces.
public struct CodePrinter {
    /// The text so far.
    public private(set) var text = ""
    private var level = 0
    private let unit: String

    /// `indent` is the text of one indentation level.
    public init(indent: String = "    ") { unit = indent }

    /// Appends one line at the current indentation (an empty line stays empty).
    public mutating func line(_ s: String = "") {
        if !s.isEmpty { text += String(repeating: unit, count: level) + s }
        text += "\n"
    }

    /// Appends several lines.
    public mutating func lines(_ ss: [String]) { for s in ss { line(s) } }

    /// Appends text that already holds its own line breaks, each line indented.
    public mutating func verbatim(_ block: String) {
        var rest = Substring(block)
        if rest.hasSuffix("\n") { rest = rest.dropLast() }
        for l in rest.split(separator: "\n", omittingEmptySubsequences: false) { line(String(l)) }
    }

    /// `open` on its own line, the body one level deeper, then `close`.
    public mutating func block(_ open: String, close: String = "}", _ body: (inout CodePrinter) throws -> Void) rethrows {
        line(open)
        level += 1
        try body(&self)
        level -= 1
        line(close)
    }

    /// Runs `body` one level deeper, with no delimiters.
    public mutating func indented(_ body: (inout CodePrinter) throws -> Void) rethrows {
        level += 1
        try body(&self)
        level -= 1
    }
}
