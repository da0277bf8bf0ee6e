// NPYHeader: parses and prints the Python dict literal that heads an NPY file.

/// The fields of an NPY header: `{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }`.
struct NPYHeader: Equatable {
    var descr: String
    var fortranOrder: Bool
    var shape: [Int]

    /// The header text NumPy itself writes (keys sorted, a trailing comma in 1-tuples).
    var text: String {
        let dims: String
        switch shape.count {
        case 0: dims = "()"
        case 1: dims = "(\(shape[0]),)"
        default: dims = "(" + shape.map(String.init).joined(separator: ", ") + ")"
        }
        return "{'descr': '\(descr)', 'fortran_order': \(fortranOrder ? "True" : "False"), 'shape': \(dims), }"
    }

    /// Parses the header text; the error message says what is wrong (the caller adds the file).
    init(parsing text: String) throws {
        var parser = LiteralParser(Array(text.unicodeScalars))
        guard case .dict(let entries) = try parser.parseValue() else {
            throw RuntimeError("NPY header is not a dictionary: \(text)")
        }
        parser.skipSpace()
        guard parser.atEnd else { throw RuntimeError("NPY header has text after the dictionary: \(text)") }
        var fields: [String: PythonLiteral] = [:]
        for (key, value) in entries {
            guard case .string(let k) = key else { throw RuntimeError("NPY header has a non-string key: \(text)") }
            fields[k] = value
        }
        guard case .string(let descr)? = fields["descr"] else {
            if fields["descr"] != nil {
                throw RuntimeError("NPY header 'descr' is not a simple type (structured arrays are not supported): \(text)")
            }
            throw RuntimeError("NPY header has no 'descr': \(text)")
        }
        guard case .bool(let fortran)? = fields["fortran_order"] else {
            throw RuntimeError("NPY header has no boolean 'fortran_order': \(text)")
        }
        guard case .tuple(let items)? = fields["shape"] else {
            throw RuntimeError("NPY header has no 'shape' tuple: \(text)")
        }
        var shape: [Int] = []
        for item in items {
            guard case .int(let d) = item, d >= 0 else {
                throw RuntimeError("NPY header 'shape' must hold non-negative integers: \(text)")
            }
            shape.append(d)
        }
        self.init(descr: descr, fortranOrder: fortran, shape: shape)
    }

    init(descr: String, fortranOrder: Bool, shape: [Int]) {
        self.descr = descr
        self.fortranOrder = fortranOrder
        self.shape = shape
    }
}

/// The Python literals an NPY header may contain.
indirect enum PythonLiteral: Equatable {
    case string(String)
    case int(Int)
    case bool(Bool)
    case none
    case tuple([PythonLiteral])
    case list([PythonLiteral])
    case dict([(PythonLiteral, PythonLiteral)])

    static func == (a: PythonLiteral, b: PythonLiteral) -> Bool {
        switch (a, b) {
        case (.string(let x), .string(let y)): return x == y
        case (.int(let x), .int(let y)): return x == y
        case (.bool(let x), .bool(let y)): return x == y
        case (.none, .none): return true
        case (.tuple(let x), .tuple(let y)), (.list(let x), .list(let y)): return x == y
        case (.dict(let x), .dict(let y)): return x.count == y.count && zip(x, y).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        default: return false
        }
    }
}

/// A recursive-descent parser for the literal subset above. Nesting is bounded so that a hostile
/// header cannot exhaust the stack.
struct LiteralParser {
    let chars: [Unicode.Scalar]
    var i = 0
    var depth = 0

    init(_ chars: [Unicode.Scalar]) { self.chars = chars }

    var atEnd: Bool { i >= chars.count }

    mutating func skipSpace() {
        while i < chars.count, chars[i].properties.isWhitespace { i += 1 }
    }

    mutating func parseValue() throws -> PythonLiteral {
        skipSpace()
        guard i < chars.count else { throw RuntimeError("NPY header ends early") }
        depth += 1
        defer { depth -= 1 }
        guard depth < 32 else { throw RuntimeError("NPY header nests too deeply") }
        let c = chars[i]
        switch c {
        case "'", "\"": return .string(try parseString())
        case "(": return .tuple(try parseSequence(close: ")"))
        case "[": return .list(try parseSequence(close: "]"))
        case "{": return try parseDict()
        case "-", "0"..."9": return .int(try parseInt())
        default:
            for (word, value) in [("True", PythonLiteral.bool(true)), ("False", .bool(false)), ("None", .none)]
            where hasWord(word) {
                i += word.unicodeScalars.count
                return value
            }
            throw RuntimeError("NPY header has an unexpected character '\(c)' at offset \(i)")
        }
    }

    private func hasWord(_ word: String) -> Bool {
        let w = Array(word.unicodeScalars)
        return i + w.count <= chars.count && Array(chars[i..<(i + w.count)]) == w
    }

    private mutating func parseString() throws -> String {
        let quote = chars[i]
        i += 1
        var s = String.UnicodeScalarView()
        while i < chars.count, chars[i] != quote {
            if chars[i] == "\\" { i += 1; guard i < chars.count else { break } }
            s.append(chars[i])
            i += 1
        }
        guard i < chars.count else { throw RuntimeError("NPY header has an unterminated string") }
        i += 1
        return String(s)
    }

    private mutating func parseInt() throws -> Int {
        var text = ""
        if chars[i] == "-" { text.append("-"); i += 1 }
        while i < chars.count, ("0"..."9").contains(chars[i]) { text.unicodeScalars.append(chars[i]); i += 1 }
        if i < chars.count, chars[i] == "L" || chars[i] == "l" { i += 1 }  // Python 2 long suffix
        guard let v = Int(text) else { throw RuntimeError("NPY header has an invalid or too large integer '\(text)'") }
        return v
    }

    private mutating func parseSequence(close: Unicode.Scalar) throws -> [PythonLiteral] {
        i += 1
        var items: [PythonLiteral] = []
        while true {
            skipSpace()
            guard i < chars.count else { throw RuntimeError("NPY header has an unterminated sequence") }
            if chars[i] == close { i += 1; return items }
            items.append(try parseValue())
            skipSpace()
            guard i < chars.count else { throw RuntimeError("NPY header has an unterminated sequence") }
            if chars[i] == "," { i += 1 } else if chars[i] != close {
                throw RuntimeError("NPY header expects ',' or '\(close)' at offset \(i)")
            }
        }
    }

    private mutating func parseDict() throws -> PythonLiteral {
        i += 1
        var entries: [(PythonLiteral, PythonLiteral)] = []
        while true {
            skipSpace()
            guard i < chars.count else { throw RuntimeError("NPY header has an unterminated dictionary") }
            if chars[i] == "}" { i += 1; return .dict(entries) }
            let key = try parseValue()
            skipSpace()
            guard i < chars.count, chars[i] == ":" else { throw RuntimeError("NPY header expects ':' at offset \(i)") }
            i += 1
            entries.append((key, try parseValue()))
            skipSpace()
            guard i < chars.count else { throw RuntimeError("NPY header has an unterminated dictionary") }
            if chars[i] == "," { i += 1 } else if chars[i] != "}" {
                throw RuntimeError("NPY header expects ',' or '}' at offset \(i)")
            }
        }
    }
}
