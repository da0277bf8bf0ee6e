// DepthwiseConv: the direct kernel for convolutions where each group reads one input channel.
import CKernels
import IR

/// Depthwise 2-D convolution (group = Cin, Cout = Cin·multiplier): output channel o reads input
/// channel o / multiplier, adds `bias[o]` and applies the activation.
///
/// For the interpreter's batched (CNHW) convolutions (`batched`), where the CPU has AVX-512F and
/// the shape allows (stride 1 with same-size planes, or stride 2), `Sources/CKernels/depthwise.c`
/// runs it: sixteen output pixels per vector, the padding read as masked-off lanes, so there is no
/// scratch copy of the input planes. Otherwise each input plane is copied once into a zero-bordered scratch plane, so the taps need no bounds
/// checks; output rows are then computed eight columns at a time with SIMD vectors (stride 2 loads
/// sixteen and keeps the even lanes). Planes are found through strides so that the kernel reads and
/// writes both NCHW and CNHW data. Dilated kernels and strides above 2 take a scalar path.
func depthwiseConv2D(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ bias: UnsafePointer<Float>?,
                     _ y: UnsafeMutablePointer<Float>, batch n: Int, channels: Int, multiplier: Int,
                     _ g: WindowGeometry, input: PlaneLayout, output: PlaneLayout, activation: FusedActivation?,
                     batched: Bool = false) {
    if batched, depthwiseAVX512(x, w, bias, y, batch: n, channels: channels, multiplier: multiplier, g, input: input,
                       output: output, activation: activation) {
        return
    }
    let vectorized = g.dilationH == 1 && g.dilationW == 1 && g.strideH <= 2 && g.strideW <= 2
    let chunks = (g.outWidth + 7) / 8
    // Scratch plane: rows cover every input row a kernel tap reads; columns cover every vector load.
    let padW = vectorized ? max(g.strideW * 8 * chunks + g.kernelW + 8, g.padLeft + g.width) : 0
    let padH = vectorized ? max((g.outHeight - 1) * g.strideH + g.kernelH, g.padTop + g.height) : 0
    let taps = g.kernelH * g.kernelW
    // Output planes are independent: the (image, channel) pairs are split between the threads.
    Parallel.forEach(n * channels, grain: 8) { _, planes in
    let padded = UnsafeMutablePointer<Float>.allocate(capacity: padH * padW)
    padded.initialize(repeating: 0, count: padH * padW)
    defer { padded.deallocate() }
    for plane in planes {
        let i = plane / channels, ic = plane % channels
        do {
            let src = x + input.offset(image: i, channel: ic)
            if vectorized {
                // Element loops, not memcpy calls: rows are only 7–56 floats long.
                for iy in 0..<g.height {
                    let d = padded + (g.padTop + iy) * padW + g.padLeft, s = src + iy * g.width
                    for ix in 0..<g.width { d[ix] = s[ix] }
                }
            }
            for m in 0..<multiplier {
                let oc = ic * multiplier + m
                let dst = y + output.offset(image: i, channel: oc)
                let b = bias?[oc] ?? 0
                if vectorized {
                    depthwisePlane(padded, padW: padW, weights: w + oc * taps, bias: b, dst, g, chunks: chunks,
                                   activation: activation)
                } else {
                    depthwisePlaneScalar(src, weights: w + oc * taps, bias: b, dst, g)
                    activation.apply(UnsafeMutableBufferPointer(start: dst, count: g.outPixels))
                }
            }
        }
    }
    }
}

/// One output plane from a zero-bordered input plane, eight output columns per vector.
private func depthwisePlane(_ p: UnsafePointer<Float>, padW: Int, weights: UnsafePointer<Float>, bias: Float,
                            _ dst: UnsafeMutablePointer<Float>, _ g: WindowGeometry, chunks: Int,
                            activation: FusedActivation?) {
    let wo = g.outWidth
    let fused: (lo: Float, hi: Float)?
    switch activation {
    case .none: fused = (-.infinity, .infinity)
    case .relu: fused = (0, .infinity)
    case .clip(let lo, let hi): fused = lo <= hi ? (lo, hi) : nil
    default: fused = nil
    }
    let kw = g.kernelW
    if g.kernelH == 3 && kw == 3 {
        // The common 3×3 case with its nine weights held in registers.
        let w0 = SIMD8(repeating: weights[0]), w1 = SIMD8(repeating: weights[1]), w2 = SIMD8(repeating: weights[2])
        let w3 = SIMD8(repeating: weights[3]), w4 = SIMD8(repeating: weights[4]), w5 = SIMD8(repeating: weights[5])
        let w6 = SIMD8(repeating: weights[6]), w7 = SIMD8(repeating: weights[7]), w8 = SIMD8(repeating: weights[8])
        for oy in 0..<g.outHeight {
            let r0 = p + oy * g.strideH * padW, r1 = r0 + padW, r2 = r1 + padW
            for c in 0..<chunks {
                var acc = SIMD8<Float>(repeating: bias)
                if g.strideW == 1 {
                    let o = c * 8
                    acc += w0 * load8(r0 + o) + w1 * load8(r0 + o + 1) + w2 * load8(r0 + o + 2)
                    acc += w3 * load8(r1 + o) + w4 * load8(r1 + o + 1) + w5 * load8(r1 + o + 2)
                    acc += w6 * load8(r2 + o) + w7 * load8(r2 + o + 1) + w8 * load8(r2 + o + 2)
                } else {
                    let o = c * 16
                    acc += w0 * load8even(r0 + o) + w1 * load8even(r0 + o + 1) + w2 * load8even(r0 + o + 2)
                    acc += w3 * load8even(r1 + o) + w4 * load8even(r1 + o + 1) + w5 * load8even(r1 + o + 2)
                    acc += w6 * load8even(r2 + o) + w7 * load8even(r2 + o + 1) + w8 * load8even(r2 + o + 2)
                }
                store(acc, fused, dst + oy * wo, chunk: c, width: wo, room: (g.outHeight - oy) * wo)
            }
        }
    } else {
        for oy in 0..<g.outHeight {
            let top = p + oy * g.strideH * padW
            for c in 0..<chunks {
                var acc = SIMD8<Float>(repeating: bias)
                for ky in 0..<g.kernelH {
                    let r = top + ky * padW
                    for kx in 0..<kw {
                        let v = g.strideW == 1 ? load8(r + c * 8 + kx) : load8even(r + c * 16 + kx)
                        acc += weights[ky * kw + kx] * v
                    }
                }
                store(acc, fused, dst + oy * wo, chunk: c, width: wo, room: (g.outHeight - oy) * wo)
            }
        }
    }
    if fused == nil { activation.apply(UnsafeMutableBufferPointer(start: dst, count: g.outPixels)) }
}

/// Elements 0, 2, …, 14 from `p` (the taps of eight stride-2 outputs).
@inline(__always)
private func load8even(_ p: UnsafePointer<Float>) -> SIMD8<Float> {
    UnsafeRawPointer(p).loadUnaligned(as: SIMD16<Float>.self).evenHalf
}

/// Clamps eight outputs to the fused activation's bounds (nil: none fused) and stores the ones
/// inside the row. Comparisons are false for NaN, so NaN passes as in the scalar activation.
///
/// A chunk that runs past the end of a row is still stored whole when the plane has `room` for
/// it (the floats from this row's start to the plane's end): the extra lanes land in the next
/// rows, which are computed (and overwritten) after this one. That keeps narrow planes (7 wide)
/// to one vector store per row.
@inline(__always)
private func store(_ value: SIMD8<Float>, _ bounds: (lo: Float, hi: Float)?, _ row: UnsafeMutablePointer<Float>,
                   chunk c: Int, width: Int, room: Int) {
    var acc = value
    if let (lo, hi) = bounds {
        acc.replace(with: SIMD8(repeating: hi), where: acc .> hi)
        acc.replace(with: SIMD8(repeating: lo), where: acc .< lo)
    }
    let start = c * 8
    if start + 8 <= width || start + 8 <= room {
        UnsafeMutableRawPointer(row + start).storeBytes(of: acc, as: SIMD8<Float>.self)
    } else {
        for j in 0..<(width - start) { row[start + j] = acc[j] }
    }
}

/// One output plane with bounds computed per tap (dilations, strides above 2).
private func depthwisePlaneScalar(_ src: UnsafePointer<Float>, weights: UnsafePointer<Float>, bias: Float,
                                  _ dst: UnsafeMutablePointer<Float>, _ g: WindowGeometry) {
    let wo = g.outWidth, sw = g.strideW
    dst.update(repeating: bias, count: g.outPixels)
    for ky in 0..<g.kernelH {
        let rows = g.validRows(ky: ky)
        for kx in 0..<g.kernelW {
            let cols = g.validColumns(kx: kx)
            let wv = weights[ky * g.kernelW + kx]
            if cols.isEmpty { continue }
            for oy in rows {
                let iy = oy * g.strideH - g.padTop + ky * g.dilationH
                let s = src + iy * g.width + kx * g.dilationW - g.padLeft
                let d = dst + oy * wo
                for ox in cols { d[ox] += wv * s[ox * sw] }
            }
        }
    }
}

/// The AVX-512 depthwise kernel (`s2dc_depthwise_run`), when the CPU and the shape allow; false
/// otherwise. Planes are split between the threads as in the Swift kernel; every output is summed
/// in tap order, so the split does not change the result.
private func depthwiseAVX512(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ bias: UnsafePointer<Float>?,
                             _ y: UnsafeMutablePointer<Float>, batch n: Int, channels: Int, multiplier: Int,
                             _ g: WindowGeometry, input: PlaneLayout, output: PlaneLayout,
                             activation: FusedActivation?) -> Bool {
    guard SameConv.available, SameConv.enabled else { return false }
    // Relu and Clip are a clamp in the kernel; any other activation runs after it.
    let (lo, hi) = SameConv.bounds(activation) ?? (-.infinity, .infinity)
    let after = SameConv.bounds(activation) == nil ? activation : nil
    var shape = s2dc_depthwise(
        batch: n, channels: channels, multiplier: multiplier, in_image_stride: input.imageStride,
        in_channel_stride: input.channelStride, out_image_stride: output.imageStride,
        out_channel_stride: output.channelStride, height: g.height, width: g.width, out_height: g.outHeight,
        out_width: g.outWidth, kernel_h: g.kernelH, kernel_w: g.kernelW, stride_h: g.strideH, stride_w: g.strideW,
        pad_top: g.padTop, pad_left: g.padLeft, dilation_h: g.dilationH, dilation_w: g.dilationW, lo: lo, hi: hi)
    guard s2dc_depthwise_supported(&shape) != 0 else { return false }
    withUnsafePointer(to: &shape) { shape in
        Parallel.forEach(n * channels, grain: 8) { _, planes in
            s2dc_depthwise_run(x, w, bias, y, shape, planes.lowerBound, planes.upperBound)
            if let after {
                for plane in planes {
                    // The kernel's plane numbering: memory order (channel-major for CNHW input).
                    let channelMajor = input.channelStride > input.imageStride
                    let (i, ic) = channelMajor ? (plane % n, plane / n) : (plane / channels, plane % channels)
                    for m in 0..<multiplier {
                        Kernels.apply(after.op, UnsafeMutableBufferPointer(
                            start: y + output.offset(image: i, channel: ic * multiplier + m), count: g.outPixels))
                    }
                }
            }
        }
    }
    return true
}
