// IRError: the one error type of the IR library, naming the node (when there is one) and the reason.

/// An error raised by IR construction, shape inference, verification or parsing.
public struct IRError: Error, Equatable, CustomStringConvertible {
    /// The name of the node the error is about, when there is one.
    public var node: String?
    /// What is wrong, in words a user can act on.
    public var message: String

    public init(_ message: String, node: String? = nil) {
        self.message = message
        self.node = node
    }

    public var description: String {
        if let node { return "node '\(node)': \(message)" }
        return message
    }
}
