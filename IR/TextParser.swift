// TextParser: reads textual IR back into a Graph, building it through the Graph mutation API.

/// Reads the textual IR that `TextPrinter` writes.
///
/// Grammar (`//` comments run to the end of a line; whitespace and line breaks are free):
/// ```
/// graph     := 'graph' @name '(' [%name ':' type {',' ...}] ')' '->' '(' [%name {',' %name}] ')'
///              '{' {constant | node} 'return' [%name {',' %name}] '}'
/// type      := 'f32' '[' [dim {',' dim}] ']'          dim := integer | word | "string"
/// constant  := 'const' %name ':' type '=' 'dense' '<' ('elided' | '[' [float {',' float}] ']') '>'
/// node      := result {',' result} '=' op '(' [%name {',' %name}] ')' ['{' [attr {',' attr}] '}']
///              ['name' '=' "string"]
/// result    := %name [':' type]                        attr := word '=' value
/// float     := decimal | 'inf' | '-inf' | 'nan' | '-nan' | 'nan(0x' 8 hex digits ')'
/// ```
/// Names are `%ident` / `@ident` with `[A-Za-z0-9_.]+`, or quoted strings with the escapes
/// `\" \\ \n \t \r \u{hex}`. Values must be defined before use, once each. The header's output
/// list and the `return` list must agree.
///
/// The printer writes everything; by hand, some parts may be left out: a result's type (it is
/// inferred), a node's name (it defaults to its first result's name), and any attribute that has an
/// ONNX default (e.g. conv `strides`, `group`; gemm `alpha`). Attributes may come in any order.
///
/// The graph is built with `Graph.addInput`, `addConstant`, `appendNode` and `setOutputs`, so every
/// node's types are inferred and checked; a written result type must equal the inferred one.
/// Errors are `IRError`s that say where: `expected ')' at 12:30, found '{'`.
///
/// Limits, so that no text can make shape arithmetic overflow: dimensions and inferred dimensions lie
/// in 0...2³¹−1 and a type's element count must fit in an Int; integer attributes lie within
/// ±(2³¹−1), except slice `starts` / `ends`, which take any 64-bit integer.
public enum TextParser {
    /// Parses one graph from `text`.
    /// - Throws: `IRError` naming the line and column of the first problem.
    public static func parse(_ text: String) throws -> Graph {
        var parser = try Parser(text)
        return try parser.parseGraph()
    }
}

/// The largest dimension and the bound of ordinary integer attributes.
private let maxDimension = Int(Int32.max)

struct Parser {
    var lexer: TextLexer
    var token: TextToken
    var graph = Graph()
    /// Where each value was defined, for "defined twice" messages.
    var definedAt: [String: TextPosition] = [:]
    /// The stage metadata read so far (`stages`, `class`, `reuse_off`, `exit` lines; StagesText).
    var stageInfo: StageInfo?

    init(_ text: String) throws {
        lexer = TextLexer(text)
        token = try lexer.next()
    }

    // MARK: Token helpers

    mutating func advance() throws {
        token = try lexer.next()
    }

    func fail(_ message: String, at position: TextPosition? = nil, node: String? = nil) -> IRError {
        IRError("\(message) at \(position ?? token.position)", node: node)
    }

    /// "expected X at L:C, found Y" for the current token.
    func expected(_ what: String) -> IRError {
        IRError("expected \(what) at \(token.position), found \(token.display)")
    }

    func isPunct(_ c: Unicode.Scalar) -> Bool { token.kind == .punct(c) }
    func isWord(_ w: String) -> Bool { token.kind == .word(w) }

    mutating func expectPunct(_ c: Unicode.Scalar) throws {
        guard isPunct(c) else { throw expected("'\(c)'") }
        try advance()
    }

    mutating func consumePunct(_ c: Unicode.Scalar) throws -> Bool {
        guard isPunct(c) else { return false }
        try advance()
        return true
    }

    mutating func expectWord(_ w: String) throws {
        guard isWord(w) else { throw expected("'\(w)'") }
        try advance()
    }

    /// Parses `item` separated by commas until `close` (which is consumed); the list may be empty.
    mutating func list<T>(until close: Unicode.Scalar, _ item: (inout Parser) throws -> T) throws -> [T] {
        var items: [T] = []
        if try consumePunct(close) { return items }
        repeat { items.append(try item(&self)) } while try consumePunct(",")
        try expectPunct(close)
        return items
    }

    // MARK: Graph structure

    mutating func parseGraph() throws -> Graph {
        try expectWord("graph")
        guard case .global(let name) = token.kind else { throw expected("a graph name such as '@main'") }
        graph = Graph(name: name)
        try advance()
        try expectPunct("(")
        _ = try list(until: ")") { p in try p.parseInput() }
        guard token.kind == .arrow else { throw expected("'->'") }
        try advance()
        try expectPunct("(")
        let declaredOutputs = try list(until: ")") { p in try p.parseValueName().name }
        try expectPunct("{")
        while true {
            switch token.kind {
            case .word("const"): try parseConstant()
            case .value: try parseNode()
            case .word("stages"), .word("class"), .word("reuse_off"), .word("classifier"), .word("exit"): try parseStageLine()
            case .word("return"): return try parseReturn(declaredOutputs: declaredOutputs)
            case .punct("}"), .end: throw fail("missing 'return' before \(token.display)")
            default: throw expected("'const', a value definition or 'return'")
            }
        }
    }

    mutating func parseInput() throws {
        let (name, position) = try parseValueName()
        try expectPunct(":")
        let (type, _) = try parseType()
        try define(name, at: position)
        do { try graph.addInput(name, type: type) } catch let error as IRError { throw fail(error.message, at: position) }
    }

    mutating func parseReturn(declaredOutputs: [String]) throws -> Graph {
        let position = token.position
        try advance()
        var outputs: [String] = []
        if case .value = token.kind {
            repeat {
                let (name, at) = try parseValueName()
                guard graph.isDefined(name) else { throw fail("undefined value '\(TextPrinter.valueReference(name))'", at: at) }
                outputs.append(name)
            } while try consumePunct(",")
        }
        guard outputs == declaredOutputs else {
            let list = { (names: [String]) in "(" + names.map(TextPrinter.valueReference).joined(separator: ", ") + ")" }
            throw fail("returned values \(list(outputs)) differ from the outputs \(list(declaredOutputs)) in the graph header",
                       at: position)
        }
        try graph.setOutputs(outputs)
        if let stageInfo { graph.setStageInfo(stageInfo) }
        try expectPunct("}")
        guard token.kind == .end else { throw expected("end of input after the graph") }
        return graph
    }

    mutating func parseConstant() throws {
        try advance()  // const
        let (name, position) = try parseValueName()
        try expectPunct(":")
        let (type, typePosition) = try parseType()
        guard let shape = type.fixedShape else {
            throw fail("constant type \(TextPrinter.typeText(type)) must have fixed dimensions", at: typePosition)
        }
        try expectPunct("=")
        try expectWord("dense")
        try expectPunct("<")
        let tensor: Tensor
        if isWord("elided") {
            try advance()
            tensor = .elided(shape: shape)
        } else {
            let dataPosition = token.position
            guard isPunct("[") else { throw expected("'elided' or '['") }
            try advance()
            let scalars = try list(until: "]") { p in try p.parseFloat() }
            // parseType checked that the element count fits in an Int.
            guard scalars.count == shape.elementCount else {
                throw fail("constant of type \(TextPrinter.typeText(type)) needs \(shape.elementCount) values, got \(scalars.count)",
                           at: dataPosition)
            }
            tensor = Tensor(shape: shape, scalars: scalars)
        }
        try expectPunct(">")
        try define(name, at: position)
        do { try graph.addConstant(name, tensor) } catch let error as IRError { throw fail(error.message, at: position) }
    }

    mutating func parseNode() throws {
        typealias Result = (name: String, position: TextPosition, type: TensorType?, typePosition: TextPosition)
        var results: [Result] = []
        repeat {
            let (name, position) = try parseValueName()
            var type: TensorType?
            var typePosition = position
            if try consumePunct(":") {
                typePosition = token.position
                type = try parseType().type
            }
            results.append((name, position, type, typePosition))
        } while try consumePunct(",")
        try expectPunct("=")

        guard case .word(let opName) = token.kind else { throw expected("an op name") }
        let opPosition = token.position
        guard let schema = TextAttributes.schemas[opName] else { throw fail("unknown op '\(opName)'") }
        try advance()
        try expectPunct("(")
        let inputs = try list(until: ")") { p -> String in
            let (name, at) = try p.parseValueName()
            guard p.graph.isDefined(name) else { throw p.fail("undefined value '\(TextPrinter.valueReference(name))'", at: at) }
            return name
        }
        var attributes: [String: TextAttributeValue] = [:]
        if try consumePunct("{") {
            _ = try list(until: "}") { p in try p.parseAttribute(of: opName, schema: schema, into: &attributes) }
        }
        var nodeName = results[0].name
        if isWord("name") {
            try advance()
            try expectPunct("=")
            guard case .string(let s) = token.kind else { throw expected("a quoted node name") }
            nodeName = s
            try advance()
        }
        let staging = try parseNodeStaging()

        let op: Op
        do {
            op = try TextAttributes.makeOp(named: opName, attributes: attributes)
        } catch let error as IRError {
            throw fail(error.message, at: opPosition, node: nodeName)
        }
        for r in results { try define(r.name, at: r.position) }
        try checkReshapeSize(op, inputs: inputs, at: opPosition, node: nodeName)
        do {
            try graph.appendNode(Node(name: nodeName, op: op, inputs: inputs, outputs: results.map(\.name), staging: staging))
        } catch let error as IRError {
            throw fail(error.message, at: opPosition, node: error.node ?? nodeName)
        }
        for r in results {
            guard let inferred = graph.types[r.name] else { continue }
            guard Self.withinLimits(inferred) else {
                throw fail("inferred type \(TextPrinter.typeText(inferred)) of '\(TextPrinter.valueReference(r.name))' exceeds the size limits of textual IR",
                           at: opPosition, node: nodeName)
            }
            if let declared = r.type, declared != inferred {
                throw fail("type of '\(TextPrinter.valueReference(r.name))' is written \(TextPrinter.typeText(declared)) but inferred as \(TextPrinter.typeText(inferred))",
                           at: r.typePosition, node: nodeName)
            }
        }
    }

    /// Reads `name = value` of an attribute the op's schema lists, into `attributes`.
    mutating func parseAttribute(of op: String, schema: TextAttributes.Schema,
                                 into attributes: inout [String: TextAttributeValue]) throws {
        guard case .word(let key) = token.kind else { throw expected("an attribute name") }
        guard let kind = schema.first(where: { $0.name == key })?.kind else {
            let known = schema.isEmpty ? "\(op) takes no attributes"
                                       : "expected one of " + schema.map(\.name).joined(separator: ", ")
            throw fail("unknown attribute '\(key)' of \(op) (\(known))")
        }
        guard attributes[key] == nil else { throw fail("attribute '\(key)' is given twice") }
        try advance()
        try expectPunct("=")
        let what = "attribute '\(key)'"
        switch kind {
        case .int:
            attributes[key] = .int(try parseInt(in: -maxDimension...maxDimension, what))
        case .ints:
            try expectPunct("[")
            attributes[key] = .ints(try list(until: "]") { p in try p.parseInt(in: -maxDimension...maxDimension, what) })
        case .wideInts:
            try expectPunct("[")
            attributes[key] = .ints(try list(until: "]") { p in try p.parseInt(in: Int.min...Int.max, what) })
        case .float:
            attributes[key] = .float(try parseFloat())
        case .bool:
            if isWord("true") || isWord("false") {
                attributes[key] = .bool(isWord("true"))
                try advance()
            } else {
                throw expected("'true' or 'false'")
            }
        case .padMode:
            guard case .word(let w) = token.kind, let mode = PadMode(rawValue: w) else {
                throw expected("a pad mode (" + PadMode.allCases.map(\.rawValue).joined(separator: ", ") + ")")
            }
            attributes[key] = .padMode(mode)
            try advance()
        case .activation:
            attributes[key] = .activation(try parseActivation())
        }
    }

    /// `relu` | `hard_swish` | `leaky_relu(alpha)` | `clip(min, max)`.
    mutating func parseActivation() throws -> FusedActivation {
        let choices = "a fused activation (relu, hard_swish, leaky_relu(alpha), clip(min, max))"
        guard case .word(let w) = token.kind else { throw expected(choices) }
        switch w {
        case "relu":
            try advance()
            return .relu
        case "hard_swish":
            try advance()
            return .hardSwish
        case "leaky_relu":
            try advance()
            try expectPunct("(")
            let alpha = try parseFloat()
            try expectPunct(")")
            return .leakyRelu(alpha: alpha)
        case "clip":
            try advance()
            try expectPunct("(")
            let lo = try parseFloat()
            try expectPunct(",")
            let hi = try parseFloat()
            try expectPunct(")")
            return .clip(min: lo, max: hi)
        default:
            throw expected(choices)
        }
    }

    // MARK: Names, types and literals

    mutating func parseValueName() throws -> (name: String, position: TextPosition) {
        guard case .value(let name) = token.kind else { throw expected("a value name such as '%x'") }
        let position = token.position
        try advance()
        return (name, position)
    }

    /// Records a definition, rejecting a second one (also within one node's results).
    mutating func define(_ name: String, at position: TextPosition) throws {
        if let first = definedAt[name] {
            throw fail("value '\(TextPrinter.valueReference(name))' is defined twice (first at \(first))", at: position)
        }
        definedAt[name] = position
    }

    mutating func parseType() throws -> (type: TensorType, position: TextPosition) {
        let position = token.position
        guard case .word(let element) = token.kind else { throw expected("a type such as 'f32[N,3,224,224]'") }
        guard element == "f32" else {
            throw fail("unsupported element type '\(element)' (every IR value is f32)")
        }
        try advance()
        try expectPunct("[")
        let dims = try list(until: "]") { p -> Dim in
            switch p.token.kind {
            case .number:
                return .fixed(try p.parseInt(in: 0...maxDimension, "a dimension"))
            case .word(let s), .string(let s):
                try p.advance()
                return .symbol(s)
            default:
                throw p.expected("a dimension (an integer or a symbol)")
            }
        }
        let type = TensorType(dims: dims)
        guard Self.withinLimits(type) else {
            throw fail("type \(TextPrinter.typeText(type)) has too many elements", at: position)
        }
        return (type, position)
    }

    /// True when every fixed dimension lies in 0...maxDimension and the product of the nonzero ones
    /// fits in an Int (a zero dimension does not make a product of any subset of the others safe).
    static func withinLimits(_ type: TensorType) -> Bool {
        var count = 1
        for d in type.dims {
            guard let v = d.value else { continue }
            guard (0...maxDimension).contains(v) else { return false }
            let (product, overflow) = count.multipliedReportingOverflow(by: Swift.max(v, 1))
            guard !overflow else { return false }
            count = product
        }
        return true
    }

    /// Reshape multiplies its target sizes; refuse targets whose product would overflow an Int.
    func checkReshapeSize(_ op: Op, inputs: [String], at position: TextPosition, node: String) throws {
        guard case .reshape(let shape, let allowZero) = op, let x = inputs.first.flatMap({ graph.types[$0] }) else { return }
        var count = 1
        for (i, s) in shape.enumerated() {
            let factor = Swift.max(s == 0 && !allowZero && i < x.rank ? (x.dims[i].value ?? 1) : abs(s), 1)
            let (product, overflow) = count.multipliedReportingOverflow(by: factor)
            guard !overflow else { throw fail("reshape shape \(shape) has too many elements", at: position, node: node) }
            count = product
        }
    }

    mutating func parseInt(in range: ClosedRange<Int>, _ what: String) throws -> Int {
        guard case .number(let text) = token.kind else { throw expected("an integer for \(what)") }
        guard let value = Int(text) else {
            if text.unicodeScalars.dropFirst(text.hasPrefix("-") ? 1 : 0).allSatisfy({ ("0"..."9").contains($0) }) {
                throw fail("integer \(TextToken.short(text)) is out of range for \(what)")
            }
            throw expected("an integer for \(what)")
        }
        guard range.contains(value) else {
            throw fail("integer \(value) is out of range for \(what) (\(range.lowerBound)...\(range.upperBound))")
        }
        try advance()
        return value
    }

    mutating func parseFloat() throws -> Float {
        switch token.kind {
        case .word("inf"):
            try advance()
            return .infinity
        case .word("nan"):
            try advance()
            guard isPunct("(") else { return .nan }
            try advance()
            guard case .number(let text) = token.kind, text.hasPrefix("0x"), text.unicodeScalars.count == 10,
                  text.unicodeScalars.dropFirst(2).allSatisfy(\.properties.isASCIIHexDigit),
                  let bits = UInt32(text.dropFirst(2), radix: 16) else {
                throw expected("a NaN bit pattern such as '0x7fc00001'")
            }
            guard Float(bitPattern: bits).isNaN else { throw fail("bit pattern \(text) is not a NaN") }
            try advance()
            try expectPunct(")")
            return Float(bitPattern: bits)
        case .number("-inf"):
            try advance()
            return -.infinity
        case .number("-nan"):
            try advance()
            return -.nan
        case .number(let text):
            // Float(String) also takes hex floats, "infinity" and the like; accept only decimals.
            guard Self.isDecimal(text), let value = Float(text) else { throw expected("a float") }
            guard value.isFinite else { throw fail("float \(TextToken.short(text)) is out of range for f32") }
            try advance()
            return value
        default:
            throw expected("a float")
        }
    }

    /// `-?[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?`
    static func isDecimal(_ text: String) -> Bool {
        var s = Substring(text).unicodeScalars[...]
        func digits() -> Bool {
            let n = s.prefix { ("0"..."9").contains($0) }.count
            s = s.dropFirst(n)
            return n > 0
        }
        if s.first == "-" { s = s.dropFirst() }
        guard digits() else { return false }
        if s.first == "." {
            s = s.dropFirst()
            guard digits() else { return false }
        }
        if s.first == "e" || s.first == "E" {
            s = s.dropFirst()
            if s.first == "+" || s.first == "-" { s = s.dropFirst() }
            guard digits() else { return false }
        }
        return s.isEmpty
    }
}
