// BLASSettings: OpenBLAS's thread count and kernel choice, so that figures are honest and fast.
import COpenBLAS
import Foundation

/// Settings of the BLAS library under the kernels.
///
/// The runtime's own kernels split their work over as many threads (see `Parallel`). Benchmarks
/// that compare against a single-threaded peer set `BLASThreads.count = 1` first.
public enum BLASThreads {
    /// The number of threads OpenBLAS may use. Setting it applies to the whole process.
    public static var count: Int {
        get { BLASKernels.prepare(); return Int(openblas_get_num_threads()) }
        set {
            BLASKernels.prepare()
            openblas_set_num_threads(Int32(max(1, newValue)))
            Parallel.threads = max(1, newValue)  // the runtime's own kernels split work as far
        }
    }

    /// OpenBLAS's own description of its build (version, target CPU, threading model).
    public static var configuration: String {
        guard let c = openblas_get_config() else { return "unknown" }
        return String(cString: c)
    }
}

/// Which OpenBLAS kernels run the GEMMs.
///
/// A DYNAMIC_ARCH OpenBLAS (Debian's) chooses its kernels when it loads, from OPENBLAS_CORETYPE or
/// the CPU model. Version 0.3.21 (Debian 12's) knows AMD CPUs by family, and reports some that have
/// AVX-512 (Zen 4) as "Zen", whose AVX2 kernels reach about half the GEMM speed of its "SkylakeX"
/// AVX-512 kernels on the same CPU. `prepare()` re-runs the choice with SkylakeX when the CPU has
/// the AVX-512 subsets those kernels use (F, DQ, BW, VL) and OpenBLAS chose an AVX2 core itself. It leaves OpenBLAS alone
/// when OPENBLAS_CORETYPE is set (the user's choice wins, `OPENBLAS_CORETYPE=Haswell` keeps the
/// AVX2 kernels) or when the library is not a DYNAMIC_ARCH build (the entry points are missing).
public enum BLASKernels {
    /// The OpenBLAS core whose kernels run, e.g. "SkylakeX" or "Haswell".
    public static var coreName: String {
        prepare()
        return currentCoreName() ?? "unknown"
    }

    /// Runs the kernel choice once; every entry point of the runtime that reaches BLAS calls it.
    public static func prepare() { _ = prepared }

    private static let prepared: Bool = {
        guard ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"] == nil,
              let core = currentCoreName(), ["haswell", "zen"].contains(core.lowercased()),
              cpuHasAVX512(),
              let quit = symbol("gotoblas_dynamic_quit"), let initialize = symbol("gotoblas_dynamic_init") else {
            return false
        }
        typealias Entry = @convention(c) () -> Void
        setenv("OPENBLAS_CORETYPE", "SkylakeX", 1)
        unsafeBitCast(quit, to: Entry.self)()
        unsafeBitCast(initialize, to: Entry.self)()
        // Children (python, onnxruntime in tests) must not inherit the override.
        unsetenv("OPENBLAS_CORETYPE")
        return true
    }()

    private static func symbol(_ name: String) -> UnsafeMutableRawPointer? {
        // A nil handle is RTLD_DEFAULT on glibc: search every loaded library.
        dlsym(nil, name)
    }

    private static func currentCoreName() -> String? {
        guard let name = openblas_get_corename() else { return nil }
        return String(cString: name)
    }

    /// True when /proc/cpuinfo lists the AVX-512 subsets OpenBLAS's SkylakeX kernels use. (Read
    /// with stdio: /proc files report size 0, which whole-file readers take at its word.)
    private static func cpuHasAVX512() -> Bool {
        guard let file = fopen("/proc/cpuinfo", "r") else { return false }
        defer { fclose(file) }
        var line: UnsafeMutablePointer<CChar>?
        var capacity = 0
        defer { free(line) }
        while getline(&line, &capacity, file) > 0, let text = line.map({ String(cString: $0) }) {
            guard text.hasPrefix("flags") else { continue }
            let set = Set(text.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" }).map(String.init))
            return ["avx512f", "avx512dq", "avx512bw", "avx512vl"].allSatisfy(set.contains)
        }
        return false
    }
}
