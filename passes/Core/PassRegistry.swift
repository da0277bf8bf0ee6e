// PassRegistry: the table from pass names to descriptions and factories, built-ins plus user passes.

import Foundation
import IR

/// A pass built from options, ready to run: what the pass manager executes.
public struct ConfiguredPass {
    /// The registered name.
    public let name: String
    /// The option values it was built with.
    public let options: PassOptions
    /// Transforms the graph. Returns the number of changes when the pass counts them itself (a
    /// plugin pass replaces the graph wholesale); nil means "the change count's delta".
    let body: (inout Graph) throws -> Int?
    /// The pass's report on the graph it produced (`Pass.report(after:)`), for `--stats`.
    public var report: ((Graph) -> String?)?

    public init(name: String, options: PassOptions, run: @escaping (inout Graph) throws -> Void) {
        self.name = name
        self.options = options
        self.body = { graph in
            try run(&graph)
            return nil
        }
    }

    /// A pass whose body reports its own number of changes (a plugin pass, which replaces the
    /// graph wholesale); nil means "the change count's delta".
    public init(name: String, options: PassOptions, countingRun: @escaping (inout Graph) throws -> Int?) {
        self.name = name
        self.options = options
        self.body = countingRun
    }

    /// Runs the pass on `graph`.
    public func run(on graph: inout Graph) throws {
        _ = try body(&graph)
    }

    /// `name{a=1 b=true}`, or `name` when it has no options: the pipeline text of this invocation.
    public var pipelineText: String {
        options.specs.isEmpty ? name : "\(name){\(options)}"
    }
}

/// What the registry knows of a pass: name, summary, options, and how to build it.
public struct PassDescriptor {
    public let name: String
    public let summary: String
    public let options: [PassOptionSpec]
    /// Where the pass comes from: "built-in", "user", or the plugin's path.
    public let origin: String
    let factory: (PassOptions) throws -> ConfiguredPass

    /// The descriptor of a `Pass` type.
    public init<P: Pass>(_ type: P.Type, origin: String = "user") {
        name = P.name
        summary = P.summary
        options = P.options
        self.origin = origin
        factory = { options in
            let pass = try P(options: options)
            var configured = ConfiguredPass(name: P.name, options: options) { (graph: inout Graph) in try pass.run(on: &graph) }
            configured.report = { pass.report(after: $0) }
            return configured
        }
    }

    /// A descriptor with an explicit factory (plugins, whose passes are not Swift types of the host).
    init(name: String, summary: String, options: [PassOptionSpec], origin: String,
         factory: @escaping (PassOptions) throws -> ConfiguredPass) {
        self.name = name
        self.summary = summary
        self.options = options
        self.origin = origin
        self.factory = factory
    }

    /// Builds the pass with `given` option values (defaults for the rest).
    public func instantiate(_ given: [String: PassOptionValue] = [:]) throws -> ConfiguredPass {
        try factory(try PassOptions(specs: options, given: given, pass: name))
    }
}

/// The passes `--passes` can name: the built-in list (`builtinPasses`) plus passes registered at
/// run time by code (`register(_:)`) or by plugins (`PassPlugin.load`). Thread-safe.
public final class PassRegistry: @unchecked Sendable {
    /// The registry the CLI and `PassManager(pipeline:)` use by default.
    public static let shared = PassRegistry()

    private let lock = NSLock()
    private var byName: [String: PassDescriptor] = [:]
    private var order: [String] = []

    /// A registry holding the built-in passes (and, when `builtins` is false, nothing).
    public init(builtins: Bool = true) {
        if builtins {
            for type in builtinPasses { try! add(PassDescriptor(type, origin: "built-in")) }
        }
    }

    /// Registers a pass type under its `name`. Throws when the name is taken or not kebab-case.
    public func register<P: Pass>(_ type: P.Type) throws {
        try add(PassDescriptor(type, origin: "user"))
    }

    /// Registers a descriptor (as built by `PassDescriptor(_:)`, or by the plugin loader).
    public func add(_ descriptor: PassDescriptor) throws {
        guard Self.isValidName(descriptor.name) else {
            throw PassError("invalid pass name '\(descriptor.name)': use lower-case words joined by '-' (e.g. fold-batchnorm)")
        }
        for spec in descriptor.options where !Self.isValidName(spec.name) {
            throw PassError("pass '\(descriptor.name)': invalid option name '\(spec.name)'")
        }
        lock.lock()
        defer { lock.unlock() }
        if let existing = byName[descriptor.name] {
            throw PassError("a pass named '\(descriptor.name)' is already registered (\(existing.origin))")
        }
        byName[descriptor.name] = descriptor
        order.append(descriptor.name)
    }

    /// The descriptor registered under `name`.
    public func descriptor(named name: String) -> PassDescriptor? {
        lock.lock()
        defer { lock.unlock() }
        return byName[name]
    }

    /// Every registered pass, built-ins first, each group in registration order.
    public var all: [PassDescriptor] {
        lock.lock()
        defer { lock.unlock() }
        return order.compactMap { byName[$0] }
    }

    /// Every registered name, sorted (for error messages).
    public var names: [String] { all.map(\.name).sorted() }

    /// `[a-z0-9]+(-[a-z0-9]+)*`: the names of passes, options, and the other registries that
    /// reuse the pipeline syntax.
    public static func isValidName(_ name: String) -> Bool {
        let parts = name.split(separator: "-", omittingEmptySubsequences: false)
        return !name.isEmpty && parts.allSatisfy { part in
            !part.isEmpty && part.unicodeScalars.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) }
        }
    }

    /// The listing `s2dc opt --list-passes` prints: each pass, its summary and options.
    public func listing() -> String {
        var out = ""
        for d in all {
            out += d.name + "\n    " + d.summary + (d.origin == "built-in" ? "" : " [\(d.origin)]") + "\n"
            for spec in d.options {
                out += "    --\(spec.name)=<\(spec.kind.rawValue)>  (default \(spec.defaultValue))  \(spec.help)\n"
            }
        }
        return out
    }
}
