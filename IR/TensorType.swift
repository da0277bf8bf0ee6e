// TensorType: the static shape of an IR value, with an optional symbolic leading batch dimension.

/// One dimension of a value's shape: a fixed size, or a symbol (only the leading batch dimension).
public enum Dim: Hashable, Sendable, CustomStringConvertible {
    case fixed(Int)
    case symbol(String)

    /// The size when fixed, nil when symbolic.
    public var value: Int? {
        if case .fixed(let v) = self { return v }
        return nil
    }

    public var description: String {
        switch self {
        case .fixed(let v): return String(v)
        case .symbol(let s): return s
        }
    }
}

/// The type of an IR value: a float32 tensor of a static shape, whose leading (batch) dimension may
/// be symbolic. Every value in the IR is float32; integer data exists only at import time.
public struct TensorType: Hashable, Sendable, CustomStringConvertible {
    public var dims: [Dim]

    public init(dims: [Dim]) { self.dims = dims }

    /// A type whose dimensions are all fixed.
    public init(shape: [Int]) { self.dims = shape.map { .fixed($0) } }

    public var rank: Int { dims.count }

    /// The shape when every dimension is fixed, nil otherwise.
    public var fixedShape: [Int]? {
        var out: [Int] = []
        out.reserveCapacity(dims.count)
        for d in dims {
            guard let v = d.value else { return nil }
            out.append(v)
        }
        return out
    }

    /// The shape with symbolic dimensions replaced by `batch` (for costing and execution).
    public func shape(batch: Int) -> [Int] {
        dims.map { $0.value ?? batch }
    }

    /// Element count, counting a symbolic dimension as `batch`.
    public func elementCount(batch: Int = 1) -> Int { shape(batch: batch).elementCount }

    /// True when the leading dimension is symbolic.
    public var hasSymbolicBatch: Bool {
        if case .symbol = dims.first { return true }
        return false
    }

    public var description: String {
        "f32[" + dims.map(\.description).joined(separator: ",") + "]"
    }
}
