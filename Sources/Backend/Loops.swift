// Loops: a tiny statement language for kernel bodies, printed as C99 or as Swift.

/// The target language of a kernel body. The two differ only in declarations, loops, float
/// literals and math function names; expressions otherwise share one syntax (indexing, + - * /,
/// comparisons, the ternary operator), so every kernel is written once.
enum Language {
    case c, swift

    /// A float literal.
    func f(_ x: Float) -> String { self == .c ? FloatLiteral.c(x) : FloatLiteral.swift(x) }

    func exp(_ e: String) -> String { self == .c ? "expf(\(e))" : "Foundation.exp(\(e))" }
    func sqrt(_ e: String) -> String { self == .c ? "sqrtf(\(e))" : "(\(e)).squareRoot()" }
    func pow(_ a: String, _ b: String) -> String { self == .c ? "powf(\(a), \(b))" : "Foundation.pow(\(a), \(b))" }
}

/// One statement of a kernel body. Integer expressions use `int` in C and `Int` in Swift.
indirect enum Stmt {
    /// `for v in 0..<count`.
    case loop(String, Int, [Stmt])
    /// `for v in from..<to` with integer expressions (empty when to <= from).
    case range(String, String, String, [Stmt])
    /// An immutable integer.
    case int(String, String)
    /// An immutable float.
    case let_(String, String)
    /// A mutable float.
    case var_(String, String)
    /// `lhs = rhs`.
    case set(String, String)
    /// `lhs += rhs`.
    case add(String, String)
    case ifThen(String, [Stmt], [Stmt])
    /// A call statement.
    case call(String, [String])
    case comment(String)
    /// A constant table of integers (`static const int name[] = {…}` in C).
    case intTable(String, [Int])

    /// Prints statements in `lang`.
    static func print(_ body: [Stmt], _ lang: Language, into p: inout CodePrinter) {
        for s in body { s.print(lang, into: &p) }
    }

    func print(_ lang: Language, into p: inout CodePrinter) {
        let c = lang == .c
        switch self {
        case .loop(let v, let n, let body):
            if n <= 0 { return }
            p.block(c ? "for (int \(v) = 0; \(v) < \(n); ++\(v)) {" : "for \(v) in 0..<\(n) {") { Stmt.print(body, lang, into: &$0) }
        case .range(let v, let from, let to, let body):
            p.block(c ? "for (int \(v) = \(from); \(v) < \(to); ++\(v)) {"
                      : "for \(v) in stride(from: \(from), to: \(to), by: 1) {") { Stmt.print(body, lang, into: &$0) }
        case .int(let v, let e): p.line(c ? "const int \(v) = \(e);" : "let \(v) = \(e)")
        case .let_(let v, let e): p.line(c ? "const float \(v) = \(e);" : "let \(v): Float = \(e)")
        case .var_(let v, let e): p.line(c ? "float \(v) = \(e);" : "var \(v): Float = \(e)")
        case .set(let l, let r): p.line(c ? "\(l) = \(r);" : "\(l) = \(r)")
        case .add(let l, let r): p.line(c ? "\(l) += \(r);" : "\(l) += \(r)")
        case .ifThen(let cond, let then, let otherwise):
            p.line(c ? "if (\(cond)) {" : "if \(cond) {")
            p.indented { Stmt.print(then, lang, into: &$0) }
            if otherwise.isEmpty {
                p.line("}")
            } else {
                p.line("} else {")
                p.indented { Stmt.print(otherwise, lang, into: &$0) }
                p.line("}")
            }
        case .call(let f, let args): p.line("\(f)(\(args.joined(separator: ", ")))" + (c ? ";" : ""))
        case .comment(let s): p.line(c ? "/* \(s) */" : "// \(s)")
        case .intTable(let name, let values):
            p.line(c ? "static const int \(name)[\(max(values.count, 1))] = {" : "let \(name): [Int] = [")
            p.indented { q in
                var i = 0
                while i < values.count {
                    let end = min(i + 16, values.count)
                    q.line(values[i..<end].map(String.init).joined(separator: ", ") + ",")
                    i = end
                }
            }
            p.line(c ? "};" : "]")
        }
    }
}

/// Helpers for building index expressions with literal strides.
enum Index {
    /// Σ vars[i]·strides[i], skipping zero strides; "0" when empty.
    static func linear(_ vars: [String], _ strides: [Int], base: Int = 0) -> String {
        var terms: [String] = []
        if base != 0 { terms.append(String(base)) }
        for (v, s) in zip(vars, strides) where s != 0 {
            terms.append(s == 1 ? v : "\(v) * \(s)")
        }
        return terms.isEmpty ? "0" : terms.joined(separator: " + ")
    }

    /// Nested loops over `shape` with variables `prefix0, prefix1, …` around `body`.
    static func nest(_ shape: [Int], prefix: String, _ body: [Stmt]) -> [Stmt] {
        var inner = body
        for d in shape.indices.reversed() { inner = [.loop("\(prefix)\(d)", shape[d], inner)] }
        return inner
    }

    static func vars(_ n: Int, prefix: String) -> [String] { (0..<n).map { "\(prefix)\($0)" } }
}
