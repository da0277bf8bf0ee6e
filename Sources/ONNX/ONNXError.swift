// ONNXError: import and export errors, naming the file, the node (when there is one) and the reason.

/// An error reading or writing an ONNX file. The description names the file and, when there is
/// one, the node (its name, op type and the model's opset), then the reason.
public struct ONNXError: Error, CustomStringConvertible {
    public var file: String
    public var node: String?
    public var message: String

    public init(file: String, node: String? = nil, _ message: String) {
        self.file = file
        self.node = node
        self.message = message
    }

    public var description: String {
        if let node { return "\(file): node \(node): \(message)" }
        return "\(file): \(message)"
    }
}
