// fuzz-ir: the libFuzzer executable of IRTarget (`make fuzz`); built without libFuzzer, it replays files.

import Foundation
import FuzzTargets

/// libFuzzer's entry point: one input per call; a bug traps inside the target.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    IRTarget.run(Replay.bytes(data, size))
    return 0
}

#if S2DC_LIBFUZZER
/// libFuzzer's driver (in the libFuzzer runtime that -sanitize=fuzzer links). SwiftPM points the
/// executable's entry at this module's main, so main hands over to libFuzzer itself.
@_silgen_name("LLVMFuzzerRunDriver")
func runFuzzerDriver(_ argc: UnsafeMutablePointer<CInt>,
                     _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
                     _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt) -> CInt
#endif

@main
struct FuzzMain {
    static func main() {
        #if S2DC_LIBFUZZER
        var argc = CommandLine.argc
        var argv = CommandLine.unsafeArgv
        exit(runFuzzerDriver(&argc, &argv, fuzzOneInput))
        #else
        // The ordinary build replays the files or folders it is given.
        exit(Replay.main(Array(CommandLine.arguments.dropFirst()), IRTarget.run))
        #endif
    }
}
