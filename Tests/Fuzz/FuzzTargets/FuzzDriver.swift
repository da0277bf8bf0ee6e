// FuzzDriver: the main of the fuzz executables: libFuzzer's driver in the fuzz build, a replay of files otherwise.

import Foundation

#if S2DC_LIBFUZZER
/// libFuzzer's driver, in the libFuzzer runtime that `-sanitize=fuzzer` links into the executable.
@_silgen_name("LLVMFuzzerRunDriver")
func runFuzzerDriver(_ argc: UnsafeMutablePointer<CInt>,
                     _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
                     _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt) -> CInt
#endif

/// What a fuzz executable's `main` does. SwiftPM points an executable's entry at its module's
/// `@main` even in the fuzz build (where libFuzzer would bring a `main` of its own), so `main`
/// hands over to libFuzzer itself.
public enum FuzzDriver {
    /// In the fuzz build (`-D S2DC_LIBFUZZER`), runs libFuzzer on `entry` with the command line's
    /// options; otherwise replays the files and folders named on the command line through `replay`.
    public static func main(entry: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt, replay: ([UInt8]) -> Bool) -> Never {
        #if S2DC_LIBFUZZER
        var argc = CommandLine.argc
        var argv = CommandLine.unsafeArgv
        exit(runFuzzerDriver(&argc, &argv, entry))
        #else
        exit(Replay.main(Array(CommandLine.arguments.dropFirst()), replay))
        #endif
    }
}
