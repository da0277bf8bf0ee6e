// TestSupportAlias: the ONNX tests' name for the shared TestSupport helpers, with their fixture folder.
import Foundation
import TestSupport

typealias DecoderTestSupport = TestSupport

extension TestSupport {
    /// Tests/ONNXTests/Fixtures.
    static var fixtures: URL { fixtures(of: "ONNXTests") }
}
