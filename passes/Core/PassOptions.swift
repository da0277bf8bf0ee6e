// PassOptions: typed pass options (declared specs, parsed values), and their text form.

/// The kind of value an option takes.
public enum PassOptionKind: String, Hashable, Sendable {
    case int, bool, double, string
    /// A list of integers, written `[1, 2, 3]`.
    case ints
    /// A list of finite doubles, written `[0.25, 0.5]`.
    case doubles
}

/// A value of a pass option.
public enum PassOptionValue: Hashable, Sendable, CustomStringConvertible {
    case int(Int)
    case bool(Bool)
    case double(Double)
    case string(String)
    case ints([Int])
    case doubles([Double])

    public var kind: PassOptionKind {
        switch self {
        case .int: return .int
        case .bool: return .bool
        case .double: return .double
        case .string: return .string
        case .ints: return .ints
        case .doubles: return .doubles
        }
    }

    /// The value as a pipeline writes it; `PassOptionValue.parse` reads it back.
    public var description: String {
        switch self {
        case .int(let v): return String(v)
        case .bool(let v): return v ? "true" : "false"
        case .double(let v): return String(v)
        case .string(let s):
            let plain = !s.isEmpty && s.unicodeScalars.allSatisfy { !" {}[],=\"\\".unicodeScalars.contains($0) && $0.value > 0x20 }
            if plain { return s }
            var out = "\""
            for c in s {
                if c == "\"" || c == "\\" { out.append("\\") }
                out.append(c)
            }
            return out + "\""
        case .ints(let vs): return "[" + vs.map(String.init).joined(separator: ",") + "]"
        case .doubles(let vs): return "[" + vs.map { String($0) }.joined(separator: ",") + "]"
        }
    }

    /// Reads the text of a value of `kind` (for strings, already unquoted), or nil when it is not one.
    public static func parse(_ text: String, as kind: PassOptionKind) -> PassOptionValue? {
        switch kind {
        case .int: return Int(text).map(PassOptionValue.int)
        case .bool:
            switch text {
            case "true", "1": return .bool(true)
            case "false", "0": return .bool(false)
            default: return nil
            }
        case .double:
            guard let v = Double(text), v.isFinite else { return nil }
            return .double(v)
        case .string: return .string(text)
        case .doubles:
            var body = Substring(text)
            if body.hasPrefix("[") && body.hasSuffix("]") { body = body.dropFirst().dropLast() }
            let parts = body.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmedOfSpaces() }
            if parts == [""] { return .doubles([]) }
            var values: [Double] = []
            for p in parts {
                guard let v = Double(p), v.isFinite else { return nil }
                values.append(v)
            }
            return .doubles(values)
        case .ints:
            var body = Substring(text)
            if body.hasPrefix("[") && body.hasSuffix("]") { body = body.dropFirst().dropLast() }
            let parts = body.split(separator: ",", omittingEmptySubsequences: false)
                .map { $0.trimmedOfSpaces() }
            if parts == [""] { return .ints([]) }
            var values: [Int] = []
            for p in parts {
                guard let v = Int(p) else { return nil }
                values.append(v)
            }
            return .ints(values)
        }
    }
}

/// The declaration of one option of a pass: name (kebab-case), kind, default and help.
public struct PassOptionSpec: Hashable, Sendable, CustomStringConvertible {
    public var name: String
    public var kind: PassOptionKind
    public var defaultValue: PassOptionValue
    public var help: String

    /// Declares an option; `defaultValue` must be of `kind`'s case.
    public init(name: String, kind: PassOptionKind, default defaultValue: PassOptionValue, help: String) {
        precondition(defaultValue.kind == kind, "option '\(name)': default \(defaultValue) is not a \(kind.rawValue)")
        self.name = name
        self.kind = kind
        self.defaultValue = defaultValue
        self.help = help
    }

    public static func int(_ name: String, default value: Int, help: String) -> PassOptionSpec {
        PassOptionSpec(name: name, kind: .int, default: .int(value), help: help)
    }

    public static func bool(_ name: String, default value: Bool, help: String) -> PassOptionSpec {
        PassOptionSpec(name: name, kind: .bool, default: .bool(value), help: help)
    }

    public static func double(_ name: String, default value: Double, help: String) -> PassOptionSpec {
        PassOptionSpec(name: name, kind: .double, default: .double(value), help: help)
    }

    public static func string(_ name: String, default value: String, help: String) -> PassOptionSpec {
        PassOptionSpec(name: name, kind: .string, default: .string(value), help: help)
    }

    public static func ints(_ name: String, default value: [Int], help: String) -> PassOptionSpec {
        PassOptionSpec(name: name, kind: .ints, default: .ints(value), help: help)
    }

    public static func doubles(_ name: String, default value: [Double], help: String) -> PassOptionSpec {
        PassOptionSpec(name: name, kind: .doubles, default: .doubles(value), help: help)
    }

    /// `name: kind = default  help`, as `--list-passes` prints it.
    public var description: String { "\(name): \(kind.rawValue) = \(defaultValue)  \(help)" }
}

/// The option values of one pass invocation: every declared option, given or defaulted.
public struct PassOptions: Hashable, Sendable, CustomStringConvertible {
    /// Values by option name.
    public private(set) var values: [String: PassOptionValue]
    /// The declarations, in order (for printing).
    public let specs: [PassOptionSpec]

    /// The defaults of `specs`, overridden by `given` (which must name declared options of the
    /// declared kinds).
    public init(specs: [PassOptionSpec], given: [String: PassOptionValue] = [:], pass: String = "pass") throws {
        try self.init(specs: specs, given: given, owner: "pass '\(pass)'")
    }

    /// The same for an invocation of another registry; `owner` names it in errors
    /// (`strategy 'evolution'`).
    public init(specs: [PassOptionSpec], given: [String: PassOptionValue] = [:], owner: String) throws {
        self.specs = specs
        var values: [String: PassOptionValue] = [:]
        for spec in specs { values[spec.name] = spec.defaultValue }
        for (name, value) in given {
            guard let spec = specs.first(where: { $0.name == name }) else {
                throw PassError("unknown option '\(name)' of \(owner); " + Self.validList(specs))
            }
            guard value.kind == spec.kind else {
                throw PassError("option '\(name)' of \(owner) takes \(spec.kind.rawValue), got \(value)")
            }
            values[name] = value
        }
        self.values = values
    }

    /// "valid options: a (int, default 1), …" or "it takes no options".
    public static func validList(_ specs: [PassOptionSpec]) -> String {
        if specs.isEmpty { return "it takes no options" }
        return "valid options: " + specs.map { "\($0.name) (\($0.kind.rawValue), default \($0.defaultValue))" }
            .joined(separator: ", ")
    }

    private func value(_ name: String, _ kind: PassOptionKind) throws -> PassOptionValue {
        guard let v = values[name] else { throw PassError("no option '\(name)' is declared") }
        guard v.kind == kind else { throw PassError("option '\(name)' is a \(v.kind.rawValue), not a \(kind.rawValue)") }
        return v
    }

    public func int(_ name: String) throws -> Int {
        guard case .int(let v) = try value(name, .int) else { fatalError("unreachable") }
        return v
    }

    public func bool(_ name: String) throws -> Bool {
        guard case .bool(let v) = try value(name, .bool) else { fatalError("unreachable") }
        return v
    }

    public func double(_ name: String) throws -> Double {
        guard case .double(let v) = try value(name, .double) else { fatalError("unreachable") }
        return v
    }

    public func string(_ name: String) throws -> String {
        guard case .string(let v) = try value(name, .string) else { fatalError("unreachable") }
        return v
    }

    public func ints(_ name: String) throws -> [Int] {
        guard case .ints(let v) = try value(name, .ints) else { fatalError("unreachable") }
        return v
    }

    public func doubles(_ name: String) throws -> [Double] {
        guard case .doubles(let v) = try value(name, .doubles) else { fatalError("unreachable") }
        return v
    }

    /// `a=1 b=true` in declaration order (the text inside a pipeline's braces).
    public var description: String {
        specs.compactMap { spec in values[spec.name].map { "\(spec.name)=\($0)" } }.joined(separator: " ")
    }
}

extension StringProtocol {
    /// The text without leading and trailing spaces, tabs and line breaks.
    func trimmedOfSpaces() -> String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" }
        return String(String(drop(while: isSpace).reversed().drop(while: isSpace).reversed()))
    }
}
