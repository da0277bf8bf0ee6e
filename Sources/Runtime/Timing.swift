// Timing: the latency of graph execution alone, for `s2dc run --timing` and the benchmark.
import Foundation
import IR

extension Interpreter {
    /// Runs the graph `repeats` times after one warm-up run and returns each run's wall time in
    /// seconds (input checks and kernels; no file reading, no printing).
    public func measure(_ inputs: [String: Tensor], repeats: Int) throws -> [Double] {
        _ = try run(inputs)
        var times: [Double] = []
        times.reserveCapacity(repeats)
        for _ in 0..<max(1, repeats) {
            let start = DispatchTime.now().uptimeNanoseconds
            _ = try run(inputs)
            times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        }
        return times
    }
}

extension Array where Element == Double {
    /// The median (the mean of the middle two for an even count); 0 when empty.
    public var median: Double {
        guard !isEmpty else { return 0 }
        let s = sorted()
        return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
    }
}
