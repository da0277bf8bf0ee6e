// ONNXLoader: reads an ONNX file and imports it into an IR graph in one call.

import IR

/// Loads ONNX files: decode (protobuf) and import (op table, shape folding) in one step.
public enum ONNXLoader {
    /// The IR graph of the model at `path`. Errors name the file and, where there is one, the node.
    public static func load(path: String, options: ImportOptions = .init()) throws -> Graph {
        let model = try ONNXDecoder.decodeModel(fileAt: path)
        return try ONNXImporter.importModel(model, file: path, options: options)
    }
}
