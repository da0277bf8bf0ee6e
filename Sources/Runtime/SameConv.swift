// SameConv: stride-1 convolutions whose output planes are as large as their input's (and stride-2 ones by phases), as an implicit GEMM (no im2col).
import CKernels
import Foundation
import IR

/// The AVX-512 kernel of `Sources/CKernels/same_conv.c` for the interpreter's batched convolutions.
///
/// With stride 1 and output planes the size of the input planes, the input a kernel tap reads for
/// output pixel t of a plane is pixel t + dy·W + dx of the same plane: one shift per tap for the
/// whole plane, and (CNHW) for all the images of a channel, which follow one another. The kernel
/// loads those shifted vectors straight from the input, masking the lanes whose tap falls in the
/// padding, so there is no im2col matrix to write and no GEMM packing to read it again (together
/// about half of a batch-64 ResNet-20's time on OpenBLAS); bias, a residual Add and a Relu or Clip
/// are applied while the outputs are still in registers. Each output is summed in one fixed order
/// whatever the split between threads, so results do not depend on the thread count.
///
/// It runs only where the CPU has AVX-512F and the environment does not set S2DC_NO_SAME_CONV
/// (which turns off the AVX-512 depthwise kernel too, to time or test the portable paths);
/// elsewhere the caller's im2col + sgemm path runs.
enum SameConv {
    /// Whether the kernels can run on this machine.
    static let available: Bool = s2dc_same_conv_available() != 0
        && ProcessInfo.processInfo.environment["S2DC_NO_SAME_CONV"] == nil
    /// Cleared by tests to compare with the portable paths inside one process.
    nonisolated(unsafe) static var enabled = true

    /// Whether `run` handles this convolution: one group, stride 1, planes of equal size in and
    /// out, and the planes of a channel consecutive across the batch in the input (CNHW, or a
    /// single input channel) and the output (CNHW).
    static func applies(cin: Int, group: Int, _ g: WindowGeometry, input: PlaneLayout, output: PlaneLayout) -> Bool {
        available && enabled && group == 1 && g.strideH == 1 && g.strideW == 1 && g.outHeight == g.height
            && g.outWidth == g.width && g.kernelH * g.kernelW <= 64 && cin > 0
            && input.imageStride == g.inPixels && output.imageStride == g.outPixels
    }

    /// Whether `run` handles this stride-2 convolution: one group, no dilation, input planes
    /// exactly twice the output's height and width, and the layouts `applies` asks for. The input
    /// is split into its four phases (even and odd rows and columns), each as large as an output
    /// plane, and each tap reads one phase shifted by at most one pixel: a same-size convolution
    /// again, at the cost of one copy of the input.
    static func appliesStrideTwo(cin: Int, group: Int, _ g: WindowGeometry, input: PlaneLayout, output: PlaneLayout) -> Bool {
        available && enabled && group == 1 && g.strideH == 2 && g.strideW == 2 && g.dilationH == 1 && g.dilationW == 1
            && g.height == 2 * g.outHeight && g.width == 2 * g.outWidth && g.kernelH * g.kernelW <= 64 && cin > 0
            && input.imageStride == g.inPixels && output.imageStride == g.outPixels
    }

    /// Whether `run` handles this convolution (`applies` or `appliesStrideTwo`).
    static func handles(cin: Int, group: Int, _ g: WindowGeometry, input: PlaneLayout, output: PlaneLayout) -> Bool {
        applies(cin: cin, group: group, g, input: input, output: output)
            || appliesStrideTwo(cin: cin, group: group, g, input: input, output: output)
    }

    /// Writes the four phases of each input channel (CNHW planes of `g.height`×`g.width`) one after
    /// another: phase 2a + b of channel c, at (4c + 2a + b)·columns, holds rows 2i + a, columns 2j + b.
    static func splitPhases(_ x: UnsafePointer<Float>, into split: UnsafeMutablePointer<Float>, channels: Int,
                                    batch n: Int, _ g: WindowGeometry, input: PlaneLayout) {
        let ho = g.outHeight, wo = g.outWidth, columns = n * g.outPixels
        Parallel.forEach(channels) { _, range in
            for c in range {
                let src = x + c * input.channelStride, dst = split + c * 4 * columns
                for i in 0..<n {
                    for oy in 0..<ho {
                        for a in 0..<2 {
                            let row = src + i * input.imageStride + (2 * oy + a) * g.width
                            let even = dst + 2 * a * columns + i * g.outPixels + oy * wo, odd = even + columns
                            for ox in 0..<wo {
                                even[ox] = row[2 * ox]
                                odd[ox] = row[2 * ox + 1]
                            }
                        }
                    }
                }
            }
        }
    }

    /// The clamp bounds of a Relu or Clip, which the kernels apply themselves; nil for any other
    /// activation.
    static func bounds(_ activation: FusedActivation?) -> (lo: Float, hi: Float)? {
        switch activation {
        case .none: return (-.infinity, .infinity)
        case .relu: return (0, .infinity)
        case .clip(let min, let max): return (min, max)
        default: return nil
        }
    }

    /// Computes the convolution (plus `residual`, laid out as the output, when given) into `y` and
    /// returns true when it `handles` it; false, with nothing written, otherwise.
    static func run(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ bias: UnsafePointer<Float>?,
                    _ y: UnsafeMutablePointer<Float>, batch n: Int, cin: Int, cout: Int, group: Int, _ g: WindowGeometry,
                    input: PlaneLayout, output: PlaneLayout, activation: FusedActivation?,
                    residual: UnsafePointer<Float>? = nil) -> Bool {
        let strideTwo = appliesStrideTwo(cin: cin, group: group, g, input: input, output: output)
        guard strideTwo || applies(cin: cin, group: group, g, input: input, output: output) else { return false }
        let columns = n * g.outPixels
        var source = x, channelStride = input.channelStride
        let split = UnsafeMutablePointer<Float>.allocate(capacity: strideTwo ? cin * 4 * columns : 0)
        defer { split.deallocate() }
        if strideTwo {
            splitPhases(x, into: split, channels: cin, batch: n, g, input: input)
            source = UnsafePointer(split)
            channelStride = 4 * columns
        }
        // Any activation other than Relu and Clip runs after the kernel.
        let (lo, hi) = bounds(activation) ?? (-.infinity, .infinity)
        let after = bounds(activation) == nil ? activation : nil
        let k = cin * g.kernelH * g.kernelW
        let packed = UnsafeMutablePointer<Float>.allocate(capacity: s2dc_packed_weights_count(cout, k))
        defer { packed.deallocate() }
        s2dc_pack_weights(w, cout, k, packed)
        var shape = s2dc_same_conv(
            channels: cin, in_channel_stride: channelStride, out_channel_stride: output.channelStride,
            height: g.outHeight, width: g.outWidth, kernel_h: g.kernelH, kernel_w: g.kernelW, pad_top: g.padTop,
            pad_left: g.padLeft, dilation_h: g.dilationH, dilation_w: g.dilationW, columns: columns,
            phases: strideTwo ? 2 : 1, lo: lo, hi: hi)
        let panel = 48   // the kernel's columns per panel: parts split on panel boundaries
        let panels = (columns + panel - 1) / panel
        withUnsafePointer(to: &shape) { shape in
            Parallel.forEach(panels, grain: 4) { _, range in
                let first = range.lowerBound * panel, end = min(columns, range.upperBound * panel)
                s2dc_same_conv_run(source, packed, bias, residual, y, cout, shape, first, end)
                if let after {
                    for o in 0..<cout {
                        Kernels.apply(after.op, UnsafeMutableBufferPointer(start: y + o * output.channelStride + first,
                                                                           count: end - first))
                    }
                }
            }
        }
        return true
    }
}

extension SameConv {
    /// The smallest batch `runTransposing` takes: one image's planes are too few columns to pay
    /// for the copies (a 7×7 plane is one 48-column panel).
    static let minimumTransposedBatch = 2

    /// `run` for NCHW input and output: the batch is copied into CNHW, convolved there, and the
    /// result copied back, which costs two copies of the data against im2col's kh·kw-fold one
    /// plus OpenBLAS's packing of it (the trainer's forward and flipped-weight input-gradient
    /// convolutions). Same floats as `run` on CNHW data, whatever the thread count. False, with
    /// nothing written, where `run` does not handle the convolution.
    static func runTransposing(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ bias: UnsafePointer<Float>?,
                               _ y: UnsafeMutablePointer<Float>, batch n: Int, cin: Int, cout: Int, group: Int,
                               _ g: WindowGeometry, activation: FusedActivation?) -> Bool {
        let input = PlaneLayout.cnhw(batch: n, plane: g.inPixels), output = PlaneLayout.cnhw(batch: n, plane: g.outPixels)
        // 1×1 convolutions stay with the caller's plain GEMM, which reads NCHW as it is.
        guard n >= minimumTransposedBatch, g.kernelH * g.kernelW > 1,
              handles(cin: cin, group: group, g, input: input, output: output) else { return false }
        let xc = UnsafeMutablePointer<Float>.allocate(capacity: n * cin * g.inPixels)
        let yc = UnsafeMutablePointer<Float>.allocate(capacity: n * cout * g.outPixels)
        defer { xc.deallocate(); yc.deallocate() }
        transposeBatch(UnsafePointer(x), into: xc, outer: n, inner: cin, plane: g.inPixels)
        guard run(UnsafePointer(xc), w, bias, yc, batch: n, cin: cin, cout: cout, group: group, g, input: input, output: output,
                  activation: activation) else { return false }
        transposeBatch(UnsafePointer(yc), into: y, outer: cout, inner: n, plane: g.outPixels)
        return true
    }

    /// dst[j][i] = src[i][j] for planes of `plane` floats, i < outer, j < inner (NCHW ↔ CNHW).
    static func transposeBatch(_ src: UnsafePointer<Float>, into dst: UnsafeMutablePointer<Float>, outer: Int,
                                       inner: Int, plane: Int) {
        Parallel.forEach(outer) { _, range in
            for i in range {
                for j in 0..<inner {
                    (dst + (j * outer + i) * plane).update(from: src + (i * inner + j) * plane, count: plane)
                }
            }
        }
    }
}

extension Kernels {
    /// conv(x) + residual, then `activation` (a residual block's Add and its Relu), in one pass
    /// when SameConv takes the convolution (batched CNHW data, a Relu, Clip or no activation);
    /// nil otherwise, for the caller to run the two ops one after the other. Same floats either way:
    /// the kernel rounds the convolution's sum before adding the residual, as the Add would.
    static func sameConvAdding(_ x: StoredTensor, weight: Tensor, bias: Tensor?, attributes a: ConvAttributes,
                               residual: StoredTensor, outputShape: [Int], activation: FusedActivation?) -> Tensor? {
        let shape = x.tensor.shape
        guard shape.count == 4, shape[0] > 1, a.activation == nil, residual.layout == .cnhw,
              residual.tensor.shape == outputShape, SameConv.bounds(activation) != nil,
              let g = WindowGeometry(input: shape, output: outputShape, kernel: a.kernel, strides: a.strides,
                                     pads: a.pads, dilations: a.dilations) else { return nil }
        let n = shape[0], cin = shape[1], cout = outputShape[1]
        let input = PlaneLayout(x.layout, shape: shape), output = PlaneLayout(.cnhw, shape: outputShape)
        guard SameConv.handles(cin: cin, group: a.group, g, input: input, output: output) else { return nil }
        return Tensor.filled(shape: outputShape) { out in
            guard let yp = out.baseAddress else { return }
            x.tensor.scalars.withUnsafeBufferPointer { xb in
                weight.scalars.withUnsafeBufferPointer { wb in
                    residual.tensor.scalars.withUnsafeBufferPointer { rb in
                        guard let xp = xb.baseAddress, let wp = wb.baseAddress else { return }
                        let run = { (bp: UnsafePointer<Float>?) in
                            _ = SameConv.run(xp, wp, bp, yp, batch: n, cin: cin, cout: cout, group: a.group, g,
                                             input: input, output: output, activation: activation, residual: rb.baseAddress)
                        }
                        if let bias { bias.scalars.withUnsafeBufferPointer { run($0.baseAddress) } } else { run(nil) }
                    }
                }
            }
        }
    }
}
