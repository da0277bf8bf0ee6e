// RuntimeMemory: keeps freed tensor memory in the process, so each step does not fault in new pages.
import Foundation

/// The interpreter allocates a new buffer for every output and frees it after its last reader; the
/// next step asks for buffers of the same sizes. glibc by default serves large buffers with mmap
/// and returns them to the system on free, so each step would fault in (and zero) fresh pages,
/// about a tenth of a batch-64 ResNet's time. `configure()` raises the mmap and trim thresholds
/// once per process so that freed buffers are reused instead.
enum RuntimeMemory {
    static func configure() { _ = configured }

    private static let configured: Bool = {
        // mallopt is glibc's (malloc.h, which Swift's Glibc module leaves out): found at run time,
        // and skipped where the C library has none.
        guard let symbol = dlsym(nil, "mallopt") else { return false }
        typealias Mallopt = @convention(c) (Int32, Int32) -> Int32
        let mallopt = unsafeBitCast(symbol, to: Mallopt.self)
        // M_TRIM_THRESHOLD = -1, M_MMAP_THRESHOLD = -3 (malloc.h); 1 GiB each.
        _ = mallopt(-1, 1 << 30)
        _ = mallopt(-3, 1 << 30)
        return true
    }()
}
