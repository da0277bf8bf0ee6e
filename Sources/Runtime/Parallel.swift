// Parallel: splits a kernel's independent work over the process's threads (Dispatch's concurrentPerform).
import COpenBLAS
import Dispatch

/// The runtime's own kernels (im2col and col2im, BatchNormalization, activations, the optimizer)
/// run on `threads` threads, the count `BLASThreads.count` sets. Inside a parallel region every
/// sgemm runs on its calling thread (OpenBLAS is set to one thread for the region's length), so a
/// kernel that splits a batch between two threads gets each GEMM on one core instead of two cores
/// fighting over one small GEMM.
///
/// Work is split into contiguous ranges, one per thread, decided by the count alone: a kernel whose
/// parts are independent (per image, per channel, per element) gives the same result for every
/// thread count; one that sums over parts (a weight gradient over the images of a batch) sums the
/// parts in a fixed order, so it is deterministic for a given thread count.
enum Parallel {
    /// Threads a region splits over; `BLASThreads.count` sets it, and until then it is OpenBLAS's
    /// own default (OPENBLAS_NUM_THREADS, else the number of cores).
    nonisolated(unsafe) static var threads: Int = {
        BLASKernels.prepare()
        return max(1, Int(openblas_get_num_threads()))
    }()
    /// True while a region runs: nested regions run serially on their caller's thread.
    nonisolated(unsafe) private static var active = false

    /// The number of parts `parallelFor` splits `count` items into, at least `grain` items each.
    static func parts(_ count: Int, grain: Int = 1) -> Int {
        active ? 1 : max(1, min(threads, count / max(1, grain)))
    }

    /// Part `part` of `count` items split into `parts` contiguous ranges (the first ones one longer).
    static func range(_ part: Int, of parts: Int, count: Int) -> Range<Int> {
        let base = count / parts, extra = count % parts
        let start = part * base + min(part, extra)
        return start..<(start + base + (part < extra ? 1 : 0))
    }

    /// Calls `body(part, range)` for each of `parts(count, grain)` contiguous ranges covering
    /// 0..<count, concurrently when there are several. `body` must only write what its range owns.
    static func forEach(_ count: Int, grain: Int = 1, _ body: (_ part: Int, _ range: Range<Int>) -> Void) {
        let n = parts(count, grain: grain)
        guard n > 1 else {
            if count > 0 { body(0, 0..<count) }
            return
        }
        BLASKernels.prepare()
        let blas = openblas_get_num_threads()
        openblas_set_num_threads(1)
        active = true
        DispatchQueue.concurrentPerform(iterations: n) { part in
            body(part, range(part, of: n, count: count))
        }
        active = false
        openblas_set_num_threads(blas)
    }

    /// `forEach` over the elements of a buffer in chunks of at least `grain` elements (memory-bound
    /// loops gain nothing from a second thread on small tensors).
    static func forEachChunk(_ count: Int, grain: Int = 1 << 15, _ body: (Range<Int>) -> Void) {
        forEach(count, grain: grain) { _, r in body(r) }
    }
}
