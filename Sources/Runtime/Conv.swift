// Conv: convolution as im2col + cblas_sgemm, 1×1 as a plain sgemm, depthwise by a direct kernel.
import IR

extension Kernels {
    /// ONNX Conv over NCHW (or N×C×L, N×C×D×H×W) input. `weight` is [Cout, Cin/group, k...],
    /// `bias` [Cout] or nil; `outputShape` is what shape inference gave. The activation, when not
    /// `.none`, is applied to the result (the interpreter fuses a following Relu or Clip this way).
    public static func conv(_ x: Tensor, weight: Tensor, bias: Tensor?, attributes a: ConvAttributes,
                            outputShape: [Int], activation: Activation = .none) -> Tensor {
        let n = x.shape[0], cin = x.shape[1], cout = outputShape[1]
        let group = a.group
        let cg = cin / group, coutg = cout / group
        let outPixels = outputShape.dropFirst(2).reduce(1, *)
        let kernelSize = a.kernel.reduce(1, *)
        let k = cg * kernelSize
        var y = Tensor.filled(shape: outputShape) { out in
            guard let yp = out.baseAddress, n > 0, cout > 0, outPixels > 0 else { return }
            x.scalars.withUnsafeBufferPointer { xb in
                weight.scalars.withUnsafeBufferPointer { wb in
                    guard let xp = xb.baseAddress, let wp = wb.baseAddress else {
                        // No input channels (Cin/group = 0): the sum over nothing is 0.
                        out.update(repeating: 0)
                        return
                    }
                    if let g = WindowGeometry(input: x.shape, output: outputShape, kernel: a.kernel, strides: a.strides,
                                              pads: a.pads, dilations: a.dilations) {
                        if cg == 1 && group > 1 {
                            depthwiseConv2D(xp, wp, yp, batch: n, channels: cin, multiplier: coutg, g)
                        } else {
                            conv2D(xp, wp, yp, batch: n, cin: cin, cout: cout, group: group, k: k, g)
                        }
                    } else {
                        let spatial = x.shape.count - 2
                        let g = WindowGeometryND(input: Array(x.shape.dropFirst(2)), output: Array(outputShape.dropFirst(2)),
                                                 kernel: a.kernel, strides: a.strides, padsBegin: Array(a.pads.prefix(spatial)),
                                                 dilations: a.dilations)
                        convND(xp, wp, yp, batch: n, cin: cin, cout: cout, group: group, k: k, g)
                    }
                }
            }
        }
        addBias(&y, bias, activation: activation)
        return y
    }

    /// Adds a per-channel bias (dimension 1) and applies the activation, in one pass.
    static func addBias(_ y: inout Tensor, _ bias: Tensor?, activation: Activation) {
        guard y.shape.count >= 2 else { return }
        let n = y.shape[0], c = y.shape[1], plane = y.shape.dropFirst(2).reduce(1, *)
        if bias == nil && activation == .none { return }
        y.scalars.withUnsafeMutableBufferPointer { out in
            guard let p = out.baseAddress else { return }
            for i in 0..<n {
                for ch in 0..<c {
                    let row = UnsafeMutableBufferPointer(start: p + (i * c + ch) * plane, count: plane)
                    if let bias {
                        let b = bias.scalars[ch]
                        if b != 0 { for j in 0..<plane { row[j] += b } }
                    }
                    activation.apply(row)
                }
            }
        }
    }
}

/// Images whose output planes are smaller than this many pixels are batched into one GEMM, since
/// OpenBLAS is slow on narrow matrices (late ResNet stages at 7×7 give N = 49).
private let minimumGEMMColumns = 1024
/// The im2col scratch matrix is kept under this many floats (64 MiB).
private let maximumScratchFloats = 16 << 20

/// Regular (and grouped) 2-D convolution: one GEMM per group per chunk of images.
private func conv2D(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>,
                    batch n: Int, cin: Int, cout: Int, group: Int, k: Int, _ g: WindowGeometry) {
    let cg = cin / group, coutg = cout / group
    let pixels = g.outPixels
    let pointwise = g.kernelH == 1 && g.kernelW == 1 && g.strideH == 1 && g.strideW == 1 && g.padTop == 0
        && g.padLeft == 0 && g.outHeight == g.height && g.outWidth == g.width
    // Images per GEMM: enough to give the GEMM wide matrices, bounded by the scratch size.
    var chunk = pixels >= minimumGEMMColumns ? 1 : min(n, (minimumGEMMColumns + pixels - 1) / pixels)
    chunk = max(1, min(chunk, maximumScratchFloats / max(1, k * pixels)))
    let columns = chunk * pixels
    let needsColumns = !(pointwise && chunk == 1)
    let col = UnsafeMutablePointer<Float>.allocate(capacity: needsColumns ? k * columns : 0)
    let tmp = UnsafeMutablePointer<Float>.allocate(capacity: chunk > 1 ? coutg * columns : 0)
    defer { col.deallocate(); tmp.deallocate() }

    var first = 0
    while first < n {
        let count = min(chunk, n - first)
        for gi in 0..<group {
            let wg = w + gi * coutg * k
            let b: UnsafePointer<Float>
            let ldb: Int
            if needsColumns {
                for i in 0..<count {
                    let src = x + ((first + i) * cin + gi * cg) * g.inPixels
                    im2col2D(src, channels: cg, g, into: col, rowStride: count * pixels, columnOffset: i * pixels)
                }
                b = UnsafePointer(col); ldb = count * pixels
            } else {
                b = x + (first * cin + gi * cg) * g.inPixels; ldb = pixels
            }
            if count == 1 {
                sgemm(m: coutg, n: pixels, k: k, a: wg, lda: k, b: b, ldb: ldb,
                      c: y + (first * cout + gi * coutg) * pixels, ldc: pixels)
            } else {
                // One GEMM over the chunk, then each image's rows move to their NCHW place.
                sgemm(m: coutg, n: count * pixels, k: k, a: wg, lda: k, b: b, ldb: ldb, c: tmp, ldc: count * pixels)
                for i in 0..<count {
                    for m in 0..<coutg {
                        (y + ((first + i) * cout + gi * coutg + m) * pixels)
                            .update(from: tmp + m * count * pixels + i * pixels, count: pixels)
                    }
                }
            }
        }
        first += count
    }
}

/// Convolution over 3 or more spatial dimensions: N-d im2col, one GEMM per image and group.
private func convND(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>,
                    batch n: Int, cin: Int, cout: Int, group: Int, k: Int, _ g: WindowGeometryND) {
    let cg = cin / group, coutg = cout / group, pixels = g.outPixels
    let col = UnsafeMutablePointer<Float>.allocate(capacity: k * pixels)
    defer { col.deallocate() }
    for i in 0..<n {
        for gi in 0..<group {
            im2colND(x + (i * cin + gi * cg) * g.inPixels, channels: cg, g, into: col)
            sgemm(m: coutg, n: pixels, k: k, a: w + gi * coutg * k, lda: k, b: col, ldb: pixels,
                  c: y + (i * cout + gi * coutg) * pixels, ldc: pixels)
        }
    }
}
