// PipelineParser: reads pipeline text (`a,b{opt=1 list=[1,2]},c`) into passes built from the registry.

/// One pass named in a pipeline, with the options written for it (not yet checked).
public struct PassInvocation: Equatable {
    public var name: String
    /// Option values as written, by option name.
    public var options: [(name: String, text: String, column: Int)]
    /// 1-based column of the pass name in the pipeline text.
    public var column: Int

    public static func == (a: PassInvocation, b: PassInvocation) -> Bool {
        a.name == b.name && a.column == b.column && a.options.map(\.name) == b.options.map(\.name)
            && a.options.map(\.text) == b.options.map(\.text)
    }
}

/// Parses pipelines as `mlir-opt --pass-pipeline` and LLVM `opt --passes` write them:
///
/// ```
/// pipeline := [pass {',' pass}]
/// pass     := name ['{' {option} '}']          name := [a-z0-9-]+
/// option   := key '=' value                    (options separated by spaces)
/// value    := bare word | "quoted \" string" | '[' int {',' int} ']'
/// ```
///
/// Errors name the column and list what is valid: every pass for an unknown pass, the pass's
/// options (kinds and defaults) for an unknown option or a value of the wrong kind.
public enum PipelineParser {
    /// The pass invocations of `text`, syntax only. `noun` names what the items are in error
    /// messages ("pass", or "strategy" when other registries reuse the syntax).
    public static func parseInvocations(_ text: String, noun: String = "pass") throws -> [PassInvocation] {
        var p = Scanner(Array(text.unicodeScalars))
        var result: [PassInvocation] = []
        p.skipSpaces()
        if p.atEnd { return [] }
        while true {
            p.skipSpaces()
            let column = p.column
            let name = p.take { ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0) || $0 == "-" || $0 == "_" }
            guard !name.isEmpty else { throw p.error("expected a \(noun) name") }
            var invocation = PassInvocation(name: name, options: [], column: column)
            p.skipSpaces()
            if p.peek == "{" {
                p.advance()
                while true {
                    p.skipSpaces()
                    if p.peek == "}" { p.advance(); break }
                    if p.atEnd { throw p.error("missing '}' after the options of '\(name)'") }
                    let keyColumn = p.column
                    let key = p.take { $0 != "=" && $0 != "}" && $0 != " " && $0 != "," && $0 != "{" }
                    guard !key.isEmpty else { throw p.error("expected an option name") }
                    p.skipSpaces()
                    guard p.peek == "=" else { throw p.error("expected '=' after option '\(key)'") }
                    p.advance()
                    p.skipSpaces()
                    let value = try p.value()
                    if invocation.options.contains(where: { $0.name == key }) {
                        throw PassError("option '\(key)' of '\(name)' is given twice at column \(keyColumn)")
                    }
                    invocation.options.append((key, value, keyColumn))
                }
                p.skipSpaces()
            }
            result.append(invocation)
            if p.atEnd { return result }
            guard p.peek == "," else { throw p.error(noun == "pass" ? "expected ',' between passes" : "expected ',' between items") }
            p.advance()
        }
    }

    /// The one invocation `text` holds (`name{options}`), for registries other than passes that
    /// select a single named value with options (search strategies, rewards, samplers).
    public static func parseSingleInvocation(_ text: String, noun: String) throws -> PassInvocation {
        let invocations = try parseInvocations(text, noun: noun)
        guard invocations.count == 1 else {
            throw PassError("expected one \(noun) in '\(text)', found \(invocations.count)")
        }
        return invocations[0]
    }

    /// The option values of `invocation`, checked against `specs` (known names, values of the
    /// declared kinds); `owner` names the invocation in errors (`pass 'fold-batchnorm'`).
    public static func checkedOptions(_ invocation: PassInvocation, specs: [PassOptionSpec],
                                      owner: String) throws -> [String: PassOptionValue] {
        var given: [String: PassOptionValue] = [:]
        for option in invocation.options {
            guard let spec = specs.first(where: { $0.name == option.name }) else {
                throw PassError("unknown option '\(option.name)' of \(owner) at column \(option.column); "
                                + PassOptions.validList(specs))
            }
            guard let value = PassOptionValue.parse(option.text, as: spec.kind) else {
                throw PassError("option '\(option.name)' of \(owner) at column \(option.column) takes "
                                + "\(spec.kind.rawValue), got '\(option.text)'")
            }
            given[option.name] = value
        }
        return given
    }

    /// Parses `text` and builds each pass from `registry`.
    public static func parse(_ text: String, registry: PassRegistry = .shared) throws -> [ConfiguredPass] {
        try parseInvocations(text).map { try configure($0, registry: registry) }
    }

    /// Checks an invocation against the registry (pass name, option names and kinds) and builds it.
    public static func configure(_ invocation: PassInvocation, registry: PassRegistry) throws -> ConfiguredPass {
        guard let descriptor = registry.descriptor(named: invocation.name) else {
            throw PassError("unknown pass '\(invocation.name)' at column \(invocation.column); valid passes: "
                            + registry.names.joined(separator: ", "))
        }
        let given = try checkedOptions(invocation, specs: descriptor.options, owner: "pass '\(descriptor.name)'")
        do {
            return try descriptor.instantiate(given)
        } catch let error as PassError {
            throw PassError("pass '\(descriptor.name)' at column \(invocation.column): \(error.message)")
        }
    }

    /// A cursor over the pipeline text.
    private struct Scanner {
        let chars: [Unicode.Scalar]
        var index = 0

        init(_ chars: [Unicode.Scalar]) { self.chars = chars }

        var atEnd: Bool { index >= chars.count }
        var peek: Unicode.Scalar? { atEnd ? nil : chars[index] }
        var column: Int { index + 1 }

        mutating func advance() { index += 1 }

        mutating func skipSpaces() {
            while let c = peek, c == " " || c == "\t" || c == "\n" || c == "\r" { advance() }
        }

        mutating func take(while ok: (Unicode.Scalar) -> Bool) -> String {
            var out = String.UnicodeScalarView()
            while let c = peek, ok(c) {
                out.append(c)
                advance()
            }
            return String(out)
        }

        func error(_ message: String) -> PassError {
            let found = peek.map { "'\(Character($0))'" } ?? "end of text"
            return PassError("\(message) at column \(column), found \(found)")
        }

        /// A bare word, a quoted string (unquoted here) or a bracketed list (kept with brackets).
        mutating func value() throws -> String {
            switch peek {
            case "\""?:
                advance()
                var out = String.UnicodeScalarView()
                while true {
                    guard let c = peek else { throw error("unterminated string") }
                    advance()
                    if c == "\"" { break }
                    if c == "\\" {
                        guard let next = peek else { throw error("unterminated string") }
                        out.append(next)
                        advance()
                    } else {
                        out.append(c)
                    }
                }
                return String(out)
            case "["?:
                let body = take { $0 != "]" && $0 != "}" }
                guard peek == "]" else { throw error("missing ']'") }
                advance()
                return body + "]"
            default:
                let word = take { $0 != " " && $0 != "}" && $0 != "," && $0 != "{" && $0 != "\t" && $0 != "\n" }
                guard !word.isEmpty else { throw error("expected an option value") }
                return word
            }
        }
    }
}
