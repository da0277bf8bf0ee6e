// Conv: convolution as im2col + cblas_sgemm (batched ones by SameConv where it applies, NCHW batches through CNHW copies), 1×1 as a plain sgemm, depthwise directly.
import Foundation
import IR

extension Kernels {
    /// ONNX Conv over NCHW (or N×C×L, N×C×D×H×W) input. `weight` is [Cout, Cin/group, k...],
    /// `bias` [Cout] or nil; `outputShape` is what shape inference gave. The activation, when not
    /// `.none`, is applied to the result after the bias (the interpreter fuses a following Relu or
    /// Clip this way, and passes the IR's own `ConvAttributes.activation` here).
    public static func conv(_ x: Tensor, weight: Tensor, bias: Tensor?, attributes a: ConvAttributes,
                            outputShape: [Int], activation: FusedActivation? = nil) -> Tensor {
        conv(x, weight: weight, bias: bias, attributes: a, outputShape: outputShape, activation: activation,
             input: .nchw, output: .nchw)
    }

    /// Conv reading and writing 2-D image data in the given layouts (1-D and 3-D: NCHW only).
    static func conv(_ x: Tensor, weight: Tensor, bias: Tensor?, attributes a: ConvAttributes, outputShape: [Int],
                     activation: FusedActivation?, input: DataLayout, output: DataLayout) -> Tensor {
        let n = x.shape[0], cin = x.shape[1], cout = outputShape[1]
        let group = a.group
        let cg = cin / group, coutg = cout / group
        let k = cg * a.kernel.reduce(1, *)
        let inLayout = PlaneLayout(input, shape: x.shape), outLayout = PlaneLayout(output, shape: outputShape)
        var biasApplied = false
        var y = Tensor.filled(shape: outputShape) { out in
            guard let yp = out.baseAddress, !out.isEmpty else { return }
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
                            let b = bias?.scalars ?? [Float](repeating: 0, count: cout)
                            b.withUnsafeBufferPointer { bb in
                                depthwiseConv2D(xp, wp, bb.baseAddress, yp, batch: n, channels: cin, multiplier: coutg, g,
                                                input: inLayout, output: outLayout, activation: activation,
                                                batched: output == .cnhw)
                            }
                            biasApplied = true
                        } else {
                            let b = bias?.scalars ?? [Float](repeating: 0, count: cout)
                            b.withUnsafeBufferPointer { bb in
                                // The interpreter's batched (CNHW) convolutions, where the kernel applies.
                                if output == .cnhw, SameConv.run(xp, wp, bias == nil ? nil : bb.baseAddress, yp, batch: n,
                                                                 cin: cin, cout: cout, group: group, g, input: inLayout,
                                                                 output: outLayout, activation: activation) {
                                    return
                                }
                                // NCHW batches (the trainer's forward and input-gradient convolutions)
                                // through the same kernel, by way of CNHW copies.
                                if input == .nchw, output == .nchw,
                                   SameConv.runTransposing(xp, wp, bias == nil ? nil : bb.baseAddress, yp, batch: n, cin: cin,
                                                           cout: cout, group: group, g, activation: activation) {
                                    return
                                }
                                conv2D(xp, wp, yp, batch: n, cin: cin, cout: cout, group: group, k: k, g,
                                       input: inLayout, output: outLayout, cnhwOutput: output == .cnhw,
                                       bias: bias == nil ? nil : bb.baseAddress, activation: activation)
                            }
                            biasApplied = true
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
        if !biasApplied { addBias(&y, bias, activation: activation, layout: output) }
        return y
    }

    /// Adds a per-channel bias (dimension 1) and applies the activation, in one pass.
    static func addBias(_ y: inout Tensor, _ bias: Tensor?, activation: FusedActivation?, layout: DataLayout = .nchw) {
        guard y.shape.count >= 2 else { return }
        if bias == nil && activation == .none { return }
        let n = y.shape[0], c = y.shape[1], plane = y.shape.dropFirst(2).reduce(1, *)
        // A channel's planes are one run in CNHW, N runs in NCHW.
        let (runs, run, runStride, channelStride) = layout == .cnhw ? (1, n * plane, 0, n * plane) : (n, plane, c * plane, plane)
        y.scalars.withUnsafeMutableBufferPointer { out in
            guard let p = out.baseAddress else { return }
            for ch in 0..<c {
                let b = bias?.scalars[ch] ?? 0
                for r in 0..<runs {
                    let row = UnsafeMutableBufferPointer(start: p + ch * channelStride + r * runStride, count: run)
                    if b != 0 { for j in 0..<run { row[j] += b } }
                    activation.apply(row)
                }
            }
        }
    }
}

/// Convolution tuning. Images are batched into one GEMM so that it has enough columns (OpenBLAS is
/// slow on narrow matrices: late ResNet stages give 49 columns per image), but only while the
/// im2col matrix of the chunk stays about cache-sized, since the GEMM reads it right after; an
/// image whose im2col alone is larger is done in bands of output rows.
enum ConvTuning {
    /// The im2col bytes one chunk aims for: about what stays in a core's L2 cache between im2col
    /// writing it and the GEMM reading it. The environment variable S2DC_CONV_CHUNK_BYTES
    /// overrides it, for tuning on another machine.
    nonisolated(unsafe) static var chunkBytes = Int(ProcessInfo.processInfo.environment["S2DC_CONV_CHUNK_BYTES"] ?? "") ?? (1 << 20)
    /// Fewest and most GEMM columns a chunk aims for, whatever its size in bytes.
    nonisolated(unsafe) static var columnRange = 256...4096

    /// The GEMM columns a chunk aims for with `k` rows of im2col.
    static func targetColumns(k: Int) -> Int {
        min(max(chunkBytes / (4 * max(k, 1)), columnRange.lowerBound), columnRange.upperBound)
    }

    /// Images per GEMM for planes of `pixels` output pixels and `k` rows of im2col.
    static func imagesPerChunk(pixels: Int, k: Int, batch: Int) -> Int {
        max(1, min(batch, targetColumns(k: k) / max(pixels, 1)))
    }

    /// Output rows per GEMM when one image alone is more than a chunk.
    static func rowsPerBand(width: Int, height: Int, k: Int) -> Int {
        max(1, min(height, targetColumns(k: k) / max(width, 1)))
    }
}

/// Regular (and grouped) 2-D convolution: one GEMM per group per chunk of images, writing rows in
/// place when the output is CNHW (or the chunk is one image), else through a scratch matrix.
private func conv2D(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>,
                    batch n: Int, cin: Int, cout: Int, group: Int, k: Int, _ g: WindowGeometry,
                    input: PlaneLayout, output: PlaneLayout, cnhwOutput: Bool,
                    bias: UnsafePointer<Float>?, activation: FusedActivation?) {
    let cg = cin / group, coutg = cout / group
    let pixels = g.outPixels
    // Bias and activation run on each GEMM's rows right after it, while they are in cache.
    func epilogue(_ c: UnsafeMutablePointer<Float>, ldc: Int, firstChannel: Int, columns: Int) {
        guard bias != nil || activation != .none else { return }
        for m in 0..<coutg {
            let row = UnsafeMutableBufferPointer(start: c + m * ldc, count: columns)
            if let b = bias?[firstChannel + m], b != 0 { for j in 0..<columns { row[j] += b } }
            activation.apply(row)
        }
    }
    let pointwise = g.kernelH == 1 && g.kernelW == 1 && g.strideH == 1 && g.strideW == 1 && g.padTop == 0
        && g.padLeft == 0 && g.outHeight == g.height && g.outWidth == g.width
    // The batch is split between the threads (each GEMM then on one core), when it has an image
    // for each; the images of a part are independent of the others'.
    Parallel.forEach(n) { _, images in
    let chunk = ConvTuning.imagesPerChunk(pixels: pixels, k: k, batch: images.count)
    // A 1×1 convolution reads its input as the GEMM's B directly when a chunk's columns are one
    // strided matrix: a single image, or consecutive images of a CNHW input.
    let inputIsMatrix = pointwise && (chunk == 1 || input.imageStride == g.inPixels)
    let columns = chunk * pixels
    let col = UnsafeMutablePointer<Float>.allocate(capacity: inputIsMatrix ? 0 : k * columns)
    let scatter = chunk > 1 && !cnhwOutput
    let tmp = UnsafeMutablePointer<Float>.allocate(capacity: scatter ? coutg * columns : 0)
    defer { col.deallocate(); tmp.deallocate() }

    // One image at a time may still be too much for the cache: then bands of output rows.
    let bandRows = chunk == 1 ? ConvTuning.rowsPerBand(width: g.outWidth, height: g.outHeight, k: k) : g.outHeight
    var first = images.lowerBound
    while first < images.upperBound {
        let count = min(chunk, images.upperBound - first)
        var bandStart = 0
        while bandStart < g.outHeight {
            let band = bandStart..<min(g.outHeight, bandStart + bandRows)
            bandStart = band.upperBound
            let bandOffset = band.lowerBound * g.outWidth
            let columns = count * band.count * g.outWidth   // band is all rows when count > 1
            for gi in 0..<group {
                let wg = w + gi * coutg * k
                let b: UnsafePointer<Float>
                let ldb: Int
                if inputIsMatrix {
                    b = x + input.offset(image: first, channel: gi * cg) + bandOffset
                    // Rows are channels, channelStride apart. With one input channel (k = 1) a
                    // chunk of NCHW images is one row longer than channelStride; BLAS still wants
                    // ldb >= n though it reads no second row.
                    ldb = k == 1 ? max(input.channelStride, columns) : input.channelStride
                } else {
                    for i in 0..<count {
                        im2col2D(x + input.offset(image: first + i, channel: gi * cg), channels: cg,
                                 channelStride: input.channelStride, g, into: col, rowStride: columns,
                                 columnOffset: i * pixels, band: band)
                    }
                    b = UnsafePointer(col)
                    ldb = columns
                }
                if !scatter {
                    // Row m of this GEMM is channel gi·coutg + m of images first..<first+count (or of
                    // one image's band): contiguous in CNHW, and for one image in NCHW; rows are
                    // channelStride apart.
                    let c = y + output.offset(image: first, channel: gi * coutg) + bandOffset
                    sgemm(m: coutg, n: columns, k: k, a: wg, lda: k, b: b, ldb: ldb, c: c, ldc: output.channelStride)
                    epilogue(c, ldc: output.channelStride, firstChannel: gi * coutg, columns: columns)
                } else {
                    sgemm(m: coutg, n: columns, k: k, a: wg, lda: k, b: b, ldb: ldb, c: tmp, ldc: columns)
                    epilogue(tmp, ldc: columns, firstChannel: gi * coutg, columns: columns)
                    for i in 0..<count {
                        for m in 0..<coutg {
                            (y + output.offset(image: first + i, channel: gi * coutg + m))
                                .update(from: tmp + m * columns + i * pixels, count: pixels)
                        }
                    }
                }
            }
        }
        first += count
    }
    }
}

/// Convolution over 3 or more spatial dimensions: N-d im2col, one GEMM per image and group (NCHW).
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
