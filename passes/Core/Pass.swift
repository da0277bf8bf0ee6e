// Pass: the protocol every IR pass conforms to, and the error type of the pass library.

import IR

/// A named transformation of a graph, run by name from a pipeline (`--passes='a,b{opt=1}'`).
///
/// A pass declares its name (kebab-case, what `--passes` takes), a one-line summary and its typed
/// options; the registry builds it from parsed options and the pass manager runs it. A pass changes
/// the graph only through `Graph`'s mutation API, which keeps types current and counts changes for
/// `--stats`; it must leave a graph that `Verifier.verify` accepts.
///
/// ```swift
/// struct StripSoftmax: Pass {
///     static let name = "strip-softmax"
///     static let summary = "Removes softmax nodes that produce graph outputs"
///     static let options: [PassOptionSpec] = []
///     init(options: PassOptions) throws {}
///     func run(on graph: inout Graph) throws { ... }
/// }
/// try PassRegistry.shared.register(StripSoftmax.self)
/// ```
public protocol Pass {
    /// The name pipelines use, in kebab-case (`fold-batchnorm`).
    static var name: String { get }
    /// One line saying what the pass does, shown by `s2dc opt --list-passes`.
    static var summary: String { get }
    /// The options the pass takes, with kinds, defaults and help.
    static var options: [PassOptionSpec] { get }
    /// Builds the pass from option values: every declared option is present, parsed and of its
    /// declared kind (defaults filled in).
    init(options: PassOptions) throws
    /// Transforms `graph` in place.
    func run(on graph: inout Graph) throws
    /// What an analysis pass found, as text for `s2dc opt --stats` (nil: nothing to say).
    func report(after graph: Graph) -> String?
}

extension Pass {
    public static var options: [PassOptionSpec] { [] }

    /// Nothing to report by default.
    public func report(after graph: Graph) -> String? { nil }
}

/// An error of the pass library: a bad pipeline, an unknown pass or option, a failing pass or a
/// verifier failure after a pass. The message says what is valid where that helps.
public struct PassError: Error, Equatable, CustomStringConvertible {
    public var message: String

    public init(_ message: String) { self.message = message }

    public var description: String { message }
}
