// RuntimeError: the one error type of the runtime, naming the node or input it is about.

/// An error raised while executing a graph or reading and writing array files.
public struct RuntimeError: Error, Equatable, CustomStringConvertible {
    /// The node, graph input or file the error is about, when there is one (already quoted and
    /// labelled, e.g. `node 'conv1'`, `input 'x'`, `file 'a.npy'`).
    public var subject: String?
    /// What is wrong, in words a user can act on.
    public var message: String

    public init(_ message: String, subject: String? = nil) {
        self.message = message
        self.subject = subject
    }

    /// An error about a node of the graph.
    public static func node(_ name: String, _ message: String) -> RuntimeError {
        RuntimeError(message, subject: "node '\(name)'")
    }

    /// An error about a graph input.
    public static func input(_ name: String, _ message: String) -> RuntimeError {
        RuntimeError(message, subject: "input '\(name)'")
    }

    /// An error about a file.
    public static func file(_ path: String, _ message: String) -> RuntimeError {
        RuntimeError(message, subject: "file '\(path)'")
    }

    public var description: String {
        if let subject { return "\(subject): \(message)" }
        return message
    }
}
