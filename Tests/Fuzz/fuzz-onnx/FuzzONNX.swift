// fuzz-onnx: the libFuzzer executable of ONNXTarget (`make fuzz`); built without libFuzzer, it replays files.

import FuzzTargets

/// libFuzzer's entry point: one input per call; a bug traps inside the target.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    ONNXTarget.run(Replay.bytes(data, size))
    return 0
}

@main
struct FuzzMain {
    static func main() { FuzzDriver.main(entry: fuzzOneInput, replay: ONNXTarget.run) }
}
