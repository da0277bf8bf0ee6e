// TextPrinter: prints a graph as MLIR-like text that TextParser reads back to the same graph.

/// Prints graphs in the textual IR form, which `TextParser.parse` reads back.
///
/// ```
/// graph @lenet(%x: f32[N,1,28,28]) -> (%y) {
///   const %w: f32[16,1,3,3] = dense<elided>
///   const %b: f32[16] = dense<[0.1, -2.0, 3.5e-07, ...]>
///   %c: f32[N,16,28,28] = conv(%x, %w, %b) {kernel = [3, 3], strides = [1, 1], pads = [1, 1, 1, 1], dilations = [1, 1], group = 1} name = "Conv_0"
///   %s0: f32[N,8,28,28], %s1: f32[N,8,28,28] = split(%c) {axis = 1, sizes = [8, 8]} name = "Split_3"
///   return %y
/// }
/// ```
///
/// Constants come first, in definition order, then the nodes in their (topological) order. Every
/// attribute of every op is printed, defaults included, in a fixed order (the one exception: a
/// conv's fused `activation` prints only when there is one, e.g. `activation = clip(0.0, 6.0)`), and floats print in the
/// shortest form that reads back bit-exactly, so print → parse → print gives identical text.
public enum TextPrinter {
    /// The text of a whole graph, ending with a newline.
    ///
    /// - Parameters:
    ///   - graph: the graph to print.
    ///   - elideConstantsAbove: constants with more elements than this print as `dense<elided>`;
    ///     `nil` prints all data. Constants that are already elided print elided whatever this is.
    public static func print(_ graph: Graph, elideConstantsAbove limit: Int? = 16) -> String {
        var out = "graph " + globalReference(graph.name) + "("
        out += graph.inputs.map { valueReference($0.name) + ": " + typeText($0.type) }.joined(separator: ", ")
        out += ") -> (" + graph.outputs.map(valueReference).joined(separator: ", ") + ") {\n"
        for name in graph.constantNames {
            guard let tensor = graph.constants[name] else { continue }
            out += "  const " + valueReference(name) + ": " + typeText(tensor.type) + " = "
            out += denseText(tensor, elideAbove: limit) + "\n"
        }
        for node in graph.nodes {
            out += "  " + print(node, in: graph) + "\n"
        }
        if let info = graph.stageInfo { out += StagesText.lines(info) }
        out += "  return"
        if !graph.outputs.isEmpty { out += " " + graph.outputs.map(valueReference).joined(separator: ", ") }
        out += "\n}\n"
        return out
    }

    /// One node as a single line without indentation (the form used inside `print(_:)`), with the
    /// result types taken from `graph`. Useful in error messages and debug output of passes.
    public static func print(_ node: Node, in graph: Graph) -> String {
        let results = node.outputs.map { name -> String in
            guard let type = graph.types[name] else { return valueReference(name) }
            return valueReference(name) + ": " + typeText(type)
        }
        var line = results.joined(separator: ", ") + " = " + node.op.name + "("
        line += node.inputs.map(valueReference).joined(separator: ", ") + ")"
        let attributes = TextAttributes.attributes(of: node.op)
        if !attributes.isEmpty {
            line += " {" + attributes.map { $0.name + " = " + attributeText($0.value) }.joined(separator: ", ") + "}"
        }
        line += " name = " + quoted(node.name)
        if let staging = node.staging { line += StagesText.suffix(staging) }
        return line
    }

    /// How a value is referred to: `%name` when the name is made of `[A-Za-z0-9_.]`, otherwise a
    /// quoted string such as `%"onnx::Conv_123"`.
    public static func valueReference(_ name: String) -> String {
        "%" + (isPlainName(name) ? name : quoted(name))
    }

    /// The text of a type, such as `f32[N,3,224,224]`. A symbolic dimension prints bare when it is
    /// an identifier (`[A-Za-z_][A-Za-z0-9_]*`), quoted otherwise.
    public static func typeText(_ type: TensorType) -> String {
        let dims = type.dims.map { dim -> String in
            switch dim {
            case .fixed(let v): return String(v)
            case .symbol(let s): return isIdentifier(s) ? s : quoted(s)
            }
        }
        return "f32[" + dims.joined(separator: ",") + "]"
    }

    /// The text of a float that reads back to the same bits: Swift's shortest round-trip form for
    /// numbers and infinities, `nan` / `-nan` for the default quiet NaNs, and `nan(0x7fc00001)`
    /// (the whole bit pattern) for any other NaN, since `description` drops sign and payload.
    public static func floatText(_ x: Float) -> String {
        guard x.isNaN else { return x.description }
        switch x.bitPattern {
        case Float.nan.bitPattern: return "nan"
        case (-Float.nan).bitPattern: return "-nan"
        default: return "nan(0x" + hex(x.bitPattern, digits: 8) + ")"
        }
    }

    // MARK: Pieces

    static func globalReference(_ name: String) -> String {
        "@" + (isPlainName(name) ? name : quoted(name))
    }

    static func denseText(_ tensor: Tensor, elideAbove limit: Int?) -> String {
        if tensor.isElided { return "dense<elided>" }
        if let limit, tensor.scalars.count > limit { return "dense<elided>" }
        return "dense<[" + tensor.scalars.map(floatText).joined(separator: ", ") + "]>"
    }

    static func attributeText(_ value: TextAttributeValue) -> String {
        switch value {
        case .int(let v): return String(v)
        case .ints(let vs): return "[" + vs.map(String.init).joined(separator: ", ") + "]"
        case .float(let v): return floatText(v)
        case .bool(let v): return v ? "true" : "false"
        case .padMode(let m): return m.rawValue
        case .activation(let a): return TextAttributes.activationText(a)
        }
    }

    /// A double-quoted string. Quote, backslash and control characters are escaped (`\"`, `\\`,
    /// `\n`, `\t`, `\r`, `\u{1b}`) so that a name can never break the line structure; everything
    /// else prints as is.
    static func quoted(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            case "\r": out += "\\r"
            default:
                if u.value < 0x20 || (0x7f...0x9f).contains(u.value) {
                    out += "\\u{" + String(u.value, radix: 16) + "}"
                } else {
                    out.unicodeScalars.append(u)
                }
            }
        }
        return out + "\""
    }

    /// True for names that print without quotes after `%` or `@`.
    static func isPlainName(_ s: String) -> Bool {
        !s.isEmpty && s.unicodeScalars.allSatisfy { isNameCharacter($0) }
    }

    /// True for words that print bare as a dimension symbol.
    static func isIdentifier(_ s: String) -> Bool {
        guard let first = s.unicodeScalars.first, isWordStart(first) else { return false }
        return s.unicodeScalars.allSatisfy { isWordCharacter($0) }
    }

    static func isNameCharacter(_ u: Unicode.Scalar) -> Bool { isWordCharacter(u) || u == "." }
    static func isWordStart(_ u: Unicode.Scalar) -> Bool {
        ("a"..."z").contains(u) || ("A"..."Z").contains(u) || u == "_"
    }
    static func isWordCharacter(_ u: Unicode.Scalar) -> Bool { isWordStart(u) || ("0"..."9").contains(u) }

    static func hex(_ v: UInt32, digits: Int) -> String {
        let s = String(v, radix: 16)
        return String(repeating: "0", count: max(0, digits - s.count)) + s
    }
}
