// MemoryPlanner: assigns arena offsets to buffers from their lifetimes (greedy by size).

/// A block of the arena needed from step `first` through step `last` (inclusive).
public struct BufferRequest: Hashable, Sendable {
    public var id: String
    /// Size in floats.
    public var size: Int
    public var first: Int
    public var last: Int

    public init(id: String, size: Int, first: Int, last: Int) {
        self.id = id
        self.size = size
        self.first = first
        self.last = last
    }
}

/// Where each buffer lies in the arena, and how large the arena is.
public struct MemoryPlan: Sendable {
    /// Offset in floats of every buffer, by id.
    public var offsets: [String: Int]
    /// Arena size in floats.
    public var arenaFloats: Int
    /// Sum of all buffer sizes (what an arena without reuse would need), in floats.
    public var totalFloats: Int
}

/// Plans an arena: two buffers may share addresses only when their lifetimes do not overlap.
///
/// Greedy by size (as TensorFlow Lite's arena planner): the largest buffers are placed first, each
/// at the lowest aligned offset that clears every already placed buffer alive at the same time.
/// Lifetimes are explicit intervals, so a caller keeps a value alive longer (a value a later stage
/// of a dynamic network reads) by widening its interval.
public enum MemoryPlanner {
    /// Offsets are multiples of this many floats (64 bytes), so every buffer starts on a cache line
    /// and vector loads of whole rows stay aligned.
    public static let alignment = 16

    public static func plan(_ requests: [BufferRequest]) -> MemoryPlan {
        let order = requests.sorted { ($0.size, $1.id) > ($1.size, $0.id) }
        var placed: [(offset: Int, request: BufferRequest)] = []
        var offsets: [String: Int] = [:]
        var arena = 0
        for r in order {
            let conflicts = placed.filter { $0.request.first <= r.last && r.first <= $0.request.last && $0.request.size > 0 }
                .sorted { $0.offset < $1.offset }
            var offset = 0
            for c in conflicts {
                if offset + r.size <= c.offset { break }
                offset = max(offset, align(c.offset + c.request.size))
            }
            offsets[r.id] = offset
            placed.append((offset, r))
            arena = max(arena, offset + r.size)
        }
        return MemoryPlan(offsets: offsets, arenaFloats: align(arena), totalFloats: requests.reduce(0) { $0 + $1.size })
    }

    static func align(_ n: Int) -> Int { (n + alignment - 1) / alignment * alignment }
}
