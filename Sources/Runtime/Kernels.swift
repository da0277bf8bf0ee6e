// Kernels: the namespace of the compute kernels, one extension per kernel family in its own file.

/// The runtime's kernels: float32, row-major (NCHW for images), any batch size. Each takes its
/// inputs as tensors and the output shape that shape inference gave, and returns a new tensor.
///
/// `Kernels.execute(_:_:)` (in KernelDispatch.swift) runs any IR op; the per-family functions are
/// public so that later parts (training, search) can call one kernel directly.
public enum Kernels {}

/// Eight floats from `p` (any alignment).
@inline(__always)
func load8(_ p: UnsafePointer<Float>) -> SIMD8<Float> {
    UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Float>.self)
}

/// Stores eight floats at `p` (any alignment).
@inline(__always)
func store8(_ v: SIMD8<Float>, _ p: UnsafeMutablePointer<Float>) {
    UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD8<Float>.self)
}
