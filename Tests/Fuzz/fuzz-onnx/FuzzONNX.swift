// fuzz-onnx: the libFuzzer entry point of ONNXTarget (`make fuzz`); built without libFuzzer, it replays files.

import FuzzTargets
#if !S2DC_LIBFUZZER
import Foundation
#endif

/// libFuzzer's entry point: one input per call; a bug traps inside the target.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    ONNXTarget.run(Replay.bytes(data, size))
    return 0
}

#if !S2DC_LIBFUZZER
// libFuzzer brings its own main; the ordinary build replays the files or folders it is given.
@main
struct ReplayMain {
    static func main() { exit(Replay.main(Array(CommandLine.arguments.dropFirst()), ONNXTarget.run)) }
}
#endif
