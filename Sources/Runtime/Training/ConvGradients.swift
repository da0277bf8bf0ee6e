// ConvGradients: convolution backward: weights by sgemm against im2col, input by sgemm then col2im (or a flipped conv).
import IR

/// Accumulates an im2col matrix back into input planes: the adjoint of `im2col2D`. Each column
/// entry is added to the input pixel it was copied from; padding entries are dropped.
func col2im2D(_ col: UnsafePointer<Float>, channels: Int, _ g: WindowGeometry, rowStride: Int, columnOffset: Int,
              into dst: UnsafeMutablePointer<Float>) {
    let wo = g.outWidth
    var row = 0
    for c in 0..<channels {
        let plane = dst + c * g.inPixels
        for ky in 0..<g.kernelH {
            let rows = g.validRows(ky: ky)
            for kx in 0..<g.kernelW {
                let cols = g.validColumns(kx: kx)
                let src = col + row * rowStride + columnOffset
                row += 1
                guard !cols.isEmpty else { continue }
                let base = kx * g.dilationW - g.padLeft
                for oy in rows {
                    let iy = oy * g.strideH - g.padTop + ky * g.dilationH
                    let d = plane + iy * g.width + base
                    let r = src + oy * wo
                    if g.strideW == 1 {
                        for ox in cols { d[ox] += r[ox] }
                    } else {
                        let sw = g.strideW
                        for ox in cols { d[ox * sw] += r[ox] }
                    }
                }
            }
        }
    }
}

/// The gradients of a convolution (1-D or 2-D, any groups, strides, pads and dilations).
enum ConvGradients {
    /// Images whose output planes are smaller than this are batched into one GEMM (as forward).
    static let minimumGEMMColumns = 1024

    static func backward(x: Tensor, weight: Tensor, dy: Tensor, attributes a: ConvAttributes,
                         needInput: Bool, needWeight: Bool, needBias: Bool) -> (dx: Tensor?, dw: Tensor?, db: Tensor?) {
        let n = x.shape[0], cin = x.shape[1], cout = dy.shape[1]
        let group = a.group, cg = cin / group, coutg = cout / group
        guard let g = WindowGeometry(input: x.shape, output: dy.shape, kernel: a.kernel, strides: a.strides,
                                     pads: a.pads, dilations: a.dilations) else { return (nil, nil, nil) }
        let pixels = g.outPixels
        let k = cg * g.kernelH * g.kernelW
        var db: Tensor? = nil
        if needBias {
            var b = [Float](repeating: 0, count: cout)
            dy.scalars.withUnsafeBufferPointer { d in
                for i in 0..<n { for c in 0..<cout {
                    var s: Float = 0
                    let row = (i * cout + c) * pixels
                    for p in 0..<pixels { s += d[row + p] }
                    b[c] += s
                } }
            }
            db = Tensor(shape: [cout], scalars: b)
        }
        guard needInput || needWeight, n > 0, pixels > 0, k > 0, coutg > 0 else {
            return (needInput ? Tensor(shape: x.shape, repeating: 0) : nil,
                    needWeight ? Tensor(shape: weight.shape, repeating: 0) : nil, db)
        }
        if group == cin && group == cout && a.dilations.allSatisfy({ $0 == 1 }) {
            let r = g.strideH == g.strideW && g.strideW <= 2
                ? depthwiseBackwardFlat(x: x, weight: weight, dy: dy, g, needInput: needInput, needWeight: needWeight)
                : depthwiseBackward(x: x, weight: weight, dy: dy, g, needInput: needInput, needWeight: needWeight)
            return (r.dx.map { Tensor(shape: x.shape, scalars: $0) }, r.dw.map { Tensor(shape: weight.shape, scalars: $0) }, db)
        }
        if g.kernelH * g.kernelW == 1, g.strideH == 1, g.strideW == 1, g.padTop == 0, g.padLeft == 0,
           g.outHeight == g.height, g.outWidth == g.width, pixels >= minimumPointwisePixels {
            let r = pointwiseBackward(x: x, weight: weight, dy: dy, group: group, pixels: pixels,
                                      needInput: needInput, needWeight: needWeight)
            return (r.dx.map { Tensor(shape: x.shape, scalars: $0) }, r.dw.map { Tensor(shape: weight.shape, scalars: $0) }, db)
        }
        var dxByConv: Tensor? = nil
        if needInput, let t = inputGradientByConv(dy: dy, weight: weight, attributes: a, inputShape: x.shape) {
            dxByConv = t
            if !needWeight { return (t, nil, db) }
        }
        let needInput = needInput && dxByConv == nil
        // The weight gradient from the planes in place where the AVX-512 kernel applies; the input
        // gradient, if still wanted, then takes the GEMM + col2im below without an im2col.
        let dwByKernel = needWeight ? sameConvWeightGradient(x: x, dy: dy, weightShape: weight.shape, group: group, g) : nil
        let needWeight = needWeight && dwByKernel == nil
        if !needInput && !needWeight { return (dxByConv, dwByKernel, db) }
        // The batch is split between the threads: each part's images give their own input
        // gradients and a partial weight gradient; the partials are summed in part order after.
        var dw = [Float](repeating: 0, count: needWeight ? weight.count : 0)
        var dx = [Float](repeating: 0, count: needInput ? x.count : 0)
        x.scalars.withUnsafeBufferPointer { xb in
        weight.scalars.withUnsafeBufferPointer { wb in
        dy.scalars.withUnsafeBufferPointer { db in
        dw.withUnsafeMutableBufferPointer { dwb in
        dx.withUnsafeMutableBufferPointer { dxb in
            guard let xp = xb.baseAddress, let wp = wb.baseAddress, let dp = db.baseAddress else { return }
            forEachPart(of: n, weightGradient: needWeight ? dwb.baseAddress : nil, weightCount: weight.count) { images, dwPart in
                var chunk = pixels >= minimumGEMMColumns ? 1 : min(images.count, (minimumGEMMColumns + pixels - 1) / pixels)
                chunk = max(1, min(chunk, (16 << 20) / max(1, k * pixels)))
                let columns = chunk * pixels
                let col = UnsafeMutablePointer<Float>.allocate(capacity: k * columns)
                // One image's gradient rows are already one matrix; several are gathered side by side.
                let dyc = UnsafeMutablePointer<Float>.allocate(capacity: chunk > 1 ? coutg * columns : 0)
                defer { col.deallocate(); dyc.deallocate() }
                var first = images.lowerBound
                while first < images.upperBound {
                    let count = min(chunk, images.upperBound - first)
                    let width = count * pixels
                    for gi in 0..<group {
                        let d: UnsafePointer<Float>
                        if count == 1 {
                            d = dp + (first * cout + gi * coutg) * pixels
                        } else {
                            for i in 0..<count {
                                for m in 0..<coutg {
                                    (dyc + m * width + i * pixels).update(from: dp + ((first + i) * cout + gi * coutg + m) * pixels, count: pixels)
                                }
                            }
                            d = UnsafePointer(dyc)
                        }
                        if needWeight, let dwp = dwPart {
                            for i in 0..<count {
                                im2col2D(xp + ((first + i) * cin + gi * cg) * g.inPixels, channels: cg, channelStride: g.inPixels, g, into: col,
                                         rowStride: width, columnOffset: i * pixels)
                            }
                            // dW[g] += dY[g] · colᵀ
                            sgemm(transB: true, m: coutg, n: k, k: width, a: d, lda: width, b: col, ldb: width,
                                  beta: 1, c: dwp + gi * coutg * k, ldc: k)
                        }
                        if needInput, let dxp = dxb.baseAddress {
                            // dcol = W[g]ᵀ · dY[g], then scattered back onto the input planes.
                            sgemm(transA: true, m: k, n: width, k: coutg, a: wp + gi * coutg * k, lda: k, b: d, ldb: width,
                                  c: col, ldc: width)
                            for i in 0..<count {
                                col2im2D(col, channels: cg, g, rowStride: width, columnOffset: i * pixels,
                                         into: dxp + ((first + i) * cin + gi * cg) * g.inPixels)
                            }
                        }
                    }
                    first += count
                }
            }
        } } } } }
        return (dxByConv ?? (needInput ? Tensor(shape: x.shape, scalars: dx) : nil),
                dwByKernel ?? (needWeight ? Tensor(shape: weight.shape, scalars: dw) : nil), db)
    }

    /// Splits a batch of `count` images between the threads (`Parallel.forEach`); each part's
    /// images accumulate their weight gradient into a buffer of the part's own (part 0 straight
    /// into `weightGradient`, the others into zeroed partials), which are summed into
    /// `weightGradient` in part order afterwards, so the result does not depend on timing.
    /// `weightGradient` nil: no weight gradient is wanted, and `body` gets nil.
    static func forEachPart(of count: Int, weightGradient: UnsafeMutablePointer<Float>?, weightCount weights: Int,
                            _ body: (_ images: Range<Int>, _ weightGradient: UnsafeMutablePointer<Float>?) -> Void) {
        let parts = Parallel.parts(count)
        let spare = weightGradient == nil ? 0 : (parts - 1) * weights
        let partials = UnsafeMutablePointer<Float>.allocate(capacity: spare)
        partials.initialize(repeating: 0, count: spare)
        defer { partials.deallocate() }
        Parallel.forEach(count) { part, images in
            body(images, weightGradient.map { part == 0 ? $0 : partials + (part - 1) * weights })
        }
        guard let dw = weightGradient else { return }
        for part in 1..<max(1, parts) {
            let src = partials + (part - 1) * weights
            for j in 0..<weights { dw[j] += src[j] }
        }
    }

    /// Planes at least this large take `pointwiseBackward` (smaller ones gain more from batching
    /// images into one wider GEMM than they lose to the copies).
    static let minimumPointwisePixels = 196

    /// A 1×1, stride-1, unpadded convolution's gradients straight from the NCHW planes: each image's
    /// planes are already its im2col matrix, so dW += dY·Xᵀ reads them in place and dX = Wᵀ·dY is
    /// written in place, without im2col, col2im or gathering. The batch is split between the
    /// threads as in `backward`: partial weight gradients summed in part order.
    static func pointwiseBackward(x: Tensor, weight: Tensor, dy: Tensor, group: Int, pixels: Int,
                                  needInput: Bool, needWeight: Bool) -> (dx: [Float]?, dw: [Float]?) {
        let n = x.shape[0], cin = x.shape[1], cout = dy.shape[1]
        let cg = cin / group, coutg = cout / group
        var dw = [Float](repeating: 0, count: needWeight ? weight.count : 0)
        var dx = [Float](repeating: 0, count: needInput ? x.count : 0)
        x.scalars.withUnsafeBufferPointer { xb in
        weight.scalars.withUnsafeBufferPointer { wb in
        dy.scalars.withUnsafeBufferPointer { db in
        dw.withUnsafeMutableBufferPointer { dwb in
        dx.withUnsafeMutableBufferPointer { dxb in
            guard let xp = xb.baseAddress, let wp = wb.baseAddress, let dp = db.baseAddress else { return }
            forEachPart(of: n, weightGradient: needWeight ? dwb.baseAddress : nil, weightCount: weight.count) { images, dwPart in
                for i in images {
                    for gi in 0..<group {
                        let d = dp + (i * cout + gi * coutg) * pixels
                        if needWeight, let dwp = dwPart {
                            // dW[g] += dY[g] · Xᵀ
                            sgemm(transB: true, m: coutg, n: cg, k: pixels, a: d, lda: pixels,
                                  b: xp + (i * cin + gi * cg) * pixels, ldb: pixels, beta: 1, c: dwp + gi * coutg * cg, ldc: cg)
                        }
                        if needInput, let dxp = dxb.baseAddress {
                            // dX[g] = W[g]ᵀ · dY[g]
                            sgemm(transA: true, m: cg, n: pixels, k: coutg, a: wp + gi * coutg * cg, lda: cg, b: d, ldb: pixels,
                                  c: dxp + (i * cin + gi * cg) * pixels, ldc: pixels)
                        }
                    }
                }
            }
        } } } } }
        return (needInput ? dx : nil, needWeight ? dw : nil)
    }

    /// The input gradient of a stride-1, undilated, ungrouped 2-D convolution with a kernel larger
    /// than 1×1, as the forward convolution of dy with the weights flipped and transposed (the
    /// full correlation: pads k − 1 − p on each side). It runs through the forward kernel's
    /// im2col, whose stride-1 rows are single copies, instead of a GEMM into an im2col-sized
    /// matrix and a scatter-add of it (col2im). Nil where that does not apply.
    static func inputGradientByConv(dy: Tensor, weight: Tensor, attributes a: ConvAttributes, inputShape: [Int]) -> Tensor? {
        guard inputShape.count == 4, a.group == 1, a.kernel.count == 2, a.pads.count == 4,
              a.strides.allSatisfy({ $0 == 1 }), a.dilations.allSatisfy({ $0 == 1 }),
              a.kernel[0] * a.kernel[1] > 1 else { return nil }
        let kh = a.kernel[0], kw = a.kernel[1]
        let pads = [kh - 1 - a.pads[0], kw - 1 - a.pads[1], kh - 1 - a.pads[2], kw - 1 - a.pads[3]]
        guard pads.allSatisfy({ $0 >= 0 }) else { return nil }
        let cout = weight.shape[0], cin = weight.shape[1]
        guard dy.shape[1] == cout, inputShape[1] == cin else { return nil }
        // flipped[ci][co][ky][kx] = weight[co][ci][kh − 1 − ky][kw − 1 − kx]
        let taps = kh * kw
        let flipped = Tensor.filled(shape: [cin, cout, kh, kw]) { f in
            weight.scalars.withUnsafeBufferPointer { w in
                for co in 0..<cout { for ci in 0..<cin { for t in 0..<taps {
                    f[(ci * cout + co) * taps + t] = w[(co * cin + ci) * taps + (taps - 1 - t)]
                } } }
            }
        }
        return Kernels.conv(dy, weight: flipped, bias: nil, attributes: ConvAttributes(kernel: a.kernel, pads: pads),
                            outputShape: inputShape)
    }

    /// Depthwise convolution backward for equal strides of 1 or 2, as `depthwiseBackward` but on
    /// flat runs: the output gradient plane is copied into rows as wide as the zero-bordered
    /// input plane (zeros past the output width), so output element j of a tap reads input
    /// element stride·j + offset and each tap is one long vector loop rather than many
    /// rows of 7 to 28 floats. The padding columns of the gradient are zero and add nothing.
    /// Input gradients sum the taps in the same order as `depthwiseBackward`; weight gradients
    /// sum over a plane in eight lanes, then across images in Double, channels split between the
    /// threads, so the result does not depend on the thread count.
    static func depthwiseBackwardFlat(x: Tensor, weight: Tensor, dy: Tensor, _ g: WindowGeometry,
                                      needInput: Bool, needWeight: Bool) -> (dx: [Float]?, dw: [Float]?) {
        let n = x.shape[0], c = x.shape[1]
        let taps = g.kernelH * g.kernelW, wo = g.outWidth, ho = g.outHeight
        let stride = g.strideW
        let padW = max((wo - 1) * stride + g.kernelW, g.padLeft + g.width)
        let padH = max((ho - 1) * stride + g.kernelH, g.padTop + g.height)
        let run = ho * padW
        // Flat reads run past the last padded row by up to (stride − 1)·padW + 16 floats: zeros.
        let planeCapacity = (padH + stride) * padW + 16
        var dw = [Float](repeating: 0, count: needWeight ? weight.count : 0)
        var dx = [Float](repeating: 0, count: needInput ? x.count : 0)
        x.scalars.withUnsafeBufferPointer { xb in
        weight.scalars.withUnsafeBufferPointer { wb in
        dy.scalars.withUnsafeBufferPointer { db in
        dw.withUnsafeMutableBufferPointer { dwb in
        dx.withUnsafeMutableBufferPointer { dxb in
            guard let xp = xb.baseAddress, let wp = wb.baseAddress, let dp = db.baseAddress else { return }
            Parallel.forEach(c) { _, channels in
                let padded = UnsafeMutablePointer<Float>.allocate(capacity: planeCapacity)
                let grad = UnsafeMutablePointer<Float>.allocate(capacity: planeCapacity)
                let dyRows = UnsafeMutablePointer<Float>.allocate(capacity: run)
                padded.initialize(repeating: 0, count: planeCapacity)
                grad.initialize(repeating: 0, count: planeCapacity)
                dyRows.initialize(repeating: 0, count: run)
                defer { padded.deallocate(); grad.deallocate(); dyRows.deallocate() }
                var sums = [Double](repeating: 0, count: taps)
                for ch in channels {
                    for t in 0..<taps { sums[t] = 0 }
                    let w = wp + ch * taps
                    for i in 0..<n {
                        let plane = i * c + ch
                        let d = dp + plane * g.outPixels
                        for oy in 0..<ho { (dyRows + oy * padW).update(from: d + oy * wo, count: wo) }
                        if needWeight {
                            let src = xp + plane * g.inPixels
                            for iy in 0..<g.height {
                                (padded + (g.padTop + iy) * padW + g.padLeft).update(from: src + iy * g.width, count: g.width)
                            }
                            for ky in 0..<g.kernelH { for kx in 0..<g.kernelW {
                                let xr = padded + ky * padW + kx
                                var acc = SIMD8<Float>(repeating: 0)
                                var j = 0
                                if stride == 1 {
                                    while j + 8 <= run { acc += load8(dyRows + j) * load8(xr + j); j += 8 }
                                } else {
                                    while j + 8 <= run {
                                        acc += load8(dyRows + j) * UnsafeRawPointer(xr + 2 * j).loadUnaligned(as: SIMD16<Float>.self).evenHalf
                                        j += 8
                                    }
                                }
                                var tail: Float = 0
                                while j < run { tail += dyRows[j] * xr[stride * j]; j += 1 }
                                sums[ky * g.kernelW + kx] += Double(acc.sum() + tail)
                            } }
                        }
                        if needInput, let dxp = dxb.baseAddress {
                            grad.update(repeating: 0, count: planeCapacity)
                            for ky in 0..<g.kernelH { for kx in 0..<g.kernelW {
                                let wv = w[ky * g.kernelW + kx]
                                let gr = grad + ky * padW + kx
                                if stride == 1 {
                                    let wv8 = SIMD8<Float>(repeating: wv)
                                    var j = 0
                                    while j + 8 <= run { store8(load8(gr + j) + wv8 * load8(dyRows + j), gr + j); j += 8 }
                                    while j < run { gr[j] += wv * dyRows[j]; j += 1 }
                                } else {
                                    for j in 0..<run { gr[stride * j] += wv * dyRows[j] }
                                }
                            } }
                            let dst = dxp + plane * g.inPixels
                            for iy in 0..<g.height {
                                (dst + iy * g.width).update(from: grad + (g.padTop + iy) * padW + g.padLeft, count: g.width)
                            }
                        }
                    }
                    if needWeight, let dwp = dwb.baseAddress {
                        for t in 0..<taps { dwp[ch * taps + t] = Float(sums[t]) }
                    }
                }
            }
        } } } } }
        return (needInput ? dx : nil, needWeight ? dw : nil)
    }

    /// Depthwise convolution (group = Cin = Cout, no dilation) by a direct kernel: per channel, the
    /// weight gradient is the correlation of the input planes with the output gradient planes, and
    /// the input gradient the output gradient spread back through the taps. Channels are split
    /// between the threads; each channel's sums run in one fixed order (Float within an image,
    /// Double across images), so the result does not depend on the thread count.
    static func depthwiseBackward(x: Tensor, weight: Tensor, dy: Tensor, _ g: WindowGeometry,
                                  needInput: Bool, needWeight: Bool) -> (dx: [Float]?, dw: [Float]?) {
        let n = x.shape[0], c = x.shape[1]
        let taps = g.kernelH * g.kernelW, wo = g.outWidth, ho = g.outHeight
        let sh = g.strideH, sw = g.strideW
        // A zero-bordered plane holds every input pixel a tap reads, so the loops need no bounds.
        let padW = max((wo - 1) * sw + g.kernelW, g.padLeft + g.width)
        let padH = max((ho - 1) * sh + g.kernelH, g.padTop + g.height)
        var dw = [Float](repeating: 0, count: needWeight ? weight.count : 0)
        var dx = [Float](repeating: 0, count: needInput ? x.count : 0)
        x.scalars.withUnsafeBufferPointer { xb in
        weight.scalars.withUnsafeBufferPointer { wb in
        dy.scalars.withUnsafeBufferPointer { db in
        dw.withUnsafeMutableBufferPointer { dwb in
        dx.withUnsafeMutableBufferPointer { dxb in
            guard let xp = xb.baseAddress, let wp = wb.baseAddress, let dp = db.baseAddress else { return }
            Parallel.forEach(c) { _, channels in
                let padded = UnsafeMutablePointer<Float>.allocate(capacity: padH * padW)
                padded.initialize(repeating: 0, count: padH * padW)
                defer { padded.deallocate() }
                var sums = [Double](repeating: 0, count: taps)
                for ch in channels {
                    for t in 0..<taps { sums[t] = 0 }
                    let w = wp + ch * taps
                    for i in 0..<n {
                        let plane = (i * c + ch)
                        let d = dp + plane * g.outPixels
                        if needWeight, let _ = dwb.baseAddress {
                            let src = xp + plane * g.inPixels
                            for iy in 0..<g.height {
                                let row = padded + (g.padTop + iy) * padW + g.padLeft, s = src + iy * g.width
                                for ix in 0..<g.width { row[ix] = s[ix] }
                            }
                            for ky in 0..<g.kernelH { for kx in 0..<g.kernelW {
                                var acc = SIMD8<Float>(repeating: 0)
                                var tail: Float = 0
                                for oy in 0..<ho {
                                    let dr = d + oy * wo, xr = padded + (oy * sh + ky) * padW + kx
                                    var ox = 0
                                    if sw == 1 {
                                        while ox + 8 <= wo {
                                            acc += UnsafeRawPointer(dr + ox).loadUnaligned(as: SIMD8<Float>.self)
                                                * UnsafeRawPointer(xr + ox).loadUnaligned(as: SIMD8<Float>.self)
                                            ox += 8
                                        }
                                    }
                                    while ox < wo { tail += dr[ox] * xr[ox * sw]; ox += 1 }
                                }
                                sums[ky * g.kernelW + kx] += Double(acc.sum() + tail)
                            } }
                        }
                        if needInput, let dxp = dxb.baseAddress {
                            padded.update(repeating: 0, count: padH * padW)
                            for ky in 0..<g.kernelH { for kx in 0..<g.kernelW {
                                let wv = w[ky * g.kernelW + kx]
                                for oy in 0..<ho {
                                    let dr = d + oy * wo, xr = padded + (oy * sh + ky) * padW + kx
                                    if sw == 1 {
                                        for ox in 0..<wo { xr[ox] += wv * dr[ox] }
                                    } else {
                                        for ox in 0..<wo { xr[ox * sw] += wv * dr[ox] }
                                    }
                                }
                            } }
                            let dst = dxp + plane * g.inPixels
                            for iy in 0..<g.height {
                                let row = padded + (g.padTop + iy) * padW + g.padLeft, o = dst + iy * g.width
                                for ix in 0..<g.width { o[ix] = row[ix] }
                            }
                            if needWeight {
                                // The next image's input copy expects a zero border again.
                                padded.update(repeating: 0, count: padH * padW)
                            }
                        }
                    }
                    if needWeight, let dwp = dwb.baseAddress {
                        for t in 0..<taps { dwp[ch * taps + t] = Float(sums[t]) }
                    }
                }
            }
        } } } } }
        return (needInput ? dx : nil, needWeight ? dw : nil)
    }
}
