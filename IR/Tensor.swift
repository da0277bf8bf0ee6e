// Tensor: a dense float32 constant (weights) with its shape, or an elided placeholder parsed from text.

/// A dense float32 tensor in row-major (C) order. Weights and other constants of the IR are tensors.
///
/// A tensor parsed from textual IR whose data was printed elided keeps only its shape: `isElided` is
/// true and `scalars` is empty. Such a graph can be printed, verified and costed, but not executed.
public struct Tensor: Equatable, Sendable {
    /// The dimensions, outermost first.
    public var shape: [Int]
    /// The elements in row-major order; `count == shape.product` unless elided.
    public var scalars: [Float]
    /// True when the data is absent (parsed from elided text).
    public var isElided: Bool

    /// A dense tensor. The scalar count must equal the product of the shape.
    public init(shape: [Int], scalars: [Float]) {
        precondition(shape.allSatisfy { $0 >= 0 }, "negative dimension in tensor shape \(shape)")
        precondition(scalars.count == shape.elementCount, "tensor of shape \(shape) given \(scalars.count) scalars")
        self.shape = shape
        self.scalars = scalars
        self.isElided = false
    }

    /// A tensor filled with one value.
    public init(shape: [Int], repeating value: Float) {
        self.init(shape: shape, scalars: [Float](repeating: value, count: shape.elementCount))
    }

    /// A scalar (rank-0) tensor.
    public init(scalar: Float) {
        self.init(shape: [], scalars: [scalar])
    }

    /// A placeholder with a shape but no data, as parsed from elided textual IR.
    public static func elided(shape: [Int]) -> Tensor {
        var t = Tensor(shape: [], scalars: [0])
        t.shape = shape
        t.scalars = []
        t.isElided = true
        return t
    }

    /// The number of elements the shape holds.
    public var count: Int { shape.elementCount }

    public static func == (a: Tensor, b: Tensor) -> Bool {
        a.shape == b.shape && a.isElided == b.isElided && a.scalars.count == b.scalars.count
            && a.scalars.withUnsafeBytes { x in b.scalars.withUnsafeBytes { y in x.elementsEqual(y) } }
    }

    /// The IR type of this tensor (all dimensions fixed).
    public var type: TensorType { TensorType(shape: shape) }
}

extension Array where Element == Int {
    /// The product of the elements (1 for an empty array): the element count of a shape.
    public var elementCount: Int { reduce(1, *) }
}
