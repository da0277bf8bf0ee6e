// PassPlugin: loads passes from shared libraries (dlopen) through a small C ABI, and exports them.

import Foundation
import IR
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The C ABI between `s2dc` and a pass plugin.
///
/// A plugin is a shared library that exports
///
/// ```c
/// int32_t s2dc_register_passes(int32_t abi_version, void *host, s2dc_register_fn register_pass);
/// ```
///
/// and calls `register_pass` once per pass with its name, summary, option declarations and a run
/// function. Across the boundary only C strings travel: the graph as textual IR (constant data in
/// full, which prints and parses back bit-exactly) and options as pipeline text. Host and plugin
/// therefore never share a Swift type: a plugin built with SwiftPM links its own copy of `IR` and
/// `Passes`, and it keeps working whether or not the host's copy is the same build.
///
/// Plugin authors do not touch this ABI directly; they write (see the README):
///
/// ```swift
/// @_cdecl("s2dc_register_passes")
/// public func registerPasses(_ abi: Int32, _ host: UnsafeMutableRawPointer?,
///                            _ register: PassPluginABI.RegisterFunction?) -> Int32 {
///     PassPluginABI.export([MyPass.self], abi: abi, host: host, register: register)
/// }
/// ```
public enum PassPluginABI {
    /// Bumped when the C ABI changes; a plugin built for another version is refused.
    public static let version: Int32 = 1
    /// The symbol a plugin exports.
    public static let entryPoint = "s2dc_register_passes"

    /// Runs a pass: (pass context, options text, input IR, out: result IR or error message
    /// (malloc'd; the host frees it), out: changes) -> 0 on success.
    public typealias RunFunction = @convention(c) (
        UnsafeMutableRawPointer?, UnsafePointer<CChar>?, UnsafePointer<CChar>?,
        UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?, UnsafeMutablePointer<Int64>?) -> Int32

    /// Registers one pass: (host, name, summary, option declarations, pass context, run) -> 0 on
    /// success. Option declarations: one line per option, `name<TAB>kind<TAB>default<TAB>help`.
    public typealias RegisterFunction = @convention(c) (
        UnsafeMutableRawPointer?, UnsafePointer<CChar>?, UnsafePointer<CChar>?, UnsafePointer<CChar>?,
        UnsafeMutableRawPointer?, RunFunction?) -> Int32

    /// The entry point's type.
    public typealias EntryFunction = @convention(c) (Int32, UnsafeMutableRawPointer?, RegisterFunction?) -> Int32

    /// Plugin side: registers `passes` with the host. Returns 0, or nonzero when the host refused
    /// one (its reason is reported by the host).
    public static func export(_ passes: [any Pass.Type], abi: Int32, host: UnsafeMutableRawPointer?,
                              register: RegisterFunction?) -> Int32 {
        guard abi == version, let register else { return 1 }
        for type in passes {
            let descriptor = PassDescriptor(type)
            let box = Unmanaged.passRetained(ExportedPass(descriptor)).toOpaque()  // lives as long as the process
            let status = descriptor.name.withCString { name in
                descriptor.summary.withCString { summary in
                    encodeOptions(descriptor.options).withCString { options in
                        register(host, name, summary, options, box, runExported)
                    }
                }
            }
            if status != 0 { return status }
        }
        return 0
    }

    static func encodeOptions(_ specs: [PassOptionSpec]) -> String {
        specs.map { spec in
            let help = spec.help.map { $0 == "\t" || $0 == "\n" ? " " : $0 }
            return "\(spec.name)\t\(spec.kind.rawValue)\t\(spec.defaultValue)\t\(String(help))\n"
        }.joined()
    }

    static func decodeOptions(_ text: String) throws -> [PassOptionSpec] {
        try text.split(separator: "\n").map { line in
            let parts = line.split(separator: "\t", maxSplits: 3, omittingEmptySubsequences: false).map(String.init)
            guard parts.count == 4, let kind = PassOptionKind(rawValue: parts[1]) else {
                throw PassError("malformed option declaration '\(line)'")
            }
            var text = parts[2]
            // Strings are written as a pipeline writes them: quoted when they need it.
            if kind == .string, text.hasPrefix("\""), let invocation = try? PipelineParser.parseInvocations("x{v=\(text)}"),
               let unquoted = invocation.first?.options.first?.text {
                text = unquoted
            }
            guard let value = PassOptionValue.parse(text, as: kind) else {
                throw PassError("option '\(parts[0])' declares default '\(parts[2])', not a \(kind.rawValue)")
            }
            return PassOptionSpec(name: parts[0], kind: kind, default: value, help: parts[3])
        }
    }
}

/// A pass a plugin exported, with what the run function needs.
private final class ExportedPass {
    let descriptor: PassDescriptor
    init(_ descriptor: PassDescriptor) { self.descriptor = descriptor }

    /// Parses options and graph, runs the pass, prints the result.
    func run(options: String, ir: String) throws -> (String, Int) {
        let invocations = try PipelineParser.parseInvocations("\(descriptor.name){\(options)}")
        let registry = PassRegistry(builtins: false)
        try registry.add(descriptor)
        let pass = try PipelineParser.configure(invocations[0], registry: registry)
        var graph = try TextParser.parse(ir)
        let before = graph.changeCount
        try pass.run(on: &graph)
        let changes = graph.changeCount - before
        return (changes == 0 ? "" : TextPrinter.print(graph, elideConstantsAbove: nil), changes)
    }
}

/// The run function every exported pass shares; the context says which pass.
private let runExported: PassPluginABI.RunFunction = { context, options, ir, out, changes in
    guard let context, let options, let ir, let out, let changes else { return 2 }
    let pass = Unmanaged<ExportedPass>.fromOpaque(context).takeUnretainedValue()
    do {
        let (text, count) = try pass.run(options: String(cString: options), ir: String(cString: ir))
        out.pointee = strdup(text)
        changes.pointee = Int64(count)
        return 0
    } catch {
        out.pointee = strdup("\(error)")
        return 1
    }
}

/// Loads pass plugins into a registry.
public enum PassPlugin {
    /// Opens the shared library at `path`, calls its `s2dc_register_passes`, and adds the passes it
    /// registers to `registry` (their origin is the path). Returns their names.
    @discardableResult
    public static func load(path: String, into registry: PassRegistry = .shared) throws -> [String] {
        guard let handle = dlopen(path, RTLD_NOW | RTLD_LOCAL) else {
            let reason = dlerror().map { String(cString: $0) } ?? "unknown reason"
            throw PassError("cannot load pass plugin '\(path)': \(reason)")
        }
        // Plugins stay loaded: their run functions are called until the process ends.
        guard let symbol = dlsym(handle, PassPluginABI.entryPoint) else {
            throw PassError("pass plugin '\(path)' does not export \(PassPluginABI.entryPoint)")
        }
        let entry = unsafeBitCast(symbol, to: PassPluginABI.EntryFunction.self)
        let host = PluginHost(path: path, registry: registry)
        let status = withExtendedLifetime(host) {
            entry(PassPluginABI.version, Unmanaged.passUnretained(host).toOpaque(), registerFromPlugin)
        }
        if let error = host.error { throw error }
        guard status == 0 else {
            throw PassError("pass plugin '\(path)' failed to register its passes (status \(status); ABI version \(PassPluginABI.version))")
        }
        return host.names
    }
}

/// What the host's register function needs while a plugin registers.
private final class PluginHost {
    let path: String
    let registry: PassRegistry
    var names: [String] = []
    var error: PassError?

    init(path: String, registry: PassRegistry) {
        self.path = path
        self.registry = registry
    }

    func add(name: String, summary: String, options: String, context: UnsafeMutableRawPointer?,
             run: @escaping PassPluginABI.RunFunction) throws {
        let specs = try PassPluginABI.decodeOptions(options)
        let path = self.path
        let descriptor = PassDescriptor(name: name, summary: summary, options: specs, origin: path) { options in
            ConfiguredPass(name: name, options: options, countingRun: { graph in
                try runPluginPass(name: name, path: path, context: context, run: run, options: options, graph: &graph)
            })
        }
        try registry.add(descriptor)
        names.append(name)
    }
}

private let registerFromPlugin: PassPluginABI.RegisterFunction = { host, name, summary, options, context, run in
    guard let host else { return 2 }
    let plugin = Unmanaged<PluginHost>.fromOpaque(host).takeUnretainedValue()
    guard let name, let summary, let options, let run else {
        plugin.error = PassError("pass plugin '\(plugin.path)' registered a pass with missing fields")
        return 2
    }
    do {
        try plugin.add(name: String(cString: name), summary: String(cString: summary), options: String(cString: options),
                       context: context, run: run)
        return 0
    } catch let error as PassError {
        plugin.error = PassError("pass plugin '\(plugin.path)': \(error.message)")
        return 1
    } catch {
        plugin.error = PassError("pass plugin '\(plugin.path)': \(error)")
        return 1
    }
}

/// Host side of a plugin pass: graph to text, call, text back to graph.
private func runPluginPass(name: String, path: String, context: UnsafeMutableRawPointer?, run: PassPluginABI.RunFunction,
                           options: PassOptions, graph: inout Graph) throws -> Int? {
    var out: UnsafeMutablePointer<CChar>?
    var changes: Int64 = 0
    let status = options.description.withCString { optionsText in
        TextPrinter.print(graph, elideConstantsAbove: nil).withCString { ir in
            run(context, optionsText, ir, &out, &changes)
        }
    }
    let text = out.map { String(cString: $0) } ?? ""
    free(out)
    guard status == 0 else { throw PassError(text.isEmpty ? "plugin pass failed (status \(status))" : text) }
    // An unchanged graph comes back empty, so the host keeps its own (and its change count).
    guard changes > 0 else { return 0 }
    do {
        graph = try TextParser.parse(text)
    } catch {
        throw PassError("plugin '\(path)' returned IR that does not parse: \(error)")
    }
    return Int(changes)
}
