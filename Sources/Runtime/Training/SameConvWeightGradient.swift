// SameConvWeightGradient: a convolution's weight gradient on the AVX-512 kernel, read from the planes in place (no im2col).
import CKernels
import Foundation
import IR

extension ConvGradients {
    /// dW of a convolution `SameConv` handles (one group, a k×k kernel larger than 1×1, stride 1
    /// with same-size planes or stride 2 by phases), for NCHW batches of at least two images:
    /// the input and the output gradient are copied into CNHW (the input split into its phases
    /// for stride 2), then `s2dc_same_conv_weight_gradient` sums dY·X for every tap straight
    /// from the shifted planes, masking the taps that fall outside the image — instead of an
    /// im2col matrix kh·kw times the input's size and OpenBLAS's packing of it. The columns are
    /// split between the threads on the kernel's column chunks, partial gradients summed in
    /// part order (`forEachPart`), so a thread count always gives the same floats. Nil, with
    /// nothing computed, where the kernel does not apply.
    static func sameConvWeightGradient(x: Tensor, dy: Tensor, weightShape: [Int], group: Int, _ g: WindowGeometry) -> Tensor? {
        let n = x.shape[0], cin = x.shape[1], cout = dy.shape[1]
        let input = PlaneLayout.cnhw(batch: n, plane: g.inPixels), output = PlaneLayout.cnhw(batch: n, plane: g.outPixels)
        guard SameConv.available, SameConv.enabled, n >= SameConv.minimumTransposedBatch, g.kernelH * g.kernelW > 1,
              SameConv.handles(cin: cin, group: group, g, input: input, output: output) else { return nil }
        let strideTwo = g.strideH == 2
        let columns = n * g.outPixels
        let xc = UnsafeMutablePointer<Float>.allocate(capacity: strideTwo ? cin * 4 * columns : n * cin * g.inPixels)
        let dyc = UnsafeMutablePointer<Float>.allocate(capacity: n * cout * g.outPixels)
        defer { xc.deallocate(); dyc.deallocate() }
        x.scalars.withUnsafeBufferPointer { xb in
            guard let xp = xb.baseAddress else { return }
            if strideTwo {
                SameConv.splitPhases(xp, into: xc, channels: cin, batch: n, g, input: .nchw(channels: cin, plane: g.inPixels))
            } else {
                SameConv.transposeBatch(xp, into: xc, outer: n, inner: cin, plane: g.inPixels)
            }
        }
        dy.scalars.withUnsafeBufferPointer { db in
            guard let dp = db.baseAddress else { return }
            SameConv.transposeBatch(dp, into: dyc, outer: n, inner: cout, plane: g.outPixels)
        }
        var shape = s2dc_same_conv(
            channels: cin, in_channel_stride: strideTwo ? 4 * columns : columns, out_channel_stride: columns,
            height: g.outHeight, width: g.outWidth, kernel_h: g.kernelH, kernel_w: g.kernelW, pad_top: g.padTop,
            pad_left: g.padLeft, dilation_h: g.dilationH, dilation_w: g.dilationW, columns: columns,
            phases: strideTwo ? 2 : 1, lo: -.infinity, hi: .infinity)
        let weights = weightShape.reduce(1, *)
        let chunk = Int(S2DC_WEIGHT_GRADIENT_CHUNK), chunks = (columns + chunk - 1) / chunk
        let dw = Tensor.filled(shape: weightShape) { out in
            guard let dwp = out.baseAddress else { return }
            out.update(repeating: 0)
            withUnsafePointer(to: &shape) { shape in
                forEachPart(of: chunks, weightGradient: dwp, weightCount: weights) { range, part in
                    guard let part else { return }
                    s2dc_same_conv_weight_gradient(xc, dyc, part, cout, shape, range.lowerBound * chunk,
                                                   min(columns, range.upperBound * chunk))
                }
            }
        }
        return dw
    }
}
