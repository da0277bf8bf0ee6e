// TensorBuffers: building tensors from kernels' output loops, and row-major strides.
import IR

extension Tensor {
    /// A tensor of `shape` whose every element `body` writes (the buffer starts uninitialized).

    static func filled(shape: [Int], _ body: (UnsafeMutableBufferPointer<Float>) throws -> Void) rethrows -> Tensor {
        let n = shape.elementCount
        let scalars = try [Float](unsafeUninitializedCapacity: n) { buffer, count in
            try body(buffer)
            count = n
        }
        return Tensor(shape: shape, scalars: scalars)
    }

    /// A tensor of `shape` filled with zeros, then changed by `body` (for kernels that accumulate).

    static func zeros(shape: [Int], _ body: (UnsafeMutableBufferPointer<Float>) throws -> Void) rethrows -> Tensor {
        var scalars = [Float](repeating: 0, count: shape.elementCount)
        try scalars.withUnsafeMutableBufferPointer { try body($0) }
        return Tensor(shape: shape, scalars: scalars)
    }

    /// The same elements under another shape of the same element count (no copy: arrays share
    /// storage until one is written).
    func reshaped(_ newShape: [Int]) -> Tensor {
        Tensor(shape: newShape, scalars: scalars)
    }
}

