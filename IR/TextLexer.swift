// TextLexer: splits textual IR into tokens with line:column positions; `//` comments run to line end.

/// A place in the text: 1-based line and column, the column counted in Unicode scalars.
struct TextPosition: Equatable, CustomStringConvertible {
    var line: Int
    var column: Int
    var description: String { "\(line):\(column)" }
}

/// One token of textual IR.
struct TextToken: Equatable {
    enum Kind: Equatable {
        /// A bare word `[A-Za-z_][A-Za-z0-9_]*`: keyword, op or attribute name, dimension symbol.
        case word(String)
        /// `%name` or `%"any name"`: a value.
        case value(String)
        /// `@name` or `@"any name"`: the graph.
        case global(String)
        case string(String)
        /// Text starting with a digit or `-` (`3`, `-1`, `2.5e-07`, `-inf`, `0x7fc00001`); the
        /// parser decides whether it is the integer or float it expects, so the lexer never converts.
        case number(String)
        /// One of `( ) { } [ ] < > , : =`.
        case punct(Unicode.Scalar)
        case arrow
        case end
    }

    var kind: Kind
    var position: TextPosition

    /// How the token is named in "found ..." of an error message; long text is cut short.
    var display: String {
        switch kind {
        case .word(let w): return "'" + Self.short(w) + "'"
        case .value(let n): return "'" + Self.short(TextPrinter.valueReference(n)) + "'"
        case .global(let n): return "'" + Self.short(TextPrinter.globalReference(n)) + "'"
        case .string(let s): return "string " + Self.short(TextPrinter.quoted(s))
        case .number(let t): return "'" + Self.short(t) + "'"
        case .punct(let c): return "'" + String(c) + "'"
        case .arrow: return "'->'"
        case .end: return "end of input"
        }
    }

    static func short(_ s: String) -> String {
        s.unicodeScalars.count <= 40 ? s : String(String.UnicodeScalarView(s.unicodeScalars.prefix(37))) + "..."
    }
}

/// Produces tokens one at a time, so that the first error in reading order is the one reported.
struct TextLexer {
    private let scalars: [Unicode.Scalar]
    private var index = 0
    private var line = 1
    private var column = 1

    init(_ text: String) {
        scalars = Array(text.unicodeScalars)
    }

    private var position: TextPosition { TextPosition(line: line, column: column) }

    private func peek(_ offset: Int = 0) -> Unicode.Scalar? {
        index + offset < scalars.count ? scalars[index + offset] : nil
    }

    private mutating func bump() {
        if scalars[index] == "\n" {
            line += 1
            column = 1
        } else {
            column += 1
        }
        index += 1
    }

    private func error(_ message: String, at position: TextPosition) -> IRError {
        IRError("\(message) at \(position)")
    }

    /// The next token, or `.end` once the text is used up.
    mutating func next() throws -> TextToken {
        skipSpaceAndComments()
        let start = position
        guard let c = peek() else { return TextToken(kind: .end, position: start) }
        if "(){}[]<>,:=".unicodeScalars.contains(c) {
            bump()
            return TextToken(kind: .punct(c), position: start)
        }
        if c == "-" {
            if peek(1) == ">" {
                bump()
                bump()
                return TextToken(kind: .arrow, position: start)
            }
            if let n = peek(1), TextPrinter.isWordCharacter(n) { return TextToken(kind: .number(lexNumber()), position: start) }
            throw error("unexpected character '-'", at: start)
        }
        if ("0"..."9").contains(c) { return TextToken(kind: .number(lexNumber()), position: start) }
        if TextPrinter.isWordStart(c) {
            var word = ""
            while let u = peek(), TextPrinter.isWordCharacter(u) {
                word.unicodeScalars.append(u)
                bump()
            }
            return TextToken(kind: .word(word), position: start)
        }
        if c == "\"" { return TextToken(kind: .string(try lexString()), position: start) }
        if c == "%" || c == "@" {
            bump()
            let name = try lexName(after: c, start: start)
            return TextToken(kind: c == "%" ? .value(name) : .global(name), position: start)
        }
        throw error("unexpected character \(Self.describe(c))", at: start)
    }

    private mutating func skipSpaceAndComments() {
        while let c = peek() {
            if c == " " || c == "\t" || c == "\n" || c == "\r" {
                bump()
            } else if c == "/", peek(1) == "/" {
                while let u = peek(), u != "\n" { bump() }
            } else {
                return
            }
        }
    }

    /// A number-like run: an optional `-`, then word characters and dots, with a sign allowed right
    /// after an exponent's `e` (`1e+20`, `3.5e-07`).
    private mutating func lexNumber() -> String {
        var text = ""
        if peek() == "-" {
            text = "-"
            bump()
        }
        while let u = peek() {
            if TextPrinter.isWordCharacter(u) || u == "." {
                text.unicodeScalars.append(u)
                bump()
            } else if (u == "+" || u == "-"), let last = text.unicodeScalars.last, last == "e" || last == "E",
                      let first = text.unicodeScalars.first(where: { $0 != "-" }), ("0"..."9").contains(first) {
                text.unicodeScalars.append(u)
                bump()
            } else {
                break
            }
        }
        return text
    }

    private mutating func lexName(after sigil: Unicode.Scalar, start: TextPosition) throws -> String {
        if peek() == "\"" { return try lexString() }
        var name = ""
        while let u = peek(), TextPrinter.isNameCharacter(u) {
            name.unicodeScalars.append(u)
            bump()
        }
        guard !name.isEmpty else {
            throw error("expected a name or a quoted string after '\(sigil)'", at: start)
        }
        return name
    }

    /// A double-quoted string on one line, with escapes `\" \\ \n \t \r \u{hex}`.
    private mutating func lexString() throws -> String {
        let start = position
        bump()  // opening quote
        var out = ""
        while true {
            guard let c = peek(), c != "\n", c != "\r" else {
                throw error("unterminated string starting", at: start)
            }
            let here = position
            bump()
            if c == "\"" { return out }
            guard c == "\\" else {
                out.unicodeScalars.append(c)
                continue
            }
            guard let e = peek(), e != "\n", e != "\r" else { throw error("unterminated string starting", at: start) }
            bump()
            switch e {
            case "\"": out += "\""
            case "\\": out += "\\"
            case "n": out += "\n"
            case "t": out += "\t"
            case "r": out += "\r"
            case "u":
                out.unicodeScalars.append(try lexUnicodeEscape(at: here))
            default:
                throw error("invalid escape sequence '\\\(e.escaped(asASCII: true))' in string", at: here)
            }
        }
    }

    /// The `{hex}` part of `\u{hex}`: 1 to 8 hex digits naming a Unicode scalar.
    private mutating func lexUnicodeEscape(at start: TextPosition) throws -> Unicode.Scalar {
        guard peek() == "{" else { throw error("invalid unicode escape in string, expected '\\u{hex}'", at: start) }
        bump()
        var digits = ""
        while let u = peek(), u.properties.isASCIIHexDigit {
            digits.unicodeScalars.append(u)
            bump()
        }
        guard peek() == "}", (1...8).contains(digits.count), let v = UInt32(digits, radix: 16),
              let scalar = Unicode.Scalar(v) else {
            throw error("invalid unicode escape in string, expected '\\u{hex}' naming a Unicode scalar", at: start)
        }
        bump()
        return scalar
    }

    /// A character for an error message: itself when printable, its code point otherwise.
    static func describe(_ c: Unicode.Scalar) -> String {
        let code = "U+" + TextPrinter.hex(c.value, digits: 4).uppercased()
        if c.value < 0x20 || (0x7f...0x9f).contains(c.value) { return code }
        if c.isASCII { return "'\(c)'" }
        return "'\(c)' (\(code))"
    }
}
