// BLASThreads: the number of threads OpenBLAS uses, so that single-thread figures are honest.
import COpenBLAS

/// Settings of the BLAS library under the kernels.
///
/// The runtime's own kernels run on the calling thread; only `cblas_sgemm` may use more. Benchmarks
/// that compare against a single-threaded peer set `BLASThreads.count = 1` first.
public enum BLASThreads {
    /// The number of threads OpenBLAS may use. Setting it applies to the whole process.
    public static var count: Int {
        get { Int(openblas_get_num_threads()) }
        set { openblas_set_num_threads(Int32(max(1, newValue))) }
    }

    /// OpenBLAS's own description of its build (version, target CPU, threading model).
    public static var configuration: String {
        guard let c = openblas_get_config() else { return "unknown" }
        return String(cString: c)
    }
}
